"""What every long job shares: progress reports and cancellation.

Jobs (indexing, summarising) report progress as (done, total, label) through a plain
callable and poll a plain should_cancel callable; when it says yes they raise
JobCancelled, leaving storage consistent. The UI maps both onto its task signals.
"""

from __future__ import annotations

from collections.abc import Callable

ProgressCallback = Callable[[int, int, str], None]
CancelCheck = Callable[[], bool]


class JobCancelled(Exception):
    """A job stopped because cancellation was requested; what it finished stays stored."""


def check_cancelled(should_cancel: CancelCheck | None, what: str) -> None:
    if should_cancel is not None and should_cancel():
        raise JobCancelled(f"{what} was cancelled")
