"""MessageStatus, apart from the conversation store (the window imports it before its first
paint, when the store and sqlite3 are not loaded yet)."""

from __future__ import annotations

from enum import StrEnum


class MessageStatus(StrEnum):
    """What became of a message. A reply being written is only on screen, never stored."""

    COMPLETE = "complete"
    # Ended at the answer length limit (max tokens), not where the model ended it: said
    # beside the answer, as a silently shortened how-to loses its last steps.
    CUT = "cut"
    STOPPED = "stopped"
    ERROR = "error"


# Told with a cut answer, in the window and by `hearth ask`.
CUT_NOTE = "This answer reached its length limit, so its end may be missing."
