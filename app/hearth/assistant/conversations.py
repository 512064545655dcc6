"""Conversations and their messages in SQLite, with named migrations.

The conversation store is the one owner of chat history. A user message is stored the
moment it is sent; an answer is stored when it completes, is stopped or fails, so a
crash loses at most the answer being written, never an earlier message.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hearth.assistant.citations import numbered_source_label
from hearth.assistant.message_status import CUT_NOTE, MessageStatus
from hearth.assistant.sources import Source
from hearth.migrations import Migrations, apply_migrations
from hearth.paths import hearth_paths

# Applied in order, each once, recorded by name. Never edit a shipped migration: add one.
MIGRATIONS: Migrations = [
    (
        "0001_conversations_and_messages",
        """
        CREATE TABLE conversations (
            id INTEGER PRIMARY KEY,
            title TEXT NOT NULL,
            created_at REAL NOT NULL,
            updated_at REAL NOT NULL
        );
        CREATE TABLE messages (
            id INTEGER PRIMARY KEY,
            conversation_id INTEGER NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,
            role TEXT NOT NULL,
            content TEXT NOT NULL,
            sources_json TEXT NOT NULL DEFAULT '[]',
            tool_calls_json TEXT NOT NULL DEFAULT '[]',
            status TEXT NOT NULL DEFAULT 'complete',
            error TEXT,
            created_at REAL NOT NULL
        );
        CREATE INDEX messages_by_conversation ON messages(conversation_id, id);
        """,
    ),
    (
        "0002_document_scope",
        """
        ALTER TABLE conversations ADD COLUMN use_documents INTEGER NOT NULL DEFAULT 1;
        ALTER TABLE conversations ADD COLUMN documents_json TEXT NOT NULL DEFAULT '[]';
        """,
    ),
    (
        "0003_cited_sources",
        """
        ALTER TABLE messages ADD COLUMN cited_json TEXT NOT NULL DEFAULT '[]';
        """,
    ),
    (
        "0004_unsupported_statements",
        """
        ALTER TABLE messages ADD COLUMN unsupported_json TEXT NOT NULL DEFAULT '[]';
        """,
    ),
]


@dataclass
class Message:
    id: int
    conversation_id: int
    role: str
    content: str
    sources: list[Source] = field(default_factory=list)
    tool_calls: list[dict[str, Any]] = field(default_factory=list)
    status: MessageStatus = MessageStatus.COMPLETE
    error: str | None = None
    created_at: float = 0.0
    cited: list[int] = field(default_factory=list)  # numbers of the sources it rests on
    # Statements of the answer whose support no source showed (the window marks them).
    unsupported: list[str] = field(default_factory=list)


@dataclass
class Conversation:
    id: int
    title: str
    created_at: float
    updated_at: float
    use_documents: bool = True
    # Paths of the documents to answer from; empty means all indexed documents.
    documents: list[str] = field(default_factory=list)


class ConversationStore:
    def __init__(self, path: Path | None = None) -> None:
        self.path = path or hearth_paths().conversations_db
        self.db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        self.db.execute("PRAGMA journal_mode = WAL")
        self.db.execute("PRAGMA foreign_keys = ON")
        self._lock = threading.RLock()
        self.migrate()

    def migrate(self) -> list[str]:
        with self._lock:
            return apply_migrations(self.db, MIGRATIONS)

    def close(self) -> None:
        self.db.close()

    # -- conversations ---------------------------------------------------------------------
    def _conversation(self, row: tuple[Any, ...]) -> Conversation:
        return Conversation(
            id=int(row[0]),
            title=str(row[1]),
            created_at=float(row[2]),
            updated_at=float(row[3]),
            use_documents=bool(row[4]),
            documents=list(json.loads(row[5])),
        )

    _COLUMNS = "id, title, created_at, updated_at, use_documents, documents_json"

    def create(self, title: str = "New chat") -> Conversation:
        now = time.time()
        with self._lock:
            cursor = self.db.execute(
                "INSERT INTO conversations (title, created_at, updated_at) VALUES (?, ?, ?)",
                (title, now, now),
            )
        return self.get(int(cursor.lastrowid or 0))

    def get(self, conversation_id: int) -> Conversation:
        row = self.db.execute(
            f"SELECT {self._COLUMNS} FROM conversations WHERE id = ?", (conversation_id,)
        ).fetchone()
        if row is None:
            raise KeyError(conversation_id)
        return self._conversation(row)

    def search(self, title_contains: str = "") -> list[Conversation]:
        rows = self.db.execute(
            f"SELECT {self._COLUMNS} FROM conversations WHERE title LIKE ? ESCAPE '\\'"
            " ORDER BY updated_at DESC, id DESC",
            (
                "%"
                + title_contains.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
                + "%",
            ),
        ).fetchall()
        return [self._conversation(row) for row in rows]

    def rename(self, conversation_id: int, title: str) -> None:
        with self._lock:
            self.db.execute(
                "UPDATE conversations SET title = ? WHERE id = ?",
                (title.strip() or "Untitled", conversation_id),
            )

    def set_document_scope(
        self, conversation_id: int, use_documents: bool, documents: list[str]
    ) -> None:
        with self._lock:
            self.db.execute(
                "UPDATE conversations SET use_documents = ?, documents_json = ? WHERE id = ?",
                (int(use_documents), json.dumps(documents), conversation_id),
            )

    def exists(self, conversation_id: int) -> bool:
        return (
            self.db.execute(
                "SELECT 1 FROM conversations WHERE id = ?", (conversation_id,)
            ).fetchone()
            is not None
        )

    def delete(self, conversation_id: int) -> None:
        with self._lock:
            self.db.execute("DELETE FROM conversations WHERE id = ?", (conversation_id,))

    # -- messages --------------------------------------------------------------------------
    def add_message(
        self,
        conversation_id: int,
        role: str,
        content: str,
        sources: list[Source] | None = None,
        tool_calls: list[dict[str, Any]] | None = None,
        status: MessageStatus = MessageStatus.COMPLETE,
        error: str | None = None,
        cited: list[int] | None = None,
        unsupported: list[str] | None = None,
    ) -> Message:
        now = time.time()
        with self._lock:
            self.db.execute("BEGIN IMMEDIATE")
            try:
                cursor = self.db.execute(
                    "INSERT INTO messages (conversation_id, role, content, sources_json,"
                    " tool_calls_json, status, error, created_at, cited_json, unsupported_json)"
                    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (
                        conversation_id,
                        role,
                        content,
                        json.dumps([source.to_json() for source in sources or []]),
                        json.dumps(tool_calls or []),
                        str(status),
                        error,
                        now,
                        json.dumps(cited or []),
                        json.dumps(unsupported or []),
                    ),
                )
                self.db.execute(
                    "UPDATE conversations SET updated_at = ? WHERE id = ?", (now, conversation_id)
                )
            except BaseException:
                self.db.execute("ROLLBACK")
                raise
            self.db.execute("COMMIT")
        return Message(
            int(cursor.lastrowid or 0),
            conversation_id,
            role,
            content,
            sources or [],
            tool_calls or [],
            MessageStatus(status),
            error,
            now,
            cited or [],
            unsupported or [],
        )

    def messages(self, conversation_id: int) -> list[Message]:
        rows = self.db.execute(
            "SELECT id, conversation_id, role, content, sources_json, tool_calls_json, status,"
            " error, created_at, cited_json, unsupported_json FROM messages"
            " WHERE conversation_id = ? ORDER BY id",
            (conversation_id,),
        ).fetchall()
        return [
            Message(
                int(r[0]),
                int(r[1]),
                str(r[2]),
                str(r[3]),
                [Source.from_json(source) for source in json.loads(r[4])],
                json.loads(r[5]),
                MessageStatus(str(r[6])),
                r[7],
                float(r[8]),
                [int(n) for n in json.loads(r[9])],
                [str(statement) for statement in json.loads(r[10])],
            )
            for r in rows
        ]

    def delete_messages_from(self, conversation_id: int, message_id: int) -> None:
        """Drop a message and everything after it (regenerate, edit-and-resend)."""
        with self._lock:
            self.db.execute(
                "DELETE FROM messages WHERE conversation_id = ? AND id >= ?",
                (conversation_id, message_id),
            )

    def export_markdown(self, conversation_id: int) -> str:
        conversation = self.get(conversation_id)
        lines = [f"# {conversation.title}", ""]
        for message in self.messages(conversation_id):
            speaker = {"user": "You", "assistant": "Hearth"}.get(message.role, message.role)
            lines += [f"**{speaker}:**", "", message.content, ""]
            for source in message.sources:
                lines.append(f"- {numbered_source_label(source)}")
            if message.sources:
                lines.append("")
            if message.status is MessageStatus.ERROR:
                lines += [f"_(failed: {message.error})_", ""]
            elif message.status is MessageStatus.CUT:
                lines += [f"_({CUT_NOTE})_", ""]
        return "\n".join(lines).rstrip() + "\n"
