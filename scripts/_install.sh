# Sourced by scripts/run, scripts/test and scripts/package: make .venv and install Hearth.
# Idempotent: a stamp holds a hash of pyproject.toml, of this file (which carries the
# llama.cpp build flags) and of the CPU variants chosen here; when it matches, nothing is
# installed.
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
# What each variant needs of the CPU (/proc/cpuinfo's names). ./scripts/run and
# ./scripts/test build only the best variant this computer runs (ggml would load no other
# here); HEARTH_CPU_VARIANTS=all builds every one, as ./scripts/package does for a bundle
# that must run on other computers.
declare -A CPU_VARIANT_NEEDS=(
    [alderlake]="avx_vnni"
    [icelake]="avx512f avx512bw avx512cd avx512dq avx512vl avx512vbmi avx512_vnni"
    [zen4]="avx512f avx512bw avx512cd avx512dq avx512vl avx512vbmi avx512_vnni avx512_bf16"
)
# llama.cpp's Vulkan backend (GGML_VULKAN), a module loaded at run time like the CPU
# variants, from Debian's glslc, libvulkan-dev and spirv-headers. HEARTH_VULKAN=auto (the
# default) builds it where the Vulkan loader lists a GPU (a CPU device such as Mesa's
# lavapipe does not count) or where it is already cached; on (./scripts/run --vulkan)
# always, off never. Built with the baseline's flags: its CPU parts never use -march=native.
VULKAN_ARGS="-DGGML_NATIVE=OFF -DGGML_BACKEND_DL=ON -DGGML_VULKAN=ON"
VULKAN_BUILD_PACKAGES="glslc libvulkan-dev spirv-headers"
# pip caches a built wheel by version, not by flags, so Hearth keeps its own cache keyed
# by both (a wheel from an earlier native build can never come back).
WHEEL_CACHE_ROOT="${HEARTH_WHEEL_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/hearth/wheels}"

# The CPU variants to build beside the baseline: all of them, or the best one whose needs
# this CPU's flags meet (the list runs from the least to the most demanding).
hearth_cpu_variants() {
    local variant name flags need runs best=""
    if [[ "${HEARTH_CPU_VARIANTS:-this-cpu}" == "all" ]]; then
        printf '%s\n' "${CPU_VARIANTS[@]}"
        return
    fi
    flags=" $(grep -m1 '^flags' /proc/cpuinfo 2>/dev/null | cut -d: -f2) "
    for variant in "${CPU_VARIANTS[@]}"; do
        name="${variant%%:*}" runs=1
        for need in ${CPU_VARIANT_NEEDS[$name]}; do
            [[ "$flags" == *" $need "* ]] || runs=0
        done
        [[ $runs -eq 1 ]] && best="$variant"
    done
    [[ -z "$best" ]] || printf '%s\n' "$best"
}

# The cache folder of the Vulkan backend built with this version and these flags.
vulkan_backend_folder() {
    local key
    key="$(printf '%s %s' "$LLAMA_CPP_VERSION" "$VULKAN_ARGS" | sha256sum | cut -c1-16)"
    printf '%s\n' "$WHEEL_CACHE_ROOT/ggml-vulkan-$LLAMA_CPP_VERSION-$key"
}

# Whether this install carries the Vulkan backend: "yes" or "no" (see HEARTH_VULKAN).
hearth_vulkan_wanted() {
    case "${HEARTH_VULKAN:-auto}" in
        on | 1 | yes) echo yes ;;
        off | 0 | no) echo no ;;
        auto)
            if [[ -f "$(vulkan_backend_folder)/libggml-vulkan.so" ]]; then
                echo yes
            elif PYTHONPATH="$REPO_ROOT/app" "$PYTHON_BIN" -m hearth.engine.vulkan --gpu-present \
                2>/dev/null; then
                if hearth_vulkan_tools_missing >/dev/null; then
                    echo "hearth: this computer has a Vulkan GPU; to use it, install" \
                        "$(hearth_vulkan_tools_missing) and run again" >&2
                    echo no
                else
                    echo yes
                fi
            else
                echo no
            fi
            ;;
        *)
            echo "hearth: HEARTH_VULKAN must be auto, on or off (not '$HEARTH_VULKAN')" >&2
            return 1
            ;;
    esac
}

