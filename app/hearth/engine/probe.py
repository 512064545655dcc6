"""Ask llama.cpp itself whether it can run a model file, without risking this process.

The header reader catches files that are not GGUF or are truncated; only llama.cpp knows
which architectures it supports. A vocabulary-only load (no weights, well under a second)
runs in a child process, so a file that crashes llama.cpp cannot take Hearth with it.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

PROBE_TIMEOUT_SECONDS = 120


def probe_model_file(path: Path) -> str | None:
    """None when llama.cpp can load ``path``; otherwise the reason, in one line."""
    # A frozen app has no `python -m`; its entry point runs the probe on this flag.
    if getattr(sys, "frozen", False):
        command = [sys.executable, "--hearth-probe", str(path)]
    else:
        command = [sys.executable, "-m", "hearth.engine.probe", str(path)]
    try:
        completed = subprocess.run(
            command,
            capture_output=True,
            text=True,
            timeout=PROBE_TIMEOUT_SECONDS,
            check=False,
        )
    except subprocess.TimeoutExpired:
        return "llama.cpp took too long to read it"
    if completed.returncode != 0:
        lines = [line for line in completed.stdout.splitlines() if line.startswith("{")]
        if lines:
            reason = json.loads(lines[-1]).get("error")
            if reason:
                return f"llama.cpp cannot load it ({reason})"
        return f"llama.cpp crashed while reading it (exit code {completed.returncode})"
    return None


def probe_main(argv: list[str]) -> int:
    from hearth.engine.host import open_llama
    from hearth.offline import enforce_offline

    enforce_offline()
    try:
        llama = open_llama(Path(argv[0]), vocab_only=True, n_ctx=8)
    except ValueError as error:
        print(json.dumps({"error": str(error)}))
        return 1
    llama.close()
    print(json.dumps({"ok": True}))
    return 0


if __name__ == "__main__":
    sys.exit(probe_main(sys.argv[1:]))
