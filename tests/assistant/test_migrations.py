"""Named migrations bring older databases up to date without losing anything."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from hearth.assistant.cache import AssistantCache
from hearth.assistant.conversations import MIGRATIONS, ConversationStore
from hearth.assistant.message_status import MessageStatus
from hearth.migrations import apply_migrations


def test_a_first_version_conversation_database_is_migrated_in_place(tmp_path: Path) -> None:
    path = tmp_path / "conversations.sqlite3"
    db = sqlite3.connect(path, isolation_level=None)
    assert apply_migrations(db, MIGRATIONS[:1]) == ["0001_conversations_and_messages"]
    db.execute("INSERT INTO conversations VALUES (1, 'Old', 1.0, 1.0)")
    db.execute(
        "INSERT INTO messages (conversation_id, role, content, status, created_at)"
        " VALUES (1, 'assistant', 'kept', 'stopped', 2.0)"
    )
    db.close()
    store = ConversationStore(path)
    [message] = store.messages(1)
    assert (message.content, message.status, message.cited) == ("kept", MessageStatus.STOPPED, [])
    assert store.get(1).use_documents  # 0002's default
    assert store.migrate() == []  # applied once
    store.close()


def test_the_assistant_cache_keeps_only_what_it_is_given(tmp_path: Path) -> None:
    cache = AssistantCache(tmp_path / "cache.sqlite3")
    cache.store_summary("k1", "/docs/a.pdf", "A summary.")
    cache.store_suggestions("s1", "/docs/a.pdf", ["What is it?"])
    assert cache.summary("k1") == "A summary."
    assert cache.latest_suggestions(["/docs/a.pdf"], 3) == ["What is it?"]
    cache.forget_document("/docs/a.pdf")
    assert cache.summary("k1") is None
    assert cache.suggestions("s1") is None
    cache.close()
