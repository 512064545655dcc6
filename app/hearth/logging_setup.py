"""One log file per data folder, rotated; the terminal only gets warnings."""

from __future__ import annotations

import logging
import logging.handlers
import os

from hearth.paths import hearth_paths

DEBUG_ENV = "HEARTH_DEBUG"


def debug_logging_enabled() -> bool:
    return os.environ.get(DEBUG_ENV, "") not in ("", "0")


def setup_logging() -> None:
    root = logging.getLogger()
    if any(getattr(h, "_hearth", False) for h in root.handlers):
        return
    level = logging.DEBUG if debug_logging_enabled() else logging.INFO
    handler = logging.handlers.RotatingFileHandler(
        hearth_paths().logs / "hearth.log", maxBytes=2_000_000, backupCount=3, encoding="utf-8"
    )
    handler.setFormatter(
        logging.Formatter("%(asctime)s %(process)d %(levelname)s %(name)s: %(message)s")
    )
    handler._hearth = True  # type: ignore[attr-defined]
    root.addHandler(handler)
    root.setLevel(level)
    # Chatty dependencies stay at warnings even when Hearth logs at debug.
    for noisy in ("chromadb", "httpx", "urllib3", "sentence_transformers", "filelock"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
