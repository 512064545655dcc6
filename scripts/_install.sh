# Sourced by scripts/run, scripts/test and scripts/package: make .venv and install Hearth.
# Idempotent: a stamp holds a hash of pyproject.toml and of this file (which carries the
# llama.cpp build flags); when it matches, nothing is installed.
set -euo pipefail
REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="$REPO_ROOT/.venv"
STAMP="$VENV/.hearth-installed"
PYTHON_BIN="${PYTHON:-python3}"

LLAMA_CPP_VERSION="0.3.36"
# llama.cpp is compiled for a portable x86-64 baseline, never for the build machine's own
# CPU: GGML_NATIVE (the default) means -march=native, which breaks the packaged app on
# other computers and, on Xeons with AMX, selects an AMX path that crashes in llama_decode
# (ggml-org/llama.cpp#20824). AVX2 + FMA + F16C + BMI2 runs on every x86-64 laptop CPU of
# the last decade; AVX-512 is left out because many of them lack it (docs/BENCHMARKS.md
# has the measured speeds of the choices). The multimodal library (LLAVA_BUILD) is unused.
LLAMA_CPP_CMAKE_ARGS="-DGGML_NATIVE=OFF -DGGML_CPU_ALL_VARIANTS=OFF -DGGML_BACKEND_DL=OFF \
-DGGML_SSE42=ON -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON -DGGML_BMI2=ON \
-DGGML_AVX_VNNI=OFF -DGGML_AVX512=OFF -DGGML_AVX512_VBMI=OFF -DGGML_AVX512_VNNI=OFF \
-DGGML_AVX512_BF16=OFF -DGGML_AMX_TILE=OFF -DGGML_AMX_INT8=OFF -DGGML_AMX_BF16=OFF \
-DLLAVA_BUILD=OFF"
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

# Install the wheel built with the project's flags over whatever the venv held, and leave
# the build record beside the library (hearth doctor and the tests read it back).
hearth_install_llama_cpp() {
    local wheel
    wheel="$(llama_cpp_wheel "$LLAMA_CPP_CMAKE_ARGS")"
    "$VENV/bin/python" -m pip install --quiet --force-reinstall --no-deps "$wheel"
    # llama-cpp-python's own dependencies (numpy, jinja2, diskcache, typing-extensions).
    "$VENV/bin/python" -m pip install --quiet "llama-cpp-python==$LLAMA_CPP_VERSION"
    LLAMA_CPP_VERSION="$LLAMA_CPP_VERSION" LLAMA_CPP_CMAKE_ARGS="$LLAMA_CPP_CMAKE_ARGS" \
        WHEEL="$wheel" "$VENV/bin/python" - <<'PYTHON'
import json, os, pathlib, llama_cpp
record = {
    "llama_cpp_python": os.environ["LLAMA_CPP_VERSION"],
    "cmake_args": os.environ["LLAMA_CPP_CMAKE_ARGS"].split(),
    "wheel": pathlib.Path(os.environ["WHEEL"]).name,
}
lib = pathlib.Path(llama_cpp.__file__).parent / "lib"
(lib / "hearth-build.json").write_text(json.dumps(record, indent=2) + "\n")
PYTHON
}

# An editable install leaves Hearth's own modules uncompiled, and with
# PYTHONDONTWRITEBYTECODE set Python would compile them again at every start (about 20 ms
# of the window's start-up). compileall writes what is missing or stale; it is quick.
hearth_compile_bytecode() {
    "$VENV/bin/python" -m compileall -q "$REPO_ROOT/app/hearth" >/dev/null
}
