"""Slow: build the one-folder app with PyInstaller and check the frozen app runs.
Skipped unless HEARTH_SLOW_TESTS=1 (the build takes many minutes and gigabytes)."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from hearth import __version__

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.slow
@pytest.mark.skipif(os.environ.get("HEARTH_SLOW_TESTS") != "1", reason="set HEARTH_SLOW_TESTS=1")
def test_frozen_app_prints_its_version() -> None:
    subprocess.run([str(ROOT / "scripts" / "package")], check=True, timeout=3600)
    frozen = ROOT / "dist" / "hearth" / "hearth"
    result = subprocess.run(
        [str(frozen), "--version"], capture_output=True, text=True, timeout=120, check=False
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == f"hearth {__version__}"
