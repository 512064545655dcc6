"""The conversations pane: the list (searchable by title) and New / Rename / Delete / Export.

Built before the window's first paint, so nothing here touches `Qt.*` values (qt_values.py).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from hearth.ui.documents_pane import pane_header

if TYPE_CHECKING:
    from hearth.assistant.conversations import Conversation


class ConversationItem(QListWidgetItem):
    """A row of the conversation list. It carries its conversation's id as an attribute:
    item data roles are `Qt.*` values, which the first paint must not touch."""

    def __init__(self, title: str, conversation_id: int) -> None:
        super().__init__(title)
        self.conversation_id = conversation_id


class ConversationsPane(QWidget):
    new_requested = Signal()
    selected = Signal(int)  # conversation id
    rename_requested = Signal()
    delete_requested = Signal()
    export_requested = Signal()
    search_changed = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        column = QVBoxLayout(self)
        column.setContentsMargins(6, 6, 6, 6)
        self.new_button = QPushButton("New")
        self.new_button.setAccessibleName("New conversation")
        self.new_button.clicked.connect(self.new_requested)
        column.addLayout(pane_header("Conversations", self.new_button))
        self.search = QLineEdit()
        self.search.setPlaceholderText("Search titles…")
        self.search.setAccessibleName("Search conversations")
        self.search.setAccessibleDescription("Shows the conversations whose title has these words")
        self.search.textChanged.connect(self.search_changed)
        column.addWidget(self.search)
        self.list = QListWidget()
        self.list.setAccessibleName("Conversations")
        self.list.setAccessibleDescription("The arrow keys open the conversation they move to")
        self.list.currentItemChanged.connect(self._current_changed)
        column.addWidget(self.list)
        row = QHBoxLayout()
        self.buttons: dict[str, QPushButton] = {}
        for label, signal in (
            ("Rename", self.rename_requested),
            ("Delete", self.delete_requested),
            ("Export", self.export_requested),
        ):
            button = QPushButton(label)
            button.setAccessibleName(f"{label} conversation")
            button.clicked.connect(signal)
            row.addWidget(button)
            self.buttons[label] = button
        column.addLayout(row)

    def show_conversations(self, conversations: list[Conversation], current: int | None) -> None:
        self.list.blockSignals(True)
        self.list.clear()
        for conversation in conversations:
            item = ConversationItem(conversation.title, conversation.id)
            self.list.addItem(item)
            if conversation.id == current:
                self.list.setCurrentItem(item)
        self.list.blockSignals(False)

    def _current_changed(self, item: QListWidgetItem | None, _previous: object) -> None:
        if isinstance(item, ConversationItem):
            self.selected.emit(item.conversation_id)

    def ask_title(self, conversation: Conversation) -> str | None:
        """A new title for ``conversation``, or None when the user cancels."""
        from PySide6.QtWidgets import QInputDialog

        title, ok = QInputDialog.getText(self, "Rename", "Title:", text=conversation.title)
        return (title.strip() or None) if ok else None

    def ask_export_path(self, conversation: Conversation) -> Path | None:
        """Where to write ``conversation`` as Markdown, or None when the user cancels."""
        from PySide6.QtWidgets import QFileDialog

        path, _ = QFileDialog.getSaveFileName(
            self, "Export conversation", f"{conversation.title}.md", "Markdown (*.md)"
        )
        return Path(path) if path else None
