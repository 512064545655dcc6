"""The first window must not wait for torch, sentence-transformers, chromadb or llama.cpp."""

from __future__ import annotations

import subprocess
import sys

HEAVY = ("torch", "sentence_transformers", "chromadb", "llama_cpp", "transformers")

OPEN_WINDOW_AND_LIST_MODULES = """
import os, sys
os.environ["QT_QPA_PLATFORM"] = "offscreen"
from PySide6.QtWidgets import QApplication
app = QApplication([])
from hearth.assistant.workspace import Workspace
from hearth.ui.main_window import MainWindow
window = MainWindow(Workspace())
window.show()
app.processEvents()
print(",".join(sorted(m.split(".")[0] for m in sys.modules)))
os._exit(0)
"""


def test_heavy_modules_stay_off_the_path_to_the_first_window() -> None:
    result = subprocess.run(
        [sys.executable, "-c", OPEN_WINDOW_AND_LIST_MODULES],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    loaded = set(result.stdout.strip().split(","))
    assert "PySide6" in loaded
    assert loaded.isdisjoint(HEAVY), loaded & set(HEAVY)
