"""The one way the window runs slow work: BackgroundTask.

A task runs a plain function on a worker thread. The function gets a TaskContext to
report progress (done, total, label), stream text pieces and stage labels, and to pass
its CancelToken to the core, which raises hearth.jobs.Cancelled at its next check once
the task is cancelled. The task turns all of it into Qt signals delivered on the GUI
thread. A cancel is reported as ``cancelled``, never as ``failed``; ``failed`` carries the
exception itself, and ``error_message`` says it in one line.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, QRunnable, QThreadPool, Signal

from hearth.errors import HearthError
from hearth.jobs import Cancelled, CancelToken

log = logging.getLogger(__name__)


def error_message(error: BaseException) -> str:
    """One line for the user: a Hearth error says it itself; anything else is unexpected,
    named by its type (the traceback is in the log)."""
    if isinstance(error, HearthError):
        return str(error)
    detail = str(error).splitlines()[0] if str(error) else ""
    return f"something went wrong ({type(error).__name__}{': ' + detail if detail else ''})"


class TaskContext:
    def __init__(self, task: BackgroundTask) -> None:
        self._task = task

    def progress(self, done: int, total: int, label: str = "") -> None:
        self._task.progressed.emit(done, total, label)

    def piece(self, text: str) -> None:
        self._task.piece.emit(text)

    def stage(self, kind: str, label: str) -> None:
        self._task.staged.emit(kind, label)

    @property
    def cancel_token(self) -> CancelToken:
        return self._task.cancel_token


class _Runner(QRunnable):
    def __init__(self, task: BackgroundTask) -> None:
        super().__init__()
        self.task = task
        self.setAutoDelete(True)

    def run(self) -> None:
        task = self.task
        try:
            result = task.function(TaskContext(task))
        except Cancelled:
            task.cancelled.emit()
        except Exception as error:  # shown to the user; details go to the log
            if isinstance(error, HearthError):
                log.warning("%s failed: %s", task.name, error)
            else:
                log.exception("background task %s failed", task.name)
            task.failed.emit(error)
        else:
            if task.cancel_token.cancelled:
                task.cancelled.emit()
            else:
                task.succeeded.emit(result)
        finally:
            task.done.set()
            task.finished.emit()


class BackgroundTask(QObject):
    progressed = Signal(int, int, str)
    piece = Signal(str)
    staged = Signal(str, str)  # kind, label (hearth.assistant.grounded stages)
    succeeded = Signal(object)
    failed = Signal(object)  # the exception
    cancelled = Signal()
    finished = Signal()

    def __init__(
        self,
        name: str,
        function: Callable[[TaskContext], Any],
        on_cancel: Callable[[], None] | None = None,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self.name = name
        self.function = function
        self.cancel_token = CancelToken()
        if on_cancel is not None:
            self.cancel_token.on_cancel(on_cancel)
        self.done = threading.Event()  # set on the worker thread when the function returns
        self._reported = False  # finished delivered on the GUI thread
        self.finished.connect(self._report_finished)

    def start(self, pool: QThreadPool | None = None) -> BackgroundTask:
        (pool or QThreadPool.globalInstance()).start(_Runner(self))
        return self

    def cancel(self) -> None:
        self.cancel_token.cancel()

    def _report_finished(self) -> None:
        self._reported = True

    @property
    def running(self) -> bool:
        """True until ``finished`` has reached the GUI thread: the worker is done a moment
        earlier, and a controller that started new work in that moment would have the old
        task's result land on the new reply."""
        return not self._reported
