"""The few `Qt` namespace values the window needs before it is first on screen.

PySide6 builds every enum of the `Qt` namespace, 94 Python enum classes and about 18 ms on
a laptop core, the first time any `Qt.*` value is touched (even an import of `Qt` does it).
That is an eighth of the time to Hearth's first window, so the code on the way to the first
paint sets these through Qt's property system, which takes the C++ values as plain integers.
Code that runs after the first paint uses `Qt.*` as usual. tests/ui/test_qt_values.py checks
that these numbers are Qt's own, and tests/ui/test_startup_path.py that nothing on the way to
the first paint touches `Qt`.
"""

from __future__ import annotations

VERTICAL = 0x2  # Qt::Vertical (Qt.Orientation.Vertical)
SCROLL_BAR_ALWAYS_OFF = 0x1  # Qt::ScrollBarAlwaysOff (Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
ALIGN_CENTER = 0x84  # Qt::AlignCenter (Qt.AlignmentFlag.AlignCenter)
