from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import QThreadPool
from pytestqt.qtbot import QtBot

from hearth.assistant.workspace import Workspace
from hearth.engine.client import TokenStream
from hearth.index.embedder import Embedder
from hearth.ui.main_window import MainWindow

WindowFactory = Callable[[], MainWindow]

# A wait on a real model fails only when nothing at all happened for this long: no token
# from the model, no stage, piece or step reported. A busy machine makes the work slower,
# never silent for minutes.
STALL_SECONDS = 120


class WorkProgress:
    """Everything the work of a test's windows reports as it goes: each token the model
    writes (counted in the engine's stream, summaries' hidden parts included), each answer
    piece and stage, each indexing and summary step."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.reset()

    def reset(self) -> None:
        self.count = 0
        self.last = "nothing yet"

    def report(self, what: str) -> None:
        with self._lock:  # tokens are counted on worker threads
            self.count += 1
            self.last = what

    def watch(self, window: MainWindow) -> None:
        answers, library = window.answers, window.library
        answers.reply_piece.connect(lambda _, piece: self.report(f"piece {piece!r}"))
        answers.reply_stage.connect(lambda _, label: self.report(f"stage {label!r}"))
        answers.status.connect(lambda text: self.report(f"status {text!r}"))
        library.progress.connect(lambda done, total, label: self.report(f"indexing {label}"))
        library.state_changed.connect(lambda path, state, *_: self.report(f"{path}: {state}"))


PROGRESS = WorkProgress()


@pytest.fixture
def make_window(
    qtbot: QtBot,
    gemma_model: Path,
    shared_embedder: Embedder,
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[WindowFactory]:
    """Open main windows on this test's HEARTH_HOME; each is closed and its engine stopped.
    What they do is counted in PROGRESS, for wait_while_progressing."""
    PROGRESS.reset()
    next_piece = TokenStream.__next__

    def counted(stream: TokenStream) -> str:
        piece = next_piece(stream)
        PROGRESS.report("a token")
        return piece

    monkeypatch.setattr(TokenStream, "__next__", counted)
    opened: list[tuple[MainWindow, Workspace]] = []

    def factory() -> MainWindow:
        workspace = Workspace(embedder=shared_embedder)
        window = MainWindow(workspace)
        qtbot.addWidget(window)
        PROGRESS.watch(window)
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


def wait_while_progressing(
    qtbot: QtBot, done: Callable[[], bool], what: str, stall_seconds: float = STALL_SECONDS
) -> None:
    """Wait until ``done()``, for as long as the work keeps reporting progress; fail when
    nothing was reported for ``stall_seconds`` (stuck, not slow)."""
    seen, since = PROGRESS.count, time.monotonic()
    while not done():
        qtbot.wait(50)
        if PROGRESS.count != seen:
            seen, since = PROGRESS.count, time.monotonic()
        elif time.monotonic() - since > stall_seconds:
            pytest.fail(f"{what}: nothing happened for {stall_seconds} s (last: {PROGRESS.last})")


def wait_for_answer(qtbot: QtBot, window: MainWindow) -> None:
    wait_while_progressing(
        qtbot, lambda: not window.answers.busy and window.send_button.isEnabled(), "the answer"
    )


def wait_for_indexing(qtbot: QtBot, window: MainWindow) -> None:
    wait_while_progressing(qtbot, lambda: not window.library.busy, "indexing")
