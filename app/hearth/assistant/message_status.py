"""MessageStatus, apart from the conversation store (the window imports it before its first
paint, when the store and sqlite3 are not loaded yet)."""

from __future__ import annotations

from enum import StrEnum


class MessageStatus(StrEnum):
    """What became of a message. A reply being written is only on screen, never stored."""

    COMPLETE = "complete"
    STOPPED = "stopped"
    ERROR = "error"
