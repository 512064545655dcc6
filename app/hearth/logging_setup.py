"""One log file per data folder, rotated; the terminal only gets warnings.

The rotation is a few lines here rather than logging.handlers.RotatingFileHandler:
logging.handlers imports socket, pickle and queue, about 6 ms on the way to the window.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

from hearth.paths import hearth_paths

DEBUG_ENV = "HEARTH_DEBUG"
LOG_MAX_BYTES = 2_000_000
LOG_BACKUPS = 3


class RotatingLogFile(logging.FileHandler):
    """hearth.log, moved to hearth.log.1 (and .1 to .2, ...) once it passes ``max_bytes``."""

    def __init__(self, path: Path, max_bytes: int = LOG_MAX_BYTES, backups: int = LOG_BACKUPS):
        super().__init__(path, encoding="utf-8")
        self.path = path
        self.max_bytes = max_bytes
        self.backups = backups

    def emit(self, record: logging.LogRecord) -> None:
        if self.stream is not None and self.stream.tell() >= self.max_bytes:
            self.rotate()
        super().emit(record)

    def rotate(self) -> None:
        self.close()
        for number in range(self.backups - 1, 0, -1):
            older = self.path.with_name(f"{self.path.name}.{number}")
            if older.exists():
                older.replace(self.path.with_name(f"{self.path.name}.{number + 1}"))
        if self.path.exists():
            self.path.replace(self.path.with_name(f"{self.path.name}.1"))
        self.stream = self._open()


def debug_logging_enabled() -> bool:
    return os.environ.get(DEBUG_ENV, "") not in ("", "0")


def setup_logging() -> None:
    root = logging.getLogger()
    if any(getattr(h, "_hearth", False) for h in root.handlers):
        return
    level = logging.DEBUG if debug_logging_enabled() else logging.INFO
    handler = RotatingLogFile(hearth_paths().logs / "hearth.log")
    handler.setFormatter(
        logging.Formatter("%(asctime)s %(process)d %(levelname)s %(name)s: %(message)s")
    )
    handler._hearth = True  # type: ignore[attr-defined]
    root.addHandler(handler)
    root.setLevel(level)
    # Chatty dependencies stay at warnings even when Hearth logs at debug.
    for noisy in ("chromadb", "httpx", "urllib3", "sentence_transformers", "filelock"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
