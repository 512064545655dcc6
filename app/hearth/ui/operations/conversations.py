"""The open conversation and the list beside it, apart from any widget: search, open, new,
rename, delete, export.

The controller owns which conversation is open (``current``), always as stored: after a
change it is read back, so the title and document scope shown are the database's.
Deleting announces itself first (``deleting``) so the reply being written into that
conversation stops before its rows go.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, Signal

if TYPE_CHECKING:
    from pathlib import Path

    from hearth.assistant.conversations import Conversation, ConversationStore
    from hearth.assistant.workspace import Workspace


class ConversationController(QObject):
    listed = Signal(list, object)  # the conversations matching the search, the open one's id
    opened = Signal(object, list)  # Conversation, its stored messages
    closed = Signal()  # no conversation is open
    deleting = Signal(int)  # conversation id, before its rows are deleted

    def __init__(self, workspace: Workspace, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.workspace = workspace
        self.current: Conversation | None = None
        self.search_text = ""

    @property
    def store(self) -> ConversationStore:
        # Opened on first use: the database is not needed to paint the window.
        return self.workspace.conversations

    def refresh(self, select: int | None = None) -> None:
        current = select if select is not None else getattr(self.current, "id", None)
        self.listed.emit(self.store.search(self.search_text), current)

    def search(self, text: str) -> None:
        self.search_text = text
        self.refresh()

    def open(self, conversation_id: int) -> Conversation:
        self.current = self.store.get(conversation_id)
        self.opened.emit(self.current, self.store.messages(conversation_id))
        return self.current

    def create(self) -> Conversation:
        self.current = self.store.create()
        self.opened.emit(self.current, [])
        self.refresh(select=self.current.id)
        return self.current

    def current_or_new(self) -> Conversation:
        return self.current or self.create()

    def reload(self, conversation: Conversation | None = None) -> None:
        """The open conversation changed in the store (a title, a scope, a new message)."""
        if conversation is not None:
            self.current = conversation
        elif self.current is not None:
            self.current = self.store.get(self.current.id)
        self.refresh()

    def rename(self, title: str) -> None:
        if self.current is not None and title.strip():
            self.store.rename(self.current.id, title.strip())
            self.reload()

    def delete(self) -> None:
        if self.current is None:
            return
        conversation_id = self.current.id
        self.deleting.emit(conversation_id)
        self.store.delete(conversation_id)
        self.current = None
        self.closed.emit()
        self.refresh()

    def export(self, path: Path) -> None:
        if self.current is not None:
            path.write_text(self.store.export_markdown(self.current.id), "utf-8")
