"""The window opens on a real X display (Xvfb), through the same start as a user's.

The rest of the suite runs Qt offscreen, which needs none of the system libraries the
xcb plugin does. Where they are missing, the test skips with the line Hearth's own display
check gives a user (which libraries, and the command that installs them); CI installs them
and runs it.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from hearth.display_check import check_platform, describe, system_family

XVFB_RUN = shutil.which("xvfb-run")
DBUS_RUN_SESSION = shutil.which("dbus-run-session")
# Debian's python3-pyatspi is for the system's Python, not this environment's.
SYSTEM_PYTHON = "/usr/bin/python3"

pytestmark = [
    pytest.mark.display,
    pytest.mark.skipif(
        XVFB_RUN is None, reason="needs Xvfb for a real X display (Debian: apt-get install xvfb)"
    ),
]


def skip_unless_xcb_loads() -> None:
    """Skip, with the display check's own words, where Qt's xcb plugin cannot load."""
    check = check_platform("xcb")
    if check is None:
        pytest.skip("this PySide6 has no xcb platform plugin")
    if not check.loads:
        pytest.skip(describe(check, system_family(), os.geteuid() == 0))


def test_the_window_starts_on_x_and_the_check_says_nothing(hearth_home: Path) -> None:
    skip_unless_xcb_loads()
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


# Run by the system's Python under its own D-Bus session: listens for announcements,
# starts the window (argv[1:]), waits for its "ready", then reads the application named
# Hearth through AT-SPI, as a screen reader does, and prints every node and everything
# announced as JSON.
READ_THROUGH_ATSPI = r"""
import json, subprocess, sys, time
import pyatspi
from gi.repository import GLib

announced = []
pyatspi.Registry.registerEventListener(
    lambda event: announced.append(event.any_data), "object:announcement"
)
window = subprocess.Popen(sys.argv[1:], stdout=subprocess.PIPE, text=True)
result = {"announced": announced, "nodes": [], "problem": ""}


def read_the_window():
    desktop = pyatspi.Registry.getDesktop(0)
    apps = [desktop.getChildAtIndex(i) for i in range(desktop.childCount)]
    app = next((a for a in apps if a is not None and a.name == "Hearth"), None)
    if app is None:
        result["problem"] = "no application named Hearth on the accessibility bus"
        return

    def walk(node, depth):
        states = node.getState()
        result["nodes"].append({
            "role": node.getRoleName(),
            "name": node.name,
            "description": node.description,
            "focusable": states.contains(pyatspi.STATE_FOCUSABLE),
            "showing": states.contains(pyatspi.STATE_SHOWING),
            "depth": depth,
        })
        for index in range(node.childCount):
            child = node.getChildAtIndex(index)
            if child is not None:
                walk(child, depth + 1)

    walk(app, 0)


def read_and_stop():
    read_the_window()
    pyatspi.Registry.stop()
    return False  # once


def when_ready(source, condition):
    line = window.stdout.readline()
    if line.strip() == "ready":
        GLib.timeout_add(1000, read_and_stop)  # the last announcements are events on the way
    else:
        result["problem"] = f"the window did not get ready: {line!r}"
        pyatspi.Registry.stop()
    return False


def give_up():
    result["problem"] = "the window was not ready within 240 s"
    pyatspi.Registry.stop()
    return False


GLib.io_add_watch(window.stdout, GLib.IO_IN | GLib.IO_HUP, when_ready)
GLib.timeout_add_seconds(240, give_up)
try:
    pyatspi.Registry.start()
finally:
    window.terminate()
    window.wait(30)
print(json.dumps(result))
"""


def skip_unless_atspi_reads() -> None:
    if DBUS_RUN_SESSION is None:
        pytest.skip("needs a D-Bus session for AT-SPI (Debian: apt-get install dbus)")
    if not Path(SYSTEM_PYTHON).is_file():
        pytest.skip(f"needs {SYSTEM_PYTHON} with pyatspi (Debian: apt-get install python3-pyatspi)")
    probe = subprocess.run(
        [SYSTEM_PYTHON, "-c", "import pyatspi"], capture_output=True, text=True, check=False
    )
    if probe.returncode != 0:
        pytest.skip("needs AT-SPI's Python bindings: apt-get install at-spi2-core python3-pyatspi")


def test_a_screen_reader_reads_the_window_through_atspi(hearth_home: Path) -> None:
    """The window as Orca gets it on Linux: through AT-SPI, on a real X display. The answer
    is there as words, each source chip as "source 1, report.pdf, page N", every control a
    keyboard reaches has a name, and the answer's stages and its end were announced."""
    skip_unless_xcb_loads()
    skip_unless_atspi_reads()
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in ("QT_QPA_PLATFORM", "QT_QPA_PLATFORM_PLUGIN_PATH", "WAYLAND_DISPLAY")
    }
    # Qt exposes the window to AT-SPI when the desktop's accessibility is on; a test
    # session has no desktop to turn it on.
    env |= {"HEARTH_HOME": str(hearth_home), "QT_LINUX_ACCESSIBILITY_ALWAYS_ON": "1"}
    assert XVFB_RUN is not None
    assert DBUS_RUN_SESSION is not None
    display = [XVFB_RUN, "-a", "-s", "-screen 0 1280x800x24", DBUS_RUN_SESSION, "--"]
    reader = [SYSTEM_PYTHON, "-c", READ_THROUGH_ATSPI]
    result = subprocess.run(
        [*display, *reader, sys.executable, "-m", "tests.ui.scripted_window"],
        cwd=Path(__file__).parents[2],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    read = json.loads(result.stdout.strip().splitlines()[-1])
    assert read["problem"] == "", result.stderr[-3000:]
    nodes = read["nodes"]
    named = {(node["role"], node["name"]) for node in nodes}
    assert (
        "label",
        "Hearth: The restoration of the lantern room cost 48,500 pounds (source 1).",
    ) in named
    assert ("label", "You: How much did the restoration of the lantern room cost?") in named
    chips = [n for n in nodes if n["role"] == "push button" and n["name"].startswith("source")]
    assert chips, named
    assert re.fullmatch(r"source 1, report\.pdf, page \d", chips[0]["name"])
    assert "48,500" in chips[0]["description"]
    assert ("text", "Question") in named
    assert ("menu item", "Keyboard shortcuts") in named
    # What the screen reader was told while the answer was worked on, besides the focus.
    assert "Searching your documents…" in read["announced"]
    assert "Answer ready" in read["announced"]
    reachable = [node for node in nodes if node["focusable"] and node["showing"]]
    assert len(reachable) > 20
    assert [node["role"] for node in reachable if not node["name"].strip()] == []
