"""What every long job shares: progress reports and cancellation.

Jobs (indexing, answering, summarising) report progress as (done, total, label) through a
plain callable and look at a CancelToken between steps (between model calls, batches,
pages); once it is cancelled they raise Cancelled, leaving storage consistent and caching
nothing partial. Cancelled is not an error: the CLI and the window show it as "stopped".
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

log = logging.getLogger(__name__)

ProgressCallback = Callable[[int, int, str], None]
CancelCheck = Callable[[], bool]


class Cancelled(Exception):
    """A job stopped because cancellation was requested; what it finished stays stored."""


class CancelToken:
    """Set once, from any thread. Hooks run at the cancel (stopping the model mid-token);
    the job itself notices at its next check and raises Cancelled."""

    def __init__(self) -> None:
        self._event = threading.Event()
        self._hooks: list[Callable[[], None]] = []
        self._lock = threading.Lock()

    @property
    def cancelled(self) -> bool:
        return self._event.is_set()

    def __call__(self) -> bool:
        """The token as a CancelCheck."""
        return self._event.is_set()

    def on_cancel(self, hook: Callable[[], None]) -> None:
        with self._lock:
            self._hooks.append(hook)
            already = self._event.is_set()
        if already:
            hook()

    def cancel(self) -> None:
        with self._lock:
            if self._event.is_set():
                return
            self._event.set()
            hooks = list(self._hooks)
        for hook in hooks:
            try:
                hook()
            except Exception:
                log.exception("a cancel hook failed")

    def check(self, what: str) -> None:
        if self._event.is_set():
            raise Cancelled(f"{what} was cancelled")


def check_cancelled(should_cancel: CancelCheck | None, what: str) -> None:
    if should_cancel is not None and should_cancel():
        raise Cancelled(f"{what} was cancelled")


# The name the indexing code used before there was one cancel exception.
JobCancelled = Cancelled
