from __future__ import annotations

import logging
from pathlib import Path

from hearth.logging_setup import RotatingLogFile


def test_the_log_rotates_and_keeps_a_few_old_files(tmp_path: Path) -> None:
    path = tmp_path / "hearth.log"
    handler = RotatingLogFile(path, max_bytes=200, backups=2)
    logger = logging.getLogger("hearth.test-rotation")
    logger.propagate = False
    logger.addHandler(handler)
    try:
        for number in range(40):
            logger.warning("line %03d %s", number, "x" * 40)
    finally:
        logger.removeHandler(handler)
        handler.close()
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "hearth.log",
        "hearth.log.1",
        "hearth.log.2",
    ]
    assert "line 039" in path.read_text("utf-8")
    assert all(p.stat().st_size <= 200 + 60 for p in tmp_path.iterdir())
