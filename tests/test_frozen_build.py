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
def test_frozen_app_starts_and_indexes(tmp_path: Path) -> None:
    subprocess.run([str(ROOT / "scripts" / "package")], check=True, timeout=3600)
    frozen = ROOT / "dist" / "hearth" / "hearth"
    result = subprocess.run(
        [str(frozen), "--version"], capture_output=True, text=True, timeout=120, check=False
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == f"hearth {__version__}"

    # The frozen window comes up (stylesheet and icon found inside the bundle), and the
    # frozen CLI indexes and searches with the bundled embedder.
    env = {**os.environ, "HEARTH_HOME": str(tmp_path / "home"), "QT_QPA_PLATFORM": "offscreen"}
    shown = subprocess.run(
        [str(frozen)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env={**env, "HEARTH_EXIT_WHEN_SHOWN": "1"},
    )
    assert shown.returncode == 0, shown.stderr[-2000:]
    assert shown.stdout.startswith("shown "), shown.stderr[-2000:]
    note = tmp_path / "lighthouse.md"
    note.write_text("# Lighthouse\n\nThe lantern room cost 48,500 pounds in 1871.\n", "utf-8")
    for command in (["index", str(note)], ["search", "lantern room cost", "--json"]):
        step = subprocess.run(
            [str(frozen), *command],
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
            env=env,
        )
        assert step.returncode == 0, step.stderr[-2000:]
    assert "48,500" in step.stdout
