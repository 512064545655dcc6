# Sourced by scripts/run, scripts/test and scripts/package: make .venv and install Hearth.
# Idempotent: a stamp holds a hash of pyproject.toml and of this file (which carries the
# llama.cpp build flags); when it matches, nothing is installed.
set -euo pipefail
REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="$REPO_ROOT/.venv"
STAMP="$VENV/.hearth-installed"
PYTHON_BIN="${PYTHON:-python3}"

LLAMA_CPP_VERSION="0.3.36"
# llama.cpp is compiled for portable x86-64 baselines, never for the build machine's own
# CPU: GGML_NATIVE (the default) means -march=native, which breaks the packaged app on
# other computers and, on Xeons with AMX, selects an AMX path that crashes in llama_decode
# (ggml-org/llama.cpp#20824). As in llama.cpp's own releases, the CPU backend is a module
# loaded at run time (GGML_BACKEND_DL), built in a few variants; ggml scores each against
# the CPU it runs on and loads the best one. The baseline (AVX2 + FMA + F16C + BMI2) runs on
# every x86-64 laptop CPU of the last decade; the AVX-512 variant read prompts 1.4x as fast
# on this project's EPYC machines (docs/BENCHMARKS.md). No variant uses AMX.
# The multimodal library (LLAVA_BUILD) is unused.
CPU_BASELINE_ARGS="-DGGML_NATIVE=OFF -DGGML_SSE42=ON -DGGML_AVX=ON -DGGML_AVX2=ON \
-DGGML_FMA=ON -DGGML_F16C=ON -DGGML_BMI2=ON -DGGML_AVX_VNNI=OFF -DGGML_AVX512=OFF \
-DGGML_AVX512_VBMI=OFF -DGGML_AVX512_VNNI=OFF -DGGML_AVX512_BF16=OFF -DGGML_AMX_TILE=OFF \
-DGGML_AMX_INT8=OFF -DGGML_AMX_BF16=OFF"
LLAMA_CPP_CMAKE_ARGS="$CPU_BASELINE_ARGS -DGGML_BACKEND_DL=ON -DGGML_CPU_ALL_VARIANTS=OFF \
-DLLAVA_BUILD=OFF"
# name: CMake flags beyond the baseline. "haswell" is the baseline itself, from the wheel.
CPU_VARIANTS=(
    "alderlake:-DGGML_AVX_VNNI=ON"
    "icelake:-DGGML_AVX512=ON -DGGML_AVX512_VBMI=ON -DGGML_AVX512_VNNI=ON"
    "zen4:-DGGML_AVX512=ON -DGGML_AVX512_VBMI=ON -DGGML_AVX512_VNNI=ON -DGGML_AVX512_BF16=ON"
)
# pip caches a built wheel by version, not by flags, so Hearth keeps its own cache keyed
# by both (a wheel from an earlier native build can never come back).
WHEEL_CACHE_ROOT="${HEARTH_WHEEL_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/hearth/wheels}"

hearth_install() {
    local wanted
    wanted="$(cat "$REPO_ROOT/pyproject.toml" "${BASH_SOURCE[0]}" | sha256sum | cut -d' ' -f1)"
    if [[ -x "$VENV/bin/python" && -f "$STAMP" && "$(cat "$STAMP")" == "$wanted" ]]; then
        hearth_compile_bytecode
        return 0
    fi
    echo "hearth: installing into $VENV (the first time compiles llama.cpp: about 5 minutes)" >&2
    [[ -x "$VENV/bin/python" ]] || "$PYTHON_BIN" -m venv "$VENV"
    "$VENV/bin/python" -m pip install --quiet --upgrade pip setuptools wheel
    # torch first and pinned: 2.13.0 is the local CPU wheel; anything else pulls CUDA.
    "$VENV/bin/python" -m pip install --quiet "torch==2.13.0"
    hearth_install_llama_cpp
    "$VENV/bin/python" -m pip install --quiet -e "$REPO_ROOT[dev]"
    echo "$wanted" > "$STAMP"
    hearth_compile_bytecode
}

# Print the path of a llama-cpp-python wheel built with the CMake flags "$1", compiling it
# first unless this computer's wheel cache has one for exactly these flags.
llama_cpp_wheel() {
    local cmake_args="$1" key folder
    key="$(printf '%s %s' "$LLAMA_CPP_VERSION" "$cmake_args" | sha256sum | cut -c1-16)"
    folder="$WHEEL_CACHE_ROOT/llama-cpp-python-$LLAMA_CPP_VERSION-$key"
    if ! compgen -G "$folder/llama_cpp_python-*.whl" >/dev/null; then
        echo "hearth: compiling llama.cpp $LLAMA_CPP_VERSION ($cmake_args)" >&2
        local building="$folder.building.$$"
        rm -rf "$building" && mkdir -p "$building"
        CMAKE_ARGS="$cmake_args" CMAKE_BUILD_PARALLEL_LEVEL="$(nproc)" \
            "$VENV/bin/python" -m pip wheel --quiet --no-deps --no-cache-dir \
            --no-binary llama-cpp-python -w "$building" "llama-cpp-python==$LLAMA_CPP_VERSION" >&2
        printf '%s\n' "$cmake_args" > "$building/cmake-args.txt"
        rm -rf "$folder" && mv "$building" "$folder"
    fi
    compgen -G "$folder/llama_cpp_python-*.whl" | head -n 1
}

