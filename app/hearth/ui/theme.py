"""Hearth's look: warm colours through the palette for the window's frame, and a style
sheet (resources/hearth.qss) only for the chat's message bubbles and source chips.

Light or dark follows the desktop unless the settings say otherwise (`Settings.theme`),
and the text size is a share of the desktop's own (`Settings.text_size`).

A style sheet set on the whole application makes Qt style every widget through
QStyleSheetStyle, about 12 ms more before the first paint; the palette costs nothing.
Nothing here touches `Qt.*` values before the first paint (qt_values.py): the desktop's
scheme is read from its palette then, and from Qt's style hints after.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from PySide6.QtGui import QColor, QFont, QGuiApplication, QPalette
from PySide6.QtWidgets import QApplication, QWidget

from hearth.paths import resource_file

if TYPE_CHECKING:
    from PySide6.QtCore import Qt

    from hearth.settings import Settings


@dataclass(frozen=True)
class Theme:
    dark: bool
    window: str
    text: str
    base: str  # text boxes and lists
    alternate_base: str
    button: str
    highlight: str
    highlighted_text: str
    placeholder: str
    disabled_text: str
    link: str
    title: str  # pane titles
    quiet: str  # the welcome text, hints
    error: str
    # The documents pane's states.
    failed: str
    indexing: str
    queued: str
    ready: str


LIGHT = Theme(
    dark=False,
    window="#faf7f2",
    text="#1f1a16",
    base="#ffffff",
    alternate_base="#f5efe6",
    button="#f1ebe3",
    highlight="#8a4b1f",
    highlighted_text="#ffffff",
    placeholder="#75665a",
    disabled_text="#8c8279",
    link="#8a4b1f",
    title="#5a3e2b",
    quiet="#6b5a4b",
    error="#b3261e",
    failed="#b3261e",
    indexing="#0b57d0",
    queued="#6b6b6b",
    ready="#1e6b34",
)

# Every text colour has at least 4.5:1 contrast on its background (WCAG AA), as the light
# ones do.
DARK = Theme(
    dark=True,
    window="#2a2420",
    text="#f2e9e0",
    base="#211c19",
    alternate_base="#2f2925",
    button="#3a322c",
    highlight="#d08a4e",
    highlighted_text="#1a1512",
    placeholder="#ab9c8f",
    disabled_text="#8d8178",
    link="#f0a868",
    title="#f0c9a0",
    quiet="#c4b4a5",
    error="#ff8a80",
    failed="#ff8a80",
    indexing="#8ab4f8",
    queued="#b0b0b0",
    ready="#81c995",
)

# The message style sheet is written for the light theme; the dark one swaps its colours.
DARK_MESSAGE_COLOURS = {
    "#ffffff": "#332b26",  # the user's bubble, a chip's background, a cited chip's text
    "#e6ddd0": "#4a3f37",
    "#fff4e6": "#3b2f26",  # Hearth's bubble
    "#f0d9bb": "#5c4632",
    "#8a4b1f": "#f0b27a",  # speaker, cited chip
    "#d9a66b": "#b7834d",
    "#fde7c8": "#4a3a2c",
    "#a35a26": "#f5c28f",
    "#b3261e": "#ff8a80",
    "#6b6b6b": "#b8aca1",
}

# Backwards names: the light theme's colours.
WINDOW_BACKGROUND = LIGHT.window
TITLE_COLOUR = LIGHT.title
QUIET_TEXT_COLOUR = LIGHT.quiet

# Widget properties that say how style_text styled a widget, so a theme or text size
# change can style it again.
TEXT_ROLE_PROPERTY = "hearthTextRole"
PIXEL_SIZE_PROPERTY = "hearthPixelSize"
BOLD_PROPERTY = "hearthBold"


class _State:
    theme: Theme = LIGHT
    scale: float = 1.0
    desktop_font: QFont | None = None
    palette_dark: bool | None = None  # the desktop's palette, read before Hearth set its own
    scheme_dark: bool | None = None  # Qt's style hints, where the desktop names a scheme


_state = _State()


def current() -> Theme:
    return _state.theme


def text_scale() -> float:
    return _state.scale


def palette_for(theme: Theme) -> QPalette:
    palette = QPalette()
    roles = QPalette.ColorRole
    for role, colour in (
        (roles.Window, theme.window),
        (roles.WindowText, theme.text),
        (roles.Base, theme.base),
        (roles.AlternateBase, theme.alternate_base),
        (roles.Text, theme.text),
        (roles.Button, theme.button),
        (roles.ButtonText, theme.text),
        (roles.BrightText, theme.error),
        (roles.Highlight, theme.highlight),
        (roles.HighlightedText, theme.highlighted_text),
        (roles.ToolTipBase, theme.base),
        (roles.ToolTipText, theme.text),
        (roles.PlaceholderText, theme.placeholder),
        (roles.Link, theme.link),
        (roles.LinkVisited, theme.link),
    ):
        palette.setColor(role, QColor(colour))
    # Fusion draws frames and bevels from these; derived as its standard palette does.
    button = QColor(theme.button)
    palette.setColor(roles.Light, button.lighter(150))
    palette.setColor(roles.Midlight, button.lighter(125))
    palette.setColor(roles.Mid, button.darker(130))
    palette.setColor(roles.Dark, button.darker(150))
    palette.setColor(roles.Shadow, QColor("#000000"))
    disabled = QPalette.ColorGroup.Disabled
    for role in (roles.WindowText, roles.Text, roles.ButtonText):
        palette.setColor(disabled, role, QColor(theme.disabled_text))
    return palette


def desktop_prefers_dark(app: QGuiApplication) -> bool:
    """Whether the desktop asks for dark colours. Qt's style hints know (GNOME, KDE, the
    portal) once `Qt` may be touched; before that, and where they do not say, the desktop's
    palette does: its window colour is dark."""
    if _state.palette_dark is None:
        window = app.palette().color(QPalette.ColorRole.Window)
        _state.palette_dark = window.lightness() < 128
    return _state.palette_dark if _state.scheme_dark is None else _state.scheme_dark


def theme_for(setting: str, desktop_dark: bool) -> Theme:
    if setting == "dark" or (setting == "system" and desktop_dark):
        return DARK
    return LIGHT


def apply_theme(app: QApplication, settings: Settings) -> Theme:
    """The palette and text size the settings ask for, on the whole application; widgets
    styled by style_text are styled again."""
    theme = theme_for(settings.theme, desktop_prefers_dark(app))
    if _state.desktop_font is None:
        _state.desktop_font = QFont(app.font())
    _state.theme = theme
    _state.scale = settings.text_size / 100
    font = QFont(_state.desktop_font)
    size = _state.desktop_font.pointSizeF()
    if size > 0:
        font.setPointSizeF(size * _state.scale)
    else:
        font.setPixelSize(max(1, round(_state.desktop_font.pixelSize() * _state.scale)))
    app.setFont(font)
    app.setPalette(palette_for(theme))
    for widget in app.allWidgets():
        if isinstance(widget, QWidget) and widget.property(TEXT_ROLE_PROPERTY):
            _restyle_text(widget)
    return theme


def follow_desktop_scheme(app: QApplication, settings: Settings) -> Theme:
    """After the first paint: the desktop's scheme from Qt's style hints, then the theme
    again."""
    desktop_prefers_dark(app)  # the palette is read before Hearth's replaces it
    desktop_scheme_changed(app.styleHints().colorScheme())
    return apply_theme(app, settings)


def desktop_scheme_changed(scheme: Qt.ColorScheme) -> None:
    """The desktop's scheme, as Qt's style hints report it (Unknown: it does not say)."""
    from PySide6.QtCore import Qt

    known = scheme != Qt.ColorScheme.Unknown
    _state.scheme_dark = scheme == Qt.ColorScheme.Dark if known else None


def apply_palette(app: QApplication) -> None:
    """The light theme's palette (the screenshot benchmark's look)."""
    app.setPalette(palette_for(LIGHT))


def messages_stylesheet(theme: Theme | None = None) -> str:
    """The rules for message bubbles, speakers, errors and source chips."""
    sheet = resource_file("hearth.qss").read_text("utf-8")
    theme = theme or current()
    if theme.dark:
        for light, dark in DARK_MESSAGE_COLOURS.items():
            sheet = sheet.replace(light, dark)
    # A chip's own border hides the style's focus frame: the focused chip, and a message's
    # text, get a thick one (the same size unfocused, transparent, so nothing moves).
    sheet += (
        "\nQPushButton#sourceChip:focus, QPushButton#citedSourceChip:focus "
        f"{{ border: 2px solid {theme.text}; padding: 2px 9px; }}\n"
        "QLabel#messageText { border: 2px solid transparent; border-radius: 4px; }\n"
        f"QLabel#messageText:focus {{ border-color: {theme.highlight}; }}\n"
        # Flat buttons (Copy, Regenerate, a suggested question) get no focus frame from
        # the style.
        'QPushButton[flat="true"] { border: 2px solid transparent; border-radius: 4px; '
        "padding: 2px 8px; }\n"
        f'QPushButton[flat="true"]:hover {{ background: {theme.button}; }}\n'
        f'QPushButton[flat="true"]:focus {{ border-color: {theme.highlight}; }}\n'
    )
    return sheet


def style_text(widget: QWidget, role: str, pixel_size: int, bold: bool = False) -> None:
    """A label's colour (a Theme field: "title", "quiet", "error"...) and size (pixels at
    100% text size); kept when the theme or the text size changes."""
    widget.setProperty(TEXT_ROLE_PROPERTY, role)
    widget.setProperty(PIXEL_SIZE_PROPERTY, pixel_size)
    widget.setProperty(BOLD_PROPERTY, bold)
    _restyle_text(widget)


def _restyle_text(widget: QWidget) -> None:
    role = str(widget.property(TEXT_ROLE_PROPERTY))
    font = QFont(widget.font())
    font.setPixelSize(max(1, round(int(widget.property(PIXEL_SIZE_PROPERTY)) * _state.scale)))
    if widget.property(BOLD_PROPERTY):
        font.setWeight(QFont.Weight.DemiBold)
    widget.setFont(font)
    palette = widget.palette()
    palette.setColor(QPalette.ColorRole.WindowText, QColor(getattr(_state.theme, role)))
    widget.setPalette(palette)
