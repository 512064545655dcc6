"""The index's schema through named migrations: an index written before them (its format
in PRAGMA user_version alone) opens with its rows and tables as they were, and a new one
has the tables and columns Hearth always wrote."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from hearth.index.rows import (
    INDEX_MIGRATIONS,
    SCHEMA_VERSION,
    IndexRows,
    add_reader_version_column,
)

# What Hearth ran at every open before the index's schema became named migrations (format 3).
SCHEMA_BEFORE_MIGRATIONS = """
CREATE TABLE IF NOT EXISTS documents (
    id INTEGER PRIMARY KEY, path TEXT NOT NULL UNIQUE, content_hash TEXT NOT NULL,
    kind TEXT NOT NULL, title TEXT NOT NULL, page_count INTEGER, chunk_count INTEGER NOT NULL,
    entity_count INTEGER NOT NULL, size_bytes INTEGER NOT NULL, indexed_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS chunks (
    rowid INTEGER PRIMARY KEY, chunk_id TEXT NOT NULL UNIQUE,
    document_id INTEGER NOT NULL REFERENCES documents(id) ON DELETE CASCADE,
    ordinal INTEGER NOT NULL, page INTEGER, heading TEXT, start INTEGER NOT NULL,
    end INTEGER NOT NULL, text TEXT NOT NULL, ocr INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS reindex_wanted (path TEXT PRIMARY KEY, reason TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS chunks_by_document ON chunks(document_id, ordinal);
CREATE VIRTUAL TABLE IF NOT EXISTS chunk_fts USING fts5(
    text, tokenize = 'porter unicode61 remove_diacritics 2'
);
CREATE TABLE IF NOT EXISTS entities (
    id INTEGER PRIMARY KEY, key TEXT NOT NULL UNIQUE, name TEXT NOT NULL, kind TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS entity_chunks (
    entity_id INTEGER NOT NULL REFERENCES entities(id),
    chunk_rowid INTEGER NOT NULL REFERENCES chunks(rowid) ON DELETE CASCADE,
    count INTEGER NOT NULL, PRIMARY KEY (entity_id, chunk_rowid)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS entity_chunks_by_chunk ON entity_chunks(chunk_rowid);
CREATE TABLE IF NOT EXISTS entity_edges (
    document_id INTEGER NOT NULL REFERENCES documents(id) ON DELETE CASCADE,
    a INTEGER NOT NULL, b INTEGER NOT NULL, weight REAL NOT NULL,
    PRIMARY KEY (document_id, a, b)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS entity_edges_by_a ON entity_edges(a);
"""
TABLES = ["documents", "chunks", "reindex_wanted", "entities", "entity_chunks", "entity_edges"]


def old_index(path: Path, version: int, ocr_column: bool = True) -> None:
    """An index as Hearth wrote it before named migrations: one document, one chunk that
    mentions one entity, its keyword row, and its format in PRAGMA user_version."""
    db = sqlite3.connect(path)
    db.executescript(SCHEMA_BEFORE_MIGRATIONS)
    if not ocr_column:
        db.execute("ALTER TABLE chunks DROP COLUMN ocr")
    db.execute(
        "INSERT INTO documents VALUES (1, '/notes/lamp.md', 'h1', 'markdown', 'Lamp', NULL,"
        " 1, 1, 120, 1700000000.0)"
    )
    db.execute(
        "INSERT INTO chunks (rowid, chunk_id, document_id, ordinal, page, heading, start, end,"
        " text) VALUES (7, 'c7', 1, 0, NULL, 'Lamp', 0, 40, 'Ada Lovelace trimmed the lamp.')"
    )
    db.execute("INSERT INTO chunk_fts (rowid, text) VALUES (7, 'Ada Lovelace trimmed the lamp.')")
    db.execute("INSERT INTO entities VALUES (3, 'ada lovelace', 'Ada Lovelace', 'name')")
    db.execute("INSERT INTO entity_chunks VALUES (3, 7, 1)")
    db.execute(f"PRAGMA user_version = {version}")
    db.commit()
    db.close()


def columns(db: sqlite3.Connection) -> dict[str, list[tuple[object, ...]]]:
    """Every table's columns (name, type, not null, default, primary key), in order."""
    return {table: db.execute(f"PRAGMA table_info({table})").fetchall() for table in TABLES}


def schema_now(path: Path) -> sqlite3.Connection:
    """The schema before named migrations, with the columns named migrations added since."""
    db = sqlite3.connect(path)
    db.executescript(SCHEMA_BEFORE_MIGRATIONS)
    add_reader_version_column(db)
    return db


def applied(db: sqlite3.Connection) -> list[str]:
    return [str(row[0]) for row in db.execute("SELECT name FROM migrations ORDER BY name")]


def test_a_new_index_has_the_tables_and_columns_hearth_always_wrote(tmp_path: Path) -> None:
    before = schema_now(tmp_path / "before.sqlite3")
    rows = IndexRows(tmp_path / "new.sqlite3")
    try:
        assert columns(rows.db) == columns(before)
        assert applied(rows.db) == [name for name, _ in INDEX_MIGRATIONS]
        assert rows.format_found == 0
        assert not rows.needs_reindex()
    finally:
        rows.close()
        before.close()


@pytest.mark.parametrize("version", [2, 3])
def test_an_index_from_before_named_migrations_keeps_its_rows(tmp_path: Path, version: int) -> None:
    path = tmp_path / "index.sqlite3"
    old_index(path, version, ocr_column=version >= 3)
    before = schema_now(tmp_path / "before.sqlite3")
    rows = IndexRows(path)
    try:
        assert rows.format_found == version
        assert not rows.needs_reindex()
        # Version 2 gains the OCR column (nothing in it was recognised); version 3 had it.
        assert columns(rows.db) == columns(before)
        [document] = rows.documents()
        # Read by the readers of the time (version 1): an HTML or EPUB is read again.
        assert (
            document.path,
            document.chunk_count,
            document.entity_count,
            document.reader_version,
        ) == ("/notes/lamp.md", 1, 1, 1)
        chunk = rows.chunks_by_rowid([7])[7]
        assert (chunk.chunk_id, chunk.text, chunk.ocr) == (
            "c7",
            "Ada Lovelace trimmed the lamp.",
            False,
        )
        assert [rowid for rowid, _ in rows.keyword_search(["trimmed"], 5)] == [7]
        assert rows.chunks_mentioning(3, 10) == [7]
        assert rows.documents_to_reindex() == []
        assert applied(rows.db) == [name for name, _ in INDEX_MIGRATIONS]
        rows.mark_current_format()
        assert rows.db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    finally:
        rows.close()
        before.close()


def test_a_version_1_index_asks_for_indexing_again_and_migrations_run_once(
    tmp_path: Path,
) -> None:
    path = tmp_path / "index.sqlite3"
    old_index(path, version=1)
    rows = IndexRows(path)
    assert rows.needs_reindex()
    rows.mark_current_format()
    rows.close()
    reopened = IndexRows(path)
    try:
        assert not reopened.needs_reindex()
        (count,) = reopened.db.execute("SELECT count(*) FROM migrations").fetchone()
        assert count == len(INDEX_MIGRATIONS)
    finally:
        reopened.close()
