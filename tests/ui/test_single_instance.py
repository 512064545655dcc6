"""A second launch on the same data folder: raise the open window, or explain in a dialog."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from PySide6.QtWidgets import QMainWindow, QMessageBox
from pytestqt.qtbot import QtBot

from hearth.instance_lock import EXIT_LOCKED, InstanceLock
from hearth.paths import hearth_paths
from hearth.ui.app import refuse_second_launch
from hearth.ui.single_instance import RaiseServer, raise_running_window


# The offscreen platform cannot raise windows and says so; a desktop session can.
@pytest.mark.qt_log_ignore("This plugin does not support raise")
def test_a_second_launch_raises_the_open_window(qtbot: QtBot, tmp_path: Path) -> None:
    window = QMainWindow()
    qtbot.addWidget(window)
    window.showMinimized()
    qtbot.waitUntil(window.isMinimized, timeout=5000)
    RaiseServer(window, tmp_path)
    # The second launch is another process, as in life: it blocks while it waits for the
    # answer, which this process's event loop gives.
    asker = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys; from pathlib import Path; from PySide6.QtCore import QCoreApplication;"
            " from hearth.ui.single_instance import raise_running_window;"
            " app = QCoreApplication([]);"
            " sys.exit(0 if raise_running_window(Path(sys.argv[1])) else 1)",
            str(tmp_path),
        ]
    )
    qtbot.waitUntil(lambda: asker.poll() is not None, timeout=30_000)
    assert asker.returncode == 0
    assert not window.isMinimized()
    assert raise_running_window(tmp_path / "elsewhere") is False  # nobody listens there


def test_a_folder_held_by_a_command_is_explained_in_a_dialog(
    qtbot: QtBot, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = hearth_paths().data
    shown: list[str] = []
    monkeypatch.setattr(QMessageBox, "warning", lambda parent, title, text: shown.append(text))
    with InstanceLock(data).acquire("hearth index") as held:
        from hearth.instance_lock import InstanceLocked

        with pytest.raises(InstanceLocked) as refused:
            InstanceLock(data).acquire("the desktop app")
        assert refuse_second_launch(data, refused.value) == EXIT_LOCKED
        assert held is not None
    assert len(shown) == 1
    assert "hearth index" in shown[0]
