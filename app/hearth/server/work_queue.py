"""WorkQueue: one worker thread for a resource only one request may use at a time (the
engine; the index lookups), with a bounded number of requests waiting their turn.

A request beyond the bound is refused at once (the API answers 429) rather than left to
wait without end; a request cancelled while it waits (its client went away) is skipped
when its turn comes.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, TypeVar

from hearth.errors import HearthError
from hearth.jobs import Cancelled, CancelToken

log = logging.getLogger(__name__)

T = TypeVar("T")


class QueueFull(HearthError):
    """Every place in the queue is taken; str() says so in one line."""


@dataclass(frozen=True)
class QueueCounts:
    running: int
    waiting: int
    max_waiting: int
    completed: int
    cancelled: int
    failed: int
    refused: int


class WorkQueue:
    def __init__(self, name: str, max_waiting: int) -> None:
        self.name = name
        self.max_waiting = max_waiting
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix=f"hearth-{name}")
        self._lock = threading.Lock()
        self._admitted = 0
        self._running = 0
        self._completed = self._cancelled = self._failed = self._refused = 0

    def submit(self, work: Callable[[], T], token: CancelToken) -> Future[T]:
        """Run ``work`` in its turn; raises QueueFull when ``max_waiting`` already wait."""
        with self._lock:
            if self._admitted >= 1 + self.max_waiting:
                self._refused += 1
                raise QueueFull(
                    f"the {self.name} is busy: {self.max_waiting} requests are already waiting"
                )
            self._admitted += 1

        def run() -> T:
            with self._lock:
                self._running += 1
            try:
                token.check("the request")  # its client left while it waited
                return work()
            finally:
                with self._lock:
                    self._running -= 1
                    self._admitted -= 1

        future = self._executor.submit(run)
        future.add_done_callback(self._count)
        return future

    def _count(self, future: Future[Any]) -> None:
        error = None if future.cancelled() else future.exception()
        with self._lock:
            if future.cancelled() or isinstance(error, Cancelled):
                self._cancelled += 1
            elif error is not None:
                self._failed += 1
            else:
                self._completed += 1

    def counts(self) -> QueueCounts:
        with self._lock:
            return QueueCounts(
                running=self._running,
                waiting=self._admitted - self._running,
                max_waiting=self.max_waiting,
                completed=self._completed,
                cancelled=self._cancelled,
                failed=self._failed,
                refused=self._refused,
            )

    def shutdown(self) -> None:
        """Drop what waits, finish what runs (the caller cancels it first)."""
        self._executor.shutdown(wait=True, cancel_futures=True)
