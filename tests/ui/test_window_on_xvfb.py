"""The window opens on a real X display (Xvfb), through the same start as a user's.

The rest of the suite runs Qt offscreen, which needs none of the system libraries the
xcb plugin does; this is the test that sees them missing.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

XVFB_RUN = shutil.which("xvfb-run")

pytestmark = [
    pytest.mark.display,
    pytest.mark.skipif(
        XVFB_RUN is None, reason="needs Xvfb for a real X display (Debian: apt-get install xvfb)"
    ),
]


def test_the_window_starts_on_x_and_the_check_says_nothing(hearth_home: Path) -> None:
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in ("QT_QPA_PLATFORM", "QT_QPA_PLATFORM_PLUGIN_PATH", "WAYLAND_DISPLAY")
    }
    env |= {"HEARTH_HOME": str(hearth_home), "HEARTH_EXIT_WHEN_SHOWN": "1"}
    assert XVFB_RUN is not None
    result = subprocess.run(
        [XVFB_RUN, "-a", "-s", "-screen 0 1280x800x24", sys.executable, "-m", "hearth"],
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert any(line.startswith("shown ") for line in result.stdout.splitlines()), result.stdout
    assert "hearth:" not in result.stderr
    assert "qt.qpa" not in result.stderr
    log = (hearth_home / "data" / "logs" / "hearth.log").read_text()
    assert "the window opens on xcb" in log
