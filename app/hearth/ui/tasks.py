"""The one way the window runs slow work: BackgroundTask.

A task runs a plain function on a worker thread. The function gets a TaskContext to
report progress (done, total, label), stream text pieces and check for cancellation;
the task turns those into Qt signals delivered on the GUI thread. Cancellation is
cooperative: ``cancel()`` sets a flag (and runs an optional hook, e.g. stopping the
model) and the function raises TaskCancelled, which is reported as ``cancelled``, never
as an error.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, QRunnable, QThreadPool, Signal

log = logging.getLogger(__name__)


class TaskCancelled(Exception):
    """Raised inside a task function when its task was cancelled."""


class TaskContext:
    def __init__(self, task: BackgroundTask) -> None:
        self._task = task

    def progress(self, done: int, total: int, label: str = "") -> None:
        self._task.progressed.emit(done, total, label)

    def piece(self, text: str) -> None:
        self._task.piece.emit(text)

    @property
    def cancelled(self) -> bool:
        return self._task.cancel_requested.is_set()

    def check_cancelled(self) -> None:
        if self.cancelled:
            raise TaskCancelled()


class _Runner(QRunnable):
    def __init__(self, task: BackgroundTask) -> None:
        super().__init__()
        self.task = task
        self.setAutoDelete(True)

    def run(self) -> None:
        task = self.task
        try:
            result = task.function(TaskContext(task))
        except TaskCancelled:
            task.cancelled.emit()
        except Exception as error:  # shown to the user; details go to the log
            log.exception("background task %s failed", task.name)
            task.failed.emit(str(error) or type(error).__name__)
        else:
            if task.cancel_requested.is_set():
                task.cancelled.emit()
            else:
                task.succeeded.emit(result)
        finally:
            task.done.set()
            task.finished.emit()


class BackgroundTask(QObject):
    progressed = Signal(int, int, str)
    piece = Signal(str)
    succeeded = Signal(object)
    failed = Signal(str)
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
        self.on_cancel = on_cancel
        self.cancel_requested = threading.Event()
        self.done = threading.Event()

    def start(self, pool: QThreadPool | None = None) -> BackgroundTask:
        (pool or QThreadPool.globalInstance()).start(_Runner(self))
        return self

    def cancel(self) -> None:
        self.cancel_requested.set()
        if self.on_cancel is not None:
            try:
                self.on_cancel()
            except Exception:
                log.exception("cancel hook of %s failed", self.name)

    @property
    def running(self) -> bool:
        return not self.done.is_set()