# The Debian packages the Vulkan build needs and this computer lacks (nothing: exit 1).
hearth_vulkan_tools_missing() {
    local missing=()
    command -v glslc >/dev/null || missing+=(glslc)
    [[ -f /usr/include/vulkan/vulkan.h ]] || missing+=(libvulkan-dev)
    compgen -G "/usr/share/cmake/SPIRV-Headers*/SPIRV-HeadersConfig.cmake" >/dev/null \
        || compgen -G "/usr/lib/*/cmake/SPIRV-Headers*/SPIRV-HeadersConfig.cmake" >/dev/null \
        || missing+=(spirv-headers)
    [[ ${#missing[@]} -gt 0 ]] || return 1
    echo "${missing[*]}"
}

hearth_install() {
    local wanted
    HEARTH_VARIANTS_WANTED="$(hearth_cpu_variants)"
    # The stamp covers the CPU variants this computer gets, so another CPU installs again
    # (from the cache where it has them); its second line says whether the Vulkan backend
    # came with it, which only --vulkan (HEARTH_VULKAN=on) asks again.
    wanted="$( (cat "$REPO_ROOT/pyproject.toml" "${BASH_SOURCE[0]}"
        echo "$HEARTH_VARIANTS_WANTED") | sha256sum | cut -d' ' -f1)"
    if [[ -x "$VENV/bin/python" && -f "$STAMP" && "$(head -n 1 "$STAMP")" == "$wanted" ]]; then
        if [[ ! "${HEARTH_VULKAN:-auto}" =~ ^(on|1|yes)$ ]] || grep -qx "vulkan=yes" "$STAMP"; then
            hearth_compile_bytecode
            return 0
        fi
    fi
    HEARTH_VULKAN_WANTED="$(hearth_vulkan_wanted)"
    echo "hearth: installing into $VENV (the first time compiles llama.cpp: about 5 minutes on 2 cores)" >&2
    [[ -x "$VENV/bin/python" ]] || "$PYTHON_BIN" -m venv "$VENV"
    "$VENV/bin/python" -m pip install --quiet --upgrade pip setuptools wheel
    # torch first and pinned: 2.13.0 is the local CPU wheel; anything else pulls CUDA.
    "$VENV/bin/python" -m pip install --quiet "torch==2.13.0"
    hearth_install_llama_cpp
    "$VENV/bin/python" -m pip install --quiet -e "$REPO_ROOT[dev]"
    printf '%s\nvulkan=%s\n' "$wanted" "$HEARTH_VULKAN_WANTED" > "$STAMP"
    hearth_compile_bytecode
}

# llama-cpp-python forces llama.cpp's "common" library on (LLAMA_BUILD_COMMON, FORCE), and
# with it cpp-httplib: ~27,000 lines of C++ (chat templates, JSON, argument parsing, HTTP)
# that only its multimodal library (LLAVA_BUILD, off here) and llama.cpp's own programs
# use; no Python binding calls them. The wheel is built from the sdist with that line off.
LLAMA_CPP_COMMON_ON='set(LLAMA_BUILD_COMMON ON CACHE BOOL "Build llama.cpp common library" FORCE)'
LLAMA_CPP_COMMON_OFF='set(LLAMA_BUILD_COMMON OFF CACHE BOOL "Build llama.cpp common library" FORCE)'

# Print the path of a llama-cpp-python wheel built with the CMake flags "$1", compiling it
# first unless this computer's wheel cache has one for exactly these flags.
llama_cpp_wheel() {
    local cmake_args="$1" key folder
    key="$(printf '%s %s without common' "$LLAMA_CPP_VERSION" "$cmake_args" | sha256sum | cut -c1-16)"
    folder="$WHEEL_CACHE_ROOT/llama-cpp-python-$LLAMA_CPP_VERSION-$key"
    if ! compgen -G "$folder/llama_cpp_python-*.whl" >/dev/null; then
        echo "hearth: compiling llama.cpp $LLAMA_CPP_VERSION ($cmake_args)" >&2
        local building="$folder.building.$$" source tree
        source="$(llama_cpp_source)"
        rm -rf "$building" && mkdir -p "$building"
        tree="$building/llama-cpp-python-$LLAMA_CPP_VERSION"
        cp -r "$source" "$tree"
        sed -i "s/$LLAMA_CPP_COMMON_ON/$LLAMA_CPP_COMMON_OFF/" "$tree/CMakeLists.txt"
        if grep -qF "$LLAMA_CPP_COMMON_ON" "$tree/CMakeLists.txt"; then
            echo "hearth: could not turn llama.cpp's common library off in $tree" >&2
            return 1
        fi
        CMAKE_ARGS="$cmake_args" CMAKE_BUILD_PARALLEL_LEVEL="$(nproc)" \
            "$VENV/bin/python" -m pip wheel --quiet --no-deps --no-cache-dir \
            -w "$building" "$tree" >&2
        rm -rf "$tree"
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
        local cmake_bin
        cmake_bin="$(hearth_cmake)"
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

# Print the path of libggml-vulkan.so, compiling it first unless the cache has it (its
# shaders are compiled by glslc, most of its build time).
vulkan_backend_library() {
    local folder source build missing
    folder="$(vulkan_backend_folder)"
    if [[ ! -f "$folder/libggml-vulkan.so" ]]; then
        if missing="$(hearth_vulkan_tools_missing)"; then
            echo "hearth: llama.cpp's Vulkan backend needs $missing:" \
                "sudo ./scripts/run --install-system-deps (or HEARTH_VULKAN=off)" >&2
            return 1
        fi
        echo "hearth: compiling llama.cpp's Vulkan backend (GPU; its shaders take minutes)" >&2
        source="$(llama_cpp_source)"
        vulkan_source_for_older_headers "$source/vendor/llama.cpp/ggml/src/ggml-vulkan/ggml-vulkan.cpp"
        build="$folder.building.$$"
        rm -rf "$build"
        local cmake_bin
        cmake_bin="$(hearth_cmake)"
        # shellcheck disable=SC2086
        "$cmake_bin" -S "$source/vendor/llama.cpp" -B "$build" -DCMAKE_BUILD_TYPE=Release \
            -DBUILD_SHARED_LIBS=ON -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF \
            -DLLAMA_BUILD_TOOLS=OFF -DLLAMA_BUILD_SERVER=OFF -DLLAMA_CURL=OFF \
            -DGGML_CCACHE=OFF -DCMAKE_BUILD_WITH_INSTALL_RPATH=ON \
            "-DCMAKE_INSTALL_RPATH=\$ORIGIN/.." $VULKAN_ARGS >"$build.log" 2>&1 \
            || { cat "$build.log" >&2; return 1; }
        "$cmake_bin" --build "$build" --target ggml-vulkan -j "$(nproc)" >>"$build.log" 2>&1 \
            || { tail -n 40 "$build.log" >&2; return 1; }
        mkdir -p "$folder.new"
        cp "$build/bin/libggml-vulkan.so" "$folder.new/"
        printf '%s\n' "$VULKAN_ARGS" > "$folder.new/cmake-args.txt"
        rm -rf "$folder" "$build" "$build.log" && mv "$folder.new" "$folder"
    fi
    printf '%s\n' "$folder/libggml-vulkan.so"
}

# llama.cpp asks the Vulkan validation layer for its best-practice checks through
# VK_EXT_layer_settings, which Debian 12's Vulkan headers (1.3.239) predate; it is used only
# in llama.cpp's validation builds (GGML_VULKAN_VALIDATE). Fence that off where the
# headers lack it (in place: with newer headers the fenced code compiles as it was).
vulkan_source_for_older_headers() {
    local file="$1"
    grep -q "Hearth: headers without VK_EXT_layer_settings" "$file" && return 0
    FILE="$file" "$VENV/bin/python" - <<'PYTHON'
import os, pathlib
path = pathlib.Path(os.environ["FILE"])
text = path.read_text()
start = "    VkBool32 enable_best_practice = layer_settings;\n"
create = (
    "    vk::InstanceCreateInfo instance_create_info(vk::InstanceCreateFlags{}, &app_info, "
    "layers, extensions, &layer_setting_info);\n"
)
if text.count(start) == 1 and text.count(create) == 1:
    text = text.replace(
        start, "#if defined(VK_EXT_layer_settings)  // Hearth: headers without VK_EXT_layer_settings\n" + start
    ).replace(
        create,
        create + "#else\n    vk::InstanceCreateInfo instance_create_info("
        "vk::InstanceCreateFlags{}, &app_info, layers, extensions);\n#endif\n",
    )
    path.write_text(text)
PYTHON
}

# Print the cmake to build with: the system's, else one from PyPI in the venv.
hearth_cmake() {
    if command -v cmake >/dev/null; then
        echo cmake
    else
        "$VENV/bin/python" -m pip install --quiet cmake >&2
        echo "$VENV/bin/cmake"
    fi
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
# backend variants (and the Vulkan backend, where wanted) beside its libraries, and leave
# the build record there too (hearth doctor and the tests read it back).
hearth_install_llama_cpp() {
    local wheel lib variant name extra vulkan_library=""
    wheel="$(llama_cpp_wheel "$LLAMA_CPP_CMAKE_ARGS")"
    if [[ "$HEARTH_VULKAN_WANTED" == yes ]]; then
        vulkan_library="$(vulkan_backend_library)"
    fi
    "$VENV/bin/python" -m pip install --quiet --force-reinstall --no-deps "$wheel"
    # llama-cpp-python's own dependencies (numpy, jinja2, diskcache, typing-extensions).
    "$VENV/bin/python" -m pip install --quiet "llama-cpp-python==$LLAMA_CPP_VERSION"
    lib="$("$VENV/bin/python" -c 'import pathlib, llama_cpp; print(pathlib.Path(llama_cpp.__file__).parent / "lib")')"
    # Modules of an earlier install are not the wheel's: pip leaves them behind.
    rm -rf "$lib"/libggml-cpu-*.so "$lib/vulkan"
    # ggml scores every libggml-cpu-*.so in the folder and loads the best that runs here.
    mv "$lib/libggml-cpu.so" "$lib/libggml-cpu-haswell.so"
    while IFS= read -r variant; do
        [[ -n "$variant" ]] || continue
        name="${variant%%:*}" extra="${variant#*:}"
        cp "$(cpu_variant_library "$extra")" "$lib/libggml-cpu-$name.so"
    done <<< "$HEARTH_VARIANTS_WANTED"
    # In a folder of its own: Hearth loads it only when a model may use the GPU
    # (engine/backends.py), so --gpu off never starts a Vulkan driver.
    if [[ -n "$vulkan_library" ]]; then
        mkdir -p "$lib/vulkan" && cp "$vulkan_library" "$lib/vulkan/libggml-vulkan.so"
    fi
    LLAMA_CPP_VERSION="$LLAMA_CPP_VERSION" LLAMA_CPP_CMAKE_ARGS="$LLAMA_CPP_CMAKE_ARGS" \
        WHEEL="$wheel" LIB="$lib" VARIANTS="$HEARTH_VARIANTS_WANTED" \
        VULKAN_ARGS="${vulkan_library:+$VULKAN_ARGS}" "$VENV/bin/python" - <<'PYTHON'
import json, os, pathlib
variants = {"haswell": []}
for line in os.environ["VARIANTS"].splitlines():
    name, _, extra = line.partition(":")
    if name:
        variants[name] = extra.split()
record = {
    "llama_cpp_python": os.environ["LLAMA_CPP_VERSION"],
    "cmake_args": os.environ["LLAMA_CPP_CMAKE_ARGS"].split(),
    "cpu_variants": variants,
    "vulkan_cmake_args": os.environ["VULKAN_ARGS"].split() or None,
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
