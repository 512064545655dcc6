"""One Hearth at a time per data folder.

The desktop app, and every command that opens the index, holds an exclusive lock on a
file in the data folder. A second Hearth on the same folder explains who holds it and
exits, instead of writing into stores the first one is using. The lock is an flock, so
the kernel releases it when the holder exits or is killed: a crash never leaves a stale
lock behind.
"""

from __future__ import annotations

import fcntl
import os
from pathlib import Path
from typing import IO

from hearth.errors import HearthError

EXIT_LOCKED = 3


class InstanceLocked(HearthError):
    """Another Hearth process uses this data folder; str() says which and what to do."""


class InstanceLock:
    def __init__(self, data_folder: Path) -> None:
        self.path = data_folder / "hearth.lock"
        self._handle: IO[str] | None = None

    def acquire(self, purpose: str) -> InstanceLock:
        handle = self.path.open("a+", encoding="utf-8")
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            handle.seek(0)
            holder = handle.read().strip() or "another process"
            handle.close()
            raise InstanceLocked(
                f"another Hearth ({holder}) is using {self.path.parent}; "
                "close it or wait until it finishes"
            ) from None
        handle.seek(0)
        handle.truncate()
        handle.write(f"pid {os.getpid()}, {purpose}")
        handle.flush()
        self._handle = handle
        return self

    def release(self) -> None:
        if self._handle is not None:
            fcntl.flock(self._handle.fileno(), fcntl.LOCK_UN)
            self._handle.close()
            self._handle = None

    def __enter__(self) -> InstanceLock:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.release()
