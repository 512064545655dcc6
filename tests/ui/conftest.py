from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import QThreadPool
from pytestqt.qtbot import QtBot

from hearth.assistant.workspace import Workspace
from hearth.index.embedder import Embedder
from hearth.ui.main_window import MainWindow

WindowFactory = Callable[[], MainWindow]


@pytest.fixture
def make_window(
    qtbot: QtBot, gemma_model: Path, shared_embedder: Embedder
) -> Iterator[WindowFactory]:
    """Open main windows on this test's HEARTH_HOME; each is closed and its engine stopped."""
    opened: list[tuple[MainWindow, Workspace]] = []

    def factory() -> MainWindow:
        workspace = Workspace(embedder=shared_embedder)
        window = MainWindow(workspace)
        qtbot.addWidget(window)
        window.show()
        qtbot.waitUntil(
            lambda: workspace.active_model is not None and not window.model_busy_action.isVisible(),
            timeout=60_000,
        )
        opened.append((window, workspace))
        return window

    yield factory
    for window, workspace in opened:
        window.close()
        QThreadPool.globalInstance().waitForDone(60_000)
        workspace.close()


def wait_for_answer(qtbot: QtBot, window: MainWindow, timeout: int = 120_000) -> None:
    qtbot.waitUntil(
        lambda: not window.answers.busy and window.send_button.isEnabled(),
        timeout=timeout,
    )


def wait_for_indexing(qtbot: QtBot, window: MainWindow, timeout: int = 120_000) -> None:
    qtbot.waitUntil(lambda: not window.library.busy, timeout=timeout)
