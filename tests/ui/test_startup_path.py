"""The first window must not wait for torch, sentence-transformers, chromadb or llama.cpp."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from hearth.assistant.conversations import ConversationStore

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


def test_the_real_start_paints_before_loading_what_can_wait(hearth_home: Path) -> None:
    """`python -m hearth` as a user starts it, with conversations to list: at the first
    paint, neither the heavy libraries nor the model catalogue, the conversation database
    or QtNetwork (the second-launch listener) are loaded, and PySide has not built the
    `Qt` namespace's enums (about 18 ms; hearth/ui/qt_values.py)."""
    store = ConversationStore()  # in hearth_home, as the window will open it
    for title in ("Lease questions", "Trip plans"):
        conversation = store.create(title)
        store.add_message(conversation.id, "user", f"About {title}?")
    store.close()
    env = {
        **os.environ,
        "QT_QPA_PLATFORM": "offscreen",
        "HEARTH_HOME": str(hearth_home),
        "HEARTH_EXIT_WHEN_SHOWN": "modules",
    }
    result = subprocess.run(
        [sys.executable, "-m", "hearth"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env=env,
    )
    assert result.returncode == 0, result.stderr
    [line] = [line for line in result.stdout.splitlines() if line.startswith("modules ")]
    loaded = set(line.removeprefix("modules ").split(","))
    assert "hearth.ui.main_window" in loaded
    waiting = {
        "PySide6.QtNetwork",
        "hearth.models.catalogue",
        "hearth.assistant.conversations",  # the list fills just after the first paint
        "sqlite3",
        "multiprocessing",
        *HEAVY,
    }
    assert loaded.isdisjoint(waiting), loaded & waiting
    assert "qt-namespace untouched" in result.stdout.splitlines()
