"""The window's keyboard shortcuts: one table that makes the menu actions, the list in the
Help menu and the Keyboard shortcuts dialog, so they cannot disagree."""

from __future__ import annotations

import html
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from PySide6.QtWidgets import QDialog, QWidget


@dataclass(frozen=True)
class Shortcut:
    name: str  # the window's method the action runs, and the action's key
    text: str  # the menu text (an & marks its accelerator)
    keys: str  # QKeySequence's portable text
    does: str  # one line for the dialog and the action's status tip


# Menu actions with a shortcut, in the order the Help menu lists them.
SHORTCUTS = (
    Shortcut("new_conversation", "&New conversation", "Ctrl+N", "Starts a new conversation"),
    Shortcut("focus_question", "&Ask a question", "Ctrl+L", "Moves to the question box"),
    Shortcut("add_documents", "&Add documents…", "Ctrl+O", "Chooses files to index"),
    Shortcut("stop_answer", "&Stop the answer", "Esc", "Stops the answer being written"),
    Shortcut(
        "search_conversations",
        "Search &conversations",
        "Ctrl+F",
        "Moves to the conversation search; Tab, then the arrow keys, open one",
    ),
    Shortcut(
        "copy_last_answer", "&Copy the last answer", "Ctrl+Shift+C", "Copies the latest answer"
    ),
    Shortcut(
        "choose_model", "Choose a &model…", "Ctrl+M", "Lists the models; Enter loads the chosen"
    ),
    Shortcut("open_settings", "Se&ttings…", "Ctrl+,", "Opens the settings"),
    Shortcut("show_shortcuts", "&Keyboard shortcuts", "F1", "Lists every keyboard shortcut"),
)

# Keys that belong to a control rather than to a menu action.
CONTROL_KEYS = (
    ("Enter", "In the question box: sends the question"),
    ("Shift+Enter", "In the question box: starts a new line"),
    ("Tab, Shift+Tab", "Move between controls: toolbar, conversations, documents, messages"),
    ("Space or Enter", "Presses the focused button: a source opens its passage"),
    ("Esc", "Closes the source viewer or a dialog"),
    ("Up, Down", "In the conversation list: open the conversation above or below"),
)


def shortcut_rows() -> list[tuple[str, str]]:
    """(keys, what they do) for every shortcut, as the dialog lists them."""
    return [(s.keys, s.does) for s in SHORTCUTS] + list(CONTROL_KEYS)


def shortcuts_dialog(parent: QWidget | None = None) -> QDialog:
    """Every shortcut as a table in a text view, which a screen reader reads line by line.
    (Made when asked for: the window imports this module before its first paint.)"""
    from PySide6.QtWidgets import QDialog, QDialogButtonBox, QTextBrowser, QVBoxLayout

    dialog = QDialog(parent)
    dialog.setWindowTitle("Keyboard shortcuts")
    dialog.resize(560, 460)
    layout = QVBoxLayout(dialog)
    text = QTextBrowser()
    text.setObjectName("shortcutList")
    text.setAccessibleName("Keyboard shortcuts")
    rows = "".join(
        f"<tr><td><b>{html.escape(keys)}</b></td><td>{html.escape(does)}</td></tr>"
        for keys, does in shortcut_rows()
    )
    text.setHtml(f"<table cellpadding='4'>{rows}</table>")
    layout.addWidget(text)
    buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
    buttons.rejected.connect(dialog.reject)
    layout.addWidget(buttons)
    text.setFocus()
    return dialog
