# Sourced by scripts/run and scripts/test: make .venv and install Hearth into it.
# Idempotent: a stamp holds the hash of pyproject.toml; when it matches, nothing is installed.
set -euo pipefail
REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="$REPO_ROOT/.venv"
STAMP="$VENV/.hearth-installed"
PYTHON_BIN="${PYTHON:-python3}"

hearth_install() {
    local wanted
    wanted="$(sha256sum "$REPO_ROOT/pyproject.toml" | cut -d' ' -f1)"
    if [[ -x "$VENV/bin/python" && -f "$STAMP" && "$(cat "$STAMP")" == "$wanted" ]]; then
        hearth_compile_bytecode
        return 0
    fi
    echo "hearth: installing into $VENV (the first time compiles llama.cpp: about 5 minutes)" >&2
    [[ -x "$VENV/bin/python" ]] || "$PYTHON_BIN" -m venv "$VENV"
    "$VENV/bin/python" -m pip install --quiet --upgrade pip setuptools wheel
    # torch first and pinned: 2.13.0 is the local CPU wheel; anything else pulls CUDA.
    "$VENV/bin/python" -m pip install --quiet "torch==2.13.0"
    "$VENV/bin/python" -m pip install --quiet -e "$REPO_ROOT[dev]"
    echo "$wanted" > "$STAMP"
    hearth_compile_bytecode
}

# An editable install leaves Hearth's own modules uncompiled, and with
# PYTHONDONTWRITEBYTECODE set Python would compile them again at every start (about 20 ms
# of the window's start-up). compileall writes what is missing or stale; it is quick.
hearth_compile_bytecode() {
    "$VENV/bin/python" -m compileall -q "$REPO_ROOT/app/hearth" >/dev/null
}
