"""Hearth's look: warm colours through the palette for the window's frame, and a style
sheet (resources/hearth.qss) only for the chat's message bubbles and source chips.

A style sheet set on the whole application makes Qt style every widget through
QStyleSheetStyle, about 12 ms more before the first paint; the palette costs nothing.
"""

from __future__ import annotations

from PySide6.QtGui import QColor, QFont, QPalette
from PySide6.QtWidgets import QApplication, QWidget

from hearth.paths import resource_file

WINDOW_BACKGROUND = "#faf7f2"
TITLE_COLOUR = "#5a3e2b"
QUIET_TEXT_COLOUR = "#6b5a4b"


def apply_palette(app: QApplication) -> None:
    palette = app.palette()
    palette.setColor(QPalette.ColorRole.Window, QColor(WINDOW_BACKGROUND))
    app.setPalette(palette)


def messages_stylesheet() -> str:
    """The rules for message bubbles, speakers, errors and source chips."""
    return resource_file("hearth.qss").read_text("utf-8")


def style_text(widget: QWidget, colour: str, pixel_size: int, bold: bool = False) -> None:
    font = QFont(widget.font())
    font.setPixelSize(pixel_size)
    if bold:
        font.setWeight(QFont.Weight.DemiBold)
    widget.setFont(font)
    palette = widget.palette()
    palette.setColor(QPalette.ColorRole.WindowText, QColor(colour))
    widget.setPalette(palette)
