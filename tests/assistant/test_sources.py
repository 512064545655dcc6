"""A source is one type from the answer to the screen; JSON only at the edges, and the
conversation store reads the messages it stored before as it wrote them."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

from hearth.assistant.citations import numbered_source_label
from hearth.assistant.conversations import MIGRATIONS, ConversationStore
from hearth.assistant.sources import Source
from hearth.migrations import apply_migrations

PAGE = Source(1, "/docs/report.pdf", 4, "The lantern room cost 48,500.", 0.812345)
SHEET = Source(2, "/docs/costs.xlsx", None, "Repairs 1200", 0.5, heading="Repairs, rows 2-41")


def test_its_json_has_the_fields_the_api_and_the_store_always_had() -> None:
    assert PAGE.to_json() == {
        "n": 1,
        "document": "/docs/report.pdf",
        "page": 4,
        "heading": None,
        "ocr": False,
        "text": "The lantern room cost 48,500.",
        "score": 0.8123,
    }
    assert Source.from_json(SHEET.to_json()) == SHEET
    assert Source.from_json(json.loads(json.dumps(PAGE.to_json()))).to_json() == PAGE.to_json()


def test_labels_name_the_page_or_the_place_in_the_file() -> None:
    assert numbered_source_label(PAGE) == "[1] report.pdf · p. 4"
    assert numbered_source_label(SHEET) == "[2] costs.xlsx · Repairs, rows 2-41"


def test_a_message_is_stored_as_before_and_read_back_as_sources(tmp_path: Path) -> None:
    store = ConversationStore(tmp_path / "conversations.sqlite3")
    conversation = store.create()
    written = store.add_message(conversation.id, "assistant", "It cost 48,500 [1].", [PAGE, SHEET])
    [(raw,)] = store.db.execute("SELECT sources_json FROM messages").fetchall()
    assert json.loads(raw) == [PAGE.to_json(), SHEET.to_json()]
    [read] = store.messages(conversation.id)
    assert written.sources == [PAGE, SHEET]
    assert read.sources == [Source.from_json(PAGE.to_json()), SHEET]  # its score rounded
    store.close()


def test_sources_stored_by_the_first_versions_are_read(tmp_path: Path) -> None:
    """Before headings and the OCR flag a source was {n, document, page, text, score}."""
    path = tmp_path / "conversations.sqlite3"
    db = sqlite3.connect(path, isolation_level=None)
    apply_migrations(db, MIGRATIONS[:1])
    db.execute("INSERT INTO conversations VALUES (1, 'Old', 1.0, 1.0)")
    old = [{"n": 1, "document": "/docs/report.pdf", "page": 4, "text": "48,500", "score": 0.8}]
    db.execute(
        "INSERT INTO messages (conversation_id, role, content, sources_json, created_at)"
        " VALUES (1, 'assistant', 'It cost 48,500 [1].', ?, 2.0)",
        (json.dumps(old),),
    )
    db.close()
    store = ConversationStore(path)
    [message] = store.messages(1)
    assert message.sources == [Source(1, "/docs/report.pdf", 4, "48,500", 0.8)]
    assert "- [1] report.pdf · p. 4" in store.export_markdown(1)
    store.close()
