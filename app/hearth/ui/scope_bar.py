"""The bar above the chat: whether the open conversation answers from the documents, and
from which of them. It stores the choice on the conversation and reports the updated one.

Built before the window's first paint, so nothing here touches `Qt.*` values (qt_values.py);
the dialog that does is imported when it opens.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QCheckBox, QHBoxLayout, QLabel, QPushButton, QWidget

if TYPE_CHECKING:
    from hearth.assistant.conversations import Conversation, ConversationStore


class ScopeBar(QWidget):
    changed = Signal(object)  # the Conversation, as stored after the change

    def __init__(
        self, store: Callable[[], ConversationStore], document_paths: Callable[[], list[str]]
    ) -> None:
        """``store`` and ``document_paths`` are called when needed: the conversation
        database and the index open after the window's first paint."""
        super().__init__()
        self.store = store
        self.document_paths = document_paths
        self.conversation: Conversation | None = None
        row = QHBoxLayout(self)
        row.setContentsMargins(12, 6, 12, 0)
        self.use_documents = QCheckBox("Answer from my documents")
        self.use_documents.setChecked(True)
        self.use_documents.setAccessibleDescription(
            "When off, the model answers from what it knows, without searching your documents"
        )
        self.choose_button = QPushButton("Which documents…")
        self.choose_button.setAccessibleDescription(
            "Choose the documents this conversation answers from"
        )
        self.label = QLabel("all documents")
        for widget in (self.use_documents, self.choose_button, self.label):
            row.addWidget(widget)
        row.addStretch(1)
        self.use_documents.toggled.connect(self._toggled)

    def show_for(self, conversation: Conversation | None) -> None:
        self.conversation = conversation
        if conversation is not None:
            self.use_documents.blockSignals(True)
            self.use_documents.setChecked(conversation.use_documents)
            self.use_documents.blockSignals(False)
        chosen = conversation.documents if conversation else []
        self.label.setText(f"{len(chosen)} chosen" if chosen else "all documents")
        # Read with the button: "Which documents…, 2 chosen".
        self.choose_button.setAccessibleDescription(
            f"Answers come from {self.label.text()}; choose the documents this conversation "
            "answers from"
        )
        self.choose_button.setEnabled(self.use_documents.isChecked())

    def choose(self, conversation: Conversation) -> None:
        """Ask which documents ``conversation`` answers from (none ticked means all)."""
        from hearth.ui.scope_dialog import DocumentScopeDialog

        dialog = DocumentScopeDialog(self.document_paths(), conversation.documents, self)
        if dialog.exec():
            self._store(conversation, self.use_documents.isChecked(), dialog.chosen())

    def _toggled(self, checked: bool) -> None:
        if self.conversation is None:
            self.show_for(None)
        else:
            self._store(self.conversation, checked, self.conversation.documents)

    def _store(self, conversation: Conversation, use: bool, documents: list[str]) -> None:
        self.store().set_document_scope(conversation.id, use, documents)
        updated = self.store().get(conversation.id)
        self.show_for(updated)
        self.changed.emit(updated)