# Print the path of libggml-cpu.so built with the baseline and the flags "$1" (a CPU backend
# variant), compiling it first unless the cache has it; ~35 s, only ggml is built.
cpu_variant_library() {
    local extra="$1" args key folder source build
    args="$CPU_BASELINE_ARGS -DGGML_BACKEND_DL=ON $extra"
    key="$(printf '%s %s' "$LLAMA_CPP_VERSION" "$args" | sha256sum | cut -c1-16)"
    folder="$WHEEL_CACHE_ROOT/ggml-cpu-$LLAMA_CPP_VERSION-$key"
    if [[ ! -f "$folder/libggml-cpu.so" ]]; then
        echo "hearth: compiling llama.cpp's CPU backend with $extra" >&2
        source="$(llama_cpp_source)"
        build="$folder.building.$$"
        rm -rf "$build"
        local cmake_bin="cmake"
        if ! command -v cmake >/dev/null; then
            "$VENV/bin/python" -m pip install --quiet cmake >&2
            cmake_bin="$VENV/bin/cmake"
        fi
        # Options beyond the baseline (over-)write the baseline's, later ones winning.
        # shellcheck disable=SC2086
        "$cmake_bin" -S "$source/vendor/llama.cpp" -B "$build" -DCMAKE_BUILD_TYPE=Release \
            -DBUILD_SHARED_LIBS=ON -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF \
            -DLLAMA_BUILD_TOOLS=OFF -DLLAMA_BUILD_SERVER=OFF -DLLAMA_CURL=OFF \
            -DGGML_CCACHE=OFF -DCMAKE_BUILD_WITH_INSTALL_RPATH=ON \
            "-DCMAKE_INSTALL_RPATH=\$ORIGIN" $args >"$build.log" 2>&1 \
            || { cat "$build.log" >&2; return 1; }
        "$cmake_bin" --build "$build" --target ggml-cpu -j "$(nproc)" >>"$build.log" 2>&1 \
            || { tail -n 40 "$build.log" >&2; return 1; }
        mkdir -p "$folder.new"
        cp "$build/bin/libggml-cpu.so" "$folder.new/"
        printf '%s\n' "$args" > "$folder.new/cmake-args.txt"
        rm -rf "$folder" "$build" "$build.log" && mv "$folder.new" "$folder"
    fi
    printf '%s\n' "$folder/libggml-cpu.so"
}

# Print the folder of llama-cpp-python's source (the sdist, unpacked once into the cache).
llama_cpp_source() {
    local folder="$WHEEL_CACHE_ROOT/llama-cpp-python-$LLAMA_CPP_VERSION-source"
    if [[ ! -d "$folder/vendor/llama.cpp" ]]; then
        local download="$folder.download.$$"
        rm -rf "$download" && mkdir -p "$download"
        "$VENV/bin/python" -m pip download --quiet --no-deps --no-binary :all: \
            -d "$download" "llama-cpp-python==$LLAMA_CPP_VERSION" >&2
        tar -xzf "$download"/llama_cpp_python-*.tar.gz -C "$download"
        rm -rf "$folder" && mv "$download/llama_cpp_python-$LLAMA_CPP_VERSION" "$folder"
        rm -rf "$download"
    fi
    printf '%s\n' "$folder"
}

# Install the wheel built with the project's flags over whatever the venv held, put the CPU
# backend variants beside its libraries, and leave the build record there too (hearth
# doctor and the tests read it back).
hearth_install_llama_cpp() {
    local wheel lib variant name extra
    wheel="$(llama_cpp_wheel "$LLAMA_CPP_CMAKE_ARGS")"
    "$VENV/bin/python" -m pip install --quiet --force-reinstall --no-deps "$wheel"
    # llama-cpp-python's own dependencies (numpy, jinja2, diskcache, typing-extensions).
    "$VENV/bin/python" -m pip install --quiet "llama-cpp-python==$LLAMA_CPP_VERSION"
    lib="$("$VENV/bin/python" -c 'import pathlib, llama_cpp; print(pathlib.Path(llama_cpp.__file__).parent / "lib")')"
    # ggml scores every libggml-cpu-*.so in the folder and loads the best that runs here.
    mv "$lib/libggml-cpu.so" "$lib/libggml-cpu-haswell.so"
    local names=("haswell")
    for variant in "${CPU_VARIANTS[@]}"; do
        name="${variant%%:*}" extra="${variant#*:}"
        cp "$(cpu_variant_library "$extra")" "$lib/libggml-cpu-$name.so"
        names+=("$name")
    done
    LLAMA_CPP_VERSION="$LLAMA_CPP_VERSION" LLAMA_CPP_CMAKE_ARGS="$LLAMA_CPP_CMAKE_ARGS" \
        WHEEL="$wheel" LIB="$lib" VARIANTS="$(printf '%s\n' "${CPU_VARIANTS[@]}")" \
        "$VENV/bin/python" - <<'PYTHON'
import json, os, pathlib
variants = {"haswell": []}
for line in os.environ["VARIANTS"].splitlines():
    name, _, extra = line.partition(":")
    variants[name] = extra.split()
record = {
    "llama_cpp_python": os.environ["LLAMA_CPP_VERSION"],
    "cmake_args": os.environ["LLAMA_CPP_CMAKE_ARGS"].split(),
    "cpu_variants": variants,
    "wheel": pathlib.Path(os.environ["WHEEL"]).name,
}
(pathlib.Path(os.environ["LIB"]) / "hearth-build.json").write_text(
    json.dumps(record, indent=2) + "\n"
)
PYTHON
}

# An editable install leaves Hearth's own modules uncompiled, and with
# PYTHONDONTWRITEBYTECODE set Python would compile them again at every start (about 20 ms
# of the window's start-up). compileall writes what is missing or stale; it is quick.
hearth_compile_bytecode() {
    "$VENV/bin/python" -m compileall -q "$REPO_ROOT/app/hearth" >/dev/null
}
