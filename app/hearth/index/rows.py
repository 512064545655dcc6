"""The index's SQLite file: its schema (named migrations, hearth.migrations) and the writes
of rows. Per chunk: text, page/heading/span, an OCR flag, an FTS5 row and the entities it
mentions; per document, the entity co-occurrence edges. One document's rows are replaced
in one transaction, so a reader sees it whole or not at all. The reads are IndexQueries'.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

from hearth.index.queries import IndexQueries, entity_ids
from hearth.index.records import DocumentWrite, PreparedChunk
from hearth.migrations import Migrations, apply_migrations

# PRAGMA user_version is the index format (kept as Hearth always wrote it).
# 2: chunks embedded as passages (collection "passages"; version 1 had one vector per chunk
# in "chunks"). Opening a version 1 index lists its documents for indexing again.
# 3: chunks.ocr (text recognised from an image of the page). A version 2 index gains the
# column in place: nothing in it was recognised, so 0 is right and nothing is indexed again.
SCHEMA_VERSION = 3
REINDEX_BELOW_VERSION = 2

# The tables of format 2. Every statement is IF NOT EXISTS: an index written before its
# schema went through named migrations has them already.
FORMAT_2_TABLES = """
CREATE TABLE IF NOT EXISTS documents (
    id INTEGER PRIMARY KEY,
    path TEXT NOT NULL UNIQUE,
    content_hash TEXT NOT NULL,
    kind TEXT NOT NULL,
    title TEXT NOT NULL,
    page_count INTEGER,
    chunk_count INTEGER NOT NULL,
    entity_count INTEGER NOT NULL,
    size_bytes INTEGER NOT NULL,
    indexed_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS chunks (
    rowid INTEGER PRIMARY KEY,
    chunk_id TEXT NOT NULL UNIQUE,
    document_id INTEGER NOT NULL REFERENCES documents(id) ON DELETE CASCADE,
    ordinal INTEGER NOT NULL,
    page INTEGER,
    heading TEXT,
    start INTEGER NOT NULL,
    end INTEGER NOT NULL,
    text TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS reindex_wanted (path TEXT PRIMARY KEY, reason TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS chunks_by_document ON chunks(document_id, ordinal);
CREATE VIRTUAL TABLE IF NOT EXISTS chunk_fts USING fts5(
    text, tokenize = 'porter unicode61 remove_diacritics 2'
);
CREATE TABLE IF NOT EXISTS entities (
    id INTEGER PRIMARY KEY,
    key TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    kind TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS entity_chunks (
    entity_id INTEGER NOT NULL REFERENCES entities(id),
    chunk_rowid INTEGER NOT NULL REFERENCES chunks(rowid) ON DELETE CASCADE,
    count INTEGER NOT NULL,
    PRIMARY KEY (entity_id, chunk_rowid)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS entity_chunks_by_chunk ON entity_chunks(chunk_rowid);
CREATE TABLE IF NOT EXISTS entity_edges (
    document_id INTEGER NOT NULL REFERENCES documents(id) ON DELETE CASCADE,
    a INTEGER NOT NULL,
    b INTEGER NOT NULL,
    weight REAL NOT NULL,
    PRIMARY KEY (document_id, a, b)
) WITHOUT ROWID
"""


def _add_missing_column(db: sqlite3.Connection, table: str, column: str, declared: str) -> None:
    """``table``.``column`` added, unless the index has it already."""
    columns = {str(row[1]) for row in db.execute(f"PRAGMA table_info({table})")}
    if column not in columns:
        db.execute(f"ALTER TABLE {table} ADD COLUMN {column} {declared}")


def add_ocr_column(db: sqlite3.Connection) -> None:
    """Format 3's chunks.ocr, unless the index (written before named migrations) has it."""
    _add_missing_column(db, "chunks", "ocr", "INTEGER NOT NULL DEFAULT 0")


def add_reader_version_column(db: sqlite3.Connection) -> None:
    """documents.reader_version: what was stored before it came from version 1 readers."""
    _add_missing_column(db, "documents", "reader_version", "INTEGER NOT NULL DEFAULT 1")


INDEX_MIGRATIONS: Migrations = [
    ("0001_documents_chunks_and_graph", FORMAT_2_TABLES),
    ("0002_chunks_ocr", add_ocr_column),
    # Facts about the index kept beside it: its id on a chromadb server, where its vectors
    # were written.
    (
        "0003_index_meta",
        "CREATE TABLE IF NOT EXISTS index_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
    ),
    # Summaries moved to the assistant's own cache (hearth/assistant/cache.py).
    ("0004_summaries_moved_out", "DROP TABLE IF EXISTS summaries"),
    ("0005_documents_reader_version", add_reader_version_column),
]


class IndexRows(IndexQueries):
    """The SQLite file: its reads (IndexQueries) and its writes, each write under one lock.
    Use from one thread at a time per instance, as the store."""

    def __init__(self, path: Path) -> None:
        db = sqlite3.connect(path, isolation_level=None, check_same_thread=False, timeout=30)
        super().__init__(db)
        db.execute("PRAGMA journal_mode = WAL")
        db.execute("PRAGMA foreign_keys = ON")
        db.execute("PRAGMA synchronous = NORMAL")
        self._lock = threading.RLock()
        # The format the file was written in, before this open brings it up to date.
        self.format_found = int(db.execute("PRAGMA user_version").fetchone()[0])
        apply_migrations(db, INDEX_MIGRATIONS)

    def needs_reindex(self) -> bool:
        """Written in a format whose vectors this version cannot read (every document must
        be indexed again from its file)."""
        return 0 < self.format_found < REINDEX_BELOW_VERSION

    def mark_current_format(self) -> None:
        self.db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")

    def close(self) -> None:
        self.db.close()

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            self.db.execute("BEGIN IMMEDIATE")
            try:
                yield self.db
            except BaseException:
                self.db.execute("ROLLBACK")
                raise
            self.db.execute("COMMIT")

    # -- facts about the index -----------------------------------------------------------------
    def meta(self, key: str, create: str | None = None) -> str | None:
        """A fact kept beside the index; with ``create``, stored first if missing."""
        with self._lock:
            if create is not None:
                self.db.execute(
                    "INSERT OR IGNORE INTO index_meta (key, value) VALUES (?, ?)", (key, create)
                )
            row = self.db.execute("SELECT value FROM index_meta WHERE key = ?", (key,)).fetchone()
        return str(row[0]) if row else None

    def set_meta(self, key: str, value: str) -> None:
        with self._lock:
            self.db.execute(
                "INSERT OR REPLACE INTO index_meta (key, value) VALUES (?, ?)", (key, value)
            )

    # -- documents ---------------------------------------------------------------------------
    def write_document(
        self, document: DocumentWrite, batches: Iterable[list[PreparedChunk]]
    ) -> tuple[list[str], set[str]]:
        """One transaction: the old version's rows out, this one's in, its chunks coming in
        ``batches``. The old version's chunk ids, and the entity keys it alone mentioned."""
        stored_keys: set[str] = set()
        ids: dict[str, int] = {}
        chunk_count = 0
        with self.transaction() as db:
            old_chunk_ids, orphan_keys = self._delete_document(db, document.path)
            cursor = db.execute(
                "INSERT INTO documents (path, content_hash, kind, title, page_count, chunk_count,"
                " entity_count, size_bytes, indexed_at, reader_version)"
                " VALUES (?, ?, ?, ?, ?, 0, 0, ?, ?, ?)",
                (
                    document.path,
                    document.content_hash,
                    document.kind,
                    document.title,
                    document.page_count,
                    document.size_bytes,
                    time.time(),
                    document.reader_version,
                ),
            )
            document_id = int(cursor.lastrowid or 0)
            for chunks in batches:
                entities = {e.key: e for chunk in chunks for e in chunk.entities}
                db.executemany(
                    "INSERT OR IGNORE INTO entities (key, name, kind) VALUES (?, ?, ?)",
                    [(e.key, e.name, e.kind) for key, e in entities.items() if key not in ids],
                )
                ids.update(entity_ids(db, [key for key in entities if key not in ids]))
                self._insert_chunks(db, document_id, chunks, ids)
                chunk_count += len(chunks)
                stored_keys |= entities.keys()
            db.executemany(
                "INSERT INTO entity_edges (document_id, a, b, weight) VALUES (?, ?, ?, ?)",
                [(document_id, ids[a], ids[b], w) for (a, b), w in document.edges.items()],
            )
            db.execute(
                "UPDATE documents SET chunk_count = ?, entity_count = ? WHERE id = ?",
                (chunk_count, len(stored_keys), document_id),
            )
        return old_chunk_ids, orphan_keys - stored_keys

    @staticmethod
    def _insert_chunks(
        db: sqlite3.Connection,
        document_id: int,
        chunks: list[PreparedChunk],
        entity_ids: dict[str, int],
    ) -> None:
        for chunk in chunks:
            cursor = db.execute(
                "INSERT INTO chunks (chunk_id, document_id, ordinal, page, heading, start, end,"
                " text, ocr) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    chunk.chunk_id,
                    document_id,
                    chunk.ordinal,
                    chunk.page,
                    chunk.heading,
                    chunk.start,
                    chunk.end,
                    chunk.text,
                    int(chunk.ocr),
                ),
            )
            rowid = int(cursor.lastrowid or 0)
            db.execute(
                "INSERT INTO chunk_fts (rowid, text) VALUES (?, ?)",
                (rowid, chunk.keyword_text()),
            )
            db.executemany(
                "INSERT INTO entity_chunks (entity_id, chunk_rowid, count) VALUES (?, ?, ?)",
                [(entity_ids[e.key], rowid, n) for e, n in chunk.entities.items()],
            )

    def remove_document(self, path: str) -> tuple[list[str], set[str]]:
        """Delete a document's rows: its chunk ids, and the entity keys it alone mentioned."""
        with self.transaction() as db:
            return self._delete_document(db, path)

    def take_out_for_reindex(self, paths: list[str], reason: str) -> tuple[list[str], set[str]]:
        """Delete these documents' rows and list them for indexing again (as remove_document,
        for them all)."""
        chunk_ids: list[str] = []
        orphan_keys: set[str] = set()
        with self.transaction() as db:
            for path in paths:
                chunks, keys = self._delete_document(db, path)
                chunk_ids += chunks
                orphan_keys |= keys
            db.executemany(
                "INSERT OR REPLACE INTO reindex_wanted (path, reason) VALUES (?, ?)",
                [(path, reason) for path in paths],
            )
        return chunk_ids, orphan_keys

    def no_reindex_needed(self, paths: Iterable[str]) -> None:
        with self._lock:
            self.db.executemany("DELETE FROM reindex_wanted WHERE path = ?", [(p,) for p in paths])

    @staticmethod
    def _delete_document(db: sqlite3.Connection, path: str) -> tuple[list[str], set[str]]:
        row = db.execute("SELECT id FROM documents WHERE path = ?", (path,)).fetchone()
        if row is None:
            return [], set()
        document_id = int(row[0])
        chunk_rows = db.execute(
            "SELECT rowid, chunk_id FROM chunks WHERE document_id = ?", (document_id,)
        ).fetchall()
        touched = {
            int(r[0])
            for r in db.execute(
                "SELECT DISTINCT entity_id FROM entity_chunks WHERE chunk_rowid IN"
                " (SELECT rowid FROM chunks WHERE document_id = ?)",
                (document_id,),
            )
        }
        db.executemany("DELETE FROM chunk_fts WHERE rowid = ?", [(r[0],) for r in chunk_rows])
        db.execute(
            "DELETE FROM entity_chunks WHERE chunk_rowid IN"
            " (SELECT rowid FROM chunks WHERE document_id = ?)",
            (document_id,),
        )
        db.execute("DELETE FROM entity_edges WHERE document_id = ?", (document_id,))
        db.execute("DELETE FROM chunks WHERE document_id = ?", (document_id,))
        db.execute("DELETE FROM documents WHERE id = ?", (document_id,))
        orphan_keys: set[str] = set()
        for entity_id in touched:
            used = db.execute(
                "SELECT 1 FROM entity_chunks WHERE entity_id = ? LIMIT 1", (entity_id,)
            ).fetchone()
            if used is None:
                key_row = db.execute(
                    "SELECT key FROM entities WHERE id = ?", (entity_id,)
                ).fetchone()
                db.execute("DELETE FROM entities WHERE id = ?", (entity_id,))
                if key_row:
                    orphan_keys.add(str(key_row[0]))
        return [str(r[1]) for r in chunk_rows], orphan_keys
