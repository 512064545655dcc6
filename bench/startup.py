"""Start-up time: process start to Hearth's main window on screen, against a bare PySide6
script that shows an empty QMainWindow, alternating in the same run."""

from __future__ import annotations

import argparse
import compileall
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.common import machine_description, print_table, write_json

HEARTH_PACKAGE = Path(__file__).resolve().parents[1]

# Both windows report at the same point: the first paint of the main window.
BARE_WINDOW = """
import os, time
from PySide6.QtCore import QEvent, QObject, QTimer
from PySide6.QtWidgets import QApplication, QMainWindow
class FirstPaint(QObject):
    def eventFilter(self, watched, event):
        if event.type() == QEvent.Type.Paint:
            QTimer.singleShot(0, shown)
        return False
def shown():
    print(f"shown {time.time():.6f}", flush=True)
    os._exit(0)
app = QApplication([])
window = QMainWindow()
first_paint = FirstPaint(window)  # parented, so it lives as long as the window
window.installEventFilter(first_paint)
window.show()
app.exec()
"""


def time_to_window(command: list[str], env: dict[str, str]) -> float:
    started = time.time()
    completed = subprocess.run(
        command, capture_output=True, text=True, env=env, timeout=60, check=False
    )
    for line in completed.stdout.splitlines():
        if line.startswith("shown "):
            return float(line.split()[1]) - started
    raise RuntimeError(f"{command[:3]} never showed a window: {completed.stderr[-500:]}")


def run(repeats: int) -> dict[str, Any]:
    env = {
        **os.environ,
        "QT_QPA_PLATFORM": os.environ.get("QT_QPA_PLATFORM", "offscreen"),
        "HEARTH_EXIT_WHEN_SHOWN": "1",
    }
    # Hearth's modules start from compiled bytecode, as in any installed copy (an editable
    # install under PYTHONDONTWRITEBYTECODE would otherwise compile them at every start).
    compileall.compile_dir(HEARTH_PACKAGE, quiet=1)
    with tempfile.TemporaryDirectory(prefix="hearth-startup-") as home:
        env["HEARTH_HOME"] = home
        # One start first, untimed: it assembles the bundled model, as any first start does.
        time_to_window([sys.executable, "-m", "hearth"], env)
        bare: list[float] = []
        hearth: list[float] = []
        for _ in range(repeats):
            bare.append(time_to_window([sys.executable, "-c", BARE_WINDOW], env))
            hearth.append(time_to_window([sys.executable, "-m", "hearth"], env))
    return {
        "bare_seconds": statistics.median(bare),
        "hearth_seconds": statistics.median(hearth),
        "startup_ratio": statistics.median(hearth) / statistics.median(bare),
        "bare_runs": bare,
        "hearth_runs": hearth,
        "machine": machine_description(),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", type=Path)
    # This VM's start times have a long tail (bare 110-190 ms within one run): the median
    # of 21 alternating pairs moves far less between runs than that of 7, in a few seconds.
    parser.add_argument("--repeats", type=int, default=21)
    args = parser.parse_args(argv)
    result = run(args.repeats)
    print_table(
        ["window", "median seconds to shown"],
        [
            ["bare PySide6 QMainWindow", result["bare_seconds"]],
            ["Hearth main window", result["hearth_seconds"]],
        ],
    )
    print(f"startup_ratio {result['startup_ratio']:.3f}")
    write_json(args.out, result)
    return 0
