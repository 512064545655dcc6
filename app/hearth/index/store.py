"""The index's storage: SQLite for documents, chunks, keywords and the entity graph;
chromadb for passage and entity-name vectors (embedded by Hearth, never by chromadb).
A chunk is embedded as a few passages of about 400 characters (see chunking.passage_spans);
dense search scores a chunk by its best passage.

One document is written in one SQLite transaction, so a reader never sees half of one.
Vectors are written before that transaction and stale ones deleted after it; a marker
file brackets the whole write, and if a crash leaves it behind, the next open reconciles
chromadb with SQLite (orphan vectors deleted; documents missing vectors dropped and listed
in ``reindex_wanted``, which the app indexes again from their files).
"""

from __future__ import annotations

import hashlib
import logging
import math
import pickle
import sqlite3
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlsplit

import numpy as np

from hearth.documents.chunking import passage_spans
from hearth.errors import HearthError
from hearth.index.embedder import Vectors
from hearth.index.entities import Entity, entity_token
from hearth.index.keywords import fts_match_expression

log = logging.getLogger(__name__)

# 2: chunks embedded as passages (collection "passages"; version 1 had one vector per chunk
# in "chunks"). Opening a version 1 index lists its documents for indexing again.
# 3: chunks.ocr (text recognised from an image of the page). A version 2 index gains the
# column in place: nothing in it was recognised, so 0 is right and nothing is indexed again.
SCHEMA_VERSION = 3
REINDEX_BELOW_VERSION = 2
PASSAGES_FETCHED_PER_CHUNK = 4
SCHEMA = """
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
    text TEXT NOT NULL,
    ocr INTEGER NOT NULL DEFAULT 0
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
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS entity_edges_by_a ON entity_edges(a);
-- Summaries moved to the assistant's own cache (hearth/assistant/cache.py).
DROP TABLE IF EXISTS summaries;
"""


@dataclass(frozen=True)
class DocumentRecord:
    id: int
    path: str
    content_hash: str
    kind: str
    title: str
    page_count: int | None
    chunk_count: int
    entity_count: int
    size_bytes: int
    indexed_at: float


@dataclass(frozen=True)
class ChunkRecord:
    rowid: int
    chunk_id: str
    document_id: int
    document_path: str
    ordinal: int
    page: int | None
    heading: str | None
    start: int
    end: int
    text: str
    ocr: bool = False


CHUNK_RECORD_COLUMNS = (
    "c.rowid, c.chunk_id, c.document_id, d.path, c.ordinal, c.page, c.heading, c.start, c.end,"
    " c.text, c.ocr"
)


def chunk_record(row: tuple[Any, ...]) -> ChunkRecord:
    """A row of CHUNK_RECORD_COLUMNS (SQLite gives the OCR flag as 0 or 1)."""
    rowid, chunk_id, document_id, path, ordinal, page, heading, start, end, text, ocr = row
    return ChunkRecord(
        rowid, chunk_id, document_id, path, ordinal, page, heading, start, end, text, bool(ocr)
    )


@dataclass
class PreparedChunk:
    """A chunk ready to store: text, position, vector and the entities it mentions."""

    chunk_id: str
    ordinal: int
    page: int | None
    heading: str | None
    start: int
    end: int
    text: str
    entities: dict[Entity, int]
    # Where the chunk sits (document title, heading): indexed with it, never shown as its text.
    context: str = ""
    # Characters at the start that the previous chunk already embedded (its overlap).
    embedded_from: int = 0
    ocr: bool = False
    _passages: list[str] | None = field(default=None, init=False, repr=False, compare=False)

    def passage_texts(self) -> list[str]:
        """What is embedded: the chunk's passages from ``embedded_from`` on (the text before
        it is the overlap with the previous chunk, embedded with that one), each with the
        chunk's context line. Embedding costs by the token, so the overlap is not paid twice."""
        if self._passages is None:
            prefix = f"{self.context}\n" if self.context else ""
            text = self.text[self.embedded_from :]
            if not text.strip():
                text = self.text  # a chunk that is all overlap still needs one vector
            self._passages = [
                (prefix if i == 0 else "") + text[a:b].strip()
                for i, (a, b) in enumerate(passage_spans(text))
            ]
        return self._passages

    def keyword_text(self) -> str:
        """What the keyword index sees: context, text, and one token per entity, so names
        and dates match whatever way the query spells them."""
        tokens = " ".join(sorted(entity_token(e.key) for e in self.entities))
        return f"{self.context}\n{self.text}\n{tokens}"


@dataclass
class DocumentWrite:
    """One document's new version, ready to replace whatever is stored for its path."""

    path: str
    content_hash: str
    kind: str
    title: str
    page_count: int | None
    size_bytes: int
    chunks: list[PreparedChunk]
    # One row per passage, chunk by chunk in order (PreparedChunk.passage_texts).
    passage_vectors: Vectors
    edges: dict[tuple[str, str], float]


IN_BATCH = 500  # well under SQLite's limit on bound parameters


def rows_where_in(
    db: sqlite3.Connection, query: str, values: Iterable[Any]
) -> Iterator[tuple[Any, ...]]:
    """Rows of ``query`` (ending in "WHERE <column>") for the column IN ``values``, asked in
    batches so any number of values works."""
    values = list(values)
    for start in range(0, len(values), IN_BATCH):
        batch = values[start : start + IN_BATCH]
        yield from db.execute(f"{query} IN ({','.join('?' * len(batch))})", batch)


def chunk_identity(path: str, content_hash: str, ordinal: int) -> str:
    return hashlib.sha256(f"{path}\0{content_hash}\0{ordinal}".encode()).hexdigest()[:32]


def passage_vector_id(chunk_id: str, number: int) -> str:
    return f"{chunk_id}:{number}"


def chunk_id_of_passage(vector_id: str) -> str:
    return vector_id.split(":", 1)[0]


def entity_vector_id(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()[:32]


CHROMA_URL_VARIABLE = "HEARTH_CHROMA_URL"
# How long a call waits out a chromadb server that stopped answering (a restart takes a
# few seconds) before it reports it.
CHROMA_RETRY_SECONDS = 30.0
T = TypeVar("T")


class VectorStoreUnavailable(HearthError):
    """The chromadb server holding the index's vectors does not answer."""


def configured_chroma_url() -> str:
    """The chromadb server for the vectors: $HEARTH_CHROMA_URL, else the setting; "" for the
    local folder."""
    import os

    from hearth.settings import InvalidSetting, chroma_url_problem, load_settings

    url = os.environ.get(CHROMA_URL_VARIABLE, "").strip()
    source = CHROMA_URL_VARIABLE
    if not url:
        url, source = load_settings().chroma_url.strip(), "settings"
    problem = chroma_url_problem(url)
    if problem:
        raise InvalidSetting(f"{problem} ({source})")
    return url


def with_retries(url: str, action: Callable[[], T], what: str) -> T:
    """``action`` against the chromadb server at ``url``, tried again while the server is
    unreachable, for up to CHROMA_RETRY_SECONDS. Every write Hearth makes is an upsert or a
    delete by id, so doing one twice is harmless."""
    import httpx

    deadline = time.monotonic() + CHROMA_RETRY_SECONDS
    delay = 0.25
    while True:
        try:
            return action()
        except (httpx.TransportError, ConnectionError) as error:
            reason = str(error).strip() or type(error).__name__
        except ValueError as error:  # the client's constructor, when nothing answers
            if "connect" not in str(error).lower():
                raise
            reason = str(error).strip()
        if time.monotonic() + delay > deadline:
            raise VectorStoreUnavailable(
                f"the chromadb server at {url} is not answering while {what} ({reason}); "
                f"tried for {CHROMA_RETRY_SECONDS:.0f} s"
            )
        log.warning("chromadb server at %s not answering (%s); trying again", url, reason)
        time.sleep(delay)
        delay = min(delay * 2, 2.0)


class ServerCollection:
    """A collection on a chromadb server whose calls wait out a restart (with_retries)."""

    def __init__(self, collection: Any, url: str) -> None:
        self._collection = collection
        self._url = url

    def __getattr__(self, name: str) -> Callable[..., Any]:
        method = getattr(self._collection, name)

        def call(*args: Any, **kwargs: Any) -> Any:
            return with_retries(self._url, lambda: method(*args, **kwargs), f"{name} vectors")

        return call


class IndexStore:
    """Owner of the index folder. Use from one thread at a time per instance.

    The vectors live in the folder (chromadb's persistent client) or, with a chroma URL
    (HEARTH_CHROMA_URL or the setting), on a chromadb server, in collections named by this
    index's own id, so several Hearths can share one server without touching each other's
    vectors; SQLite always stays in the folder.
    """

    def __init__(self, folder: Path, chroma_url: str | None = None) -> None:
        """``chroma_url``: a chromadb server for the vectors (default: as configured)."""
        self.folder = folder
        self.chroma_url = configured_chroma_url() if chroma_url is None else chroma_url
        folder.mkdir(parents=True, exist_ok=True)
        self.marker = folder / "write-in-progress"
        self.db = sqlite3.connect(
            folder / "index.sqlite3", isolation_level=None, check_same_thread=False, timeout=30
        )
        self.db.execute("PRAGMA journal_mode = WAL")
        self.db.execute("PRAGMA foreign_keys = ON")
        self.db.execute("PRAGMA synchronous = NORMAL")
        (stored_version,) = self.db.execute("PRAGMA user_version").fetchone()
        self.db.executescript(SCHEMA)
        self._add_missing_columns()
        self._lock = threading.RLock()
        self._chroma: Any = None
        self._passage_vectors: Any = None
        self._entity_vectors: Any = None
        if 0 < int(stored_version) < REINDEX_BELOW_VERSION:
            self._drop_for_reindex("the index format changed")
        self.db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
        self._reconcile_if_needed()

    def _add_missing_columns(self) -> None:
        """Columns added since version 2 (CREATE TABLE IF NOT EXISTS leaves old tables be)."""
        columns = {str(row[1]) for row in self.db.execute("PRAGMA table_info(chunks)")}
        if "ocr" not in columns:
            self.db.execute("ALTER TABLE chunks ADD COLUMN ocr INTEGER NOT NULL DEFAULT 0")

    # -- chromadb (imported on first use: it is slow to import) -----------------------------
    def _client(self) -> Any:
        if self._chroma is None:
            import chromadb
            from chromadb.config import Settings as ChromaSettings

            settings = ChromaSettings(anonymized_telemetry=False, allow_reset=False)
            if self.chroma_url:
                parts = urlsplit(self.chroma_url)
                https = parts.scheme == "https"
                self._chroma = with_retries(
                    self.chroma_url,
                    lambda: chromadb.HttpClient(
                        host=parts.hostname or "127.0.0.1",
                        port=parts.port or (443 if https else 8000),
                        ssl=https,
                        settings=settings,
                    ),
                    "connecting",
                )
            else:
                self._chroma = chromadb.PersistentClient(
                    path=str(self.folder / "vectors"), settings=settings
                )
        return self._chroma

    def collection_names(self) -> tuple[str, str]:
        """Where this index's passage and entity-name vectors live."""
        if not self.chroma_url:
            return "passages", "entities"
        prefix = f"hearth-{self._meta('index_id', create=uuid.uuid4().hex)}"
        return f"{prefix}-passages", f"{prefix}-entities"

    def _collections(self) -> tuple[Any, Any]:
        if self._passage_vectors is None:
            space = {"hnsw:space": "cosine"}
            client = self._client()

            def open_collection(name: str) -> Any:
                return client.get_or_create_collection(
                    name, embedding_function=None, metadata=space
                )

            url = self.chroma_url
            collections = [
                ServerCollection(with_retries(url, partial(open_collection, name), "opening"), url)
                if url
                else open_collection(name)
                for name in self.collection_names()
            ]
            self._passage_vectors, self._entity_vectors = collections
        return self._passage_vectors, self._entity_vectors

    def _meta(self, key: str, create: str | None = None) -> str | None:
        """A fact about this index kept beside it (its id on a chromadb server, where its
        vectors were written); with ``create``, stored first if missing."""
        with self._lock:
            self.db.execute(
                "CREATE TABLE IF NOT EXISTS index_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)"
            )
            if create is not None:
                self.db.execute(
                    "INSERT OR IGNORE INTO index_meta (key, value) VALUES (?, ?)", (key, create)
                )
            row = self.db.execute("SELECT value FROM index_meta WHERE key = ?", (key,)).fetchone()
        return str(row[0]) if row else None

    def _reconcile_if_needed(self) -> None:
        """Reconcile after an interrupted write (the marker), or when the vectors are now
        kept somewhere other than where this index wrote them (the folder, a chromadb
        server): every document without vectors there is listed for indexing again. An
        index that never used a server is left as it always was."""
        home = self.chroma_url or "folder"
        written = self._meta("vectors") if self.chroma_url or self._has_meta() else None
        moved = (written or "folder") != home and (written is not None or self.chunk_count() > 0)
        if self.marker.exists() or moved:
            self.reconcile()
        if written != home and (self.chroma_url or written is not None):
            with self._lock:
                self.db.execute(
                    "INSERT OR REPLACE INTO index_meta (key, value) VALUES ('vectors', ?)", (home,)
                )

    def _has_meta(self) -> bool:
        row = self.db.execute(
            "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'index_meta'"
        ).fetchone()
        return row is not None

    def _begin_write(self, what: str) -> tuple[Any, Any]:
        """The collections, and the marker written for a write about to start. A marker still
        there is a write in this process that failed part-way (a chromadb server that went
        away): it is reconciled first, so its stray vectors never linger."""
        collections = self._collections()
        if self.marker.exists():
            self.reconcile()
        self.marker.write_text(what, encoding="utf-8")
        return collections

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

    # -- documents -----------------------------------------------------------------------
    def document(self, path: str) -> DocumentRecord | None:
        row = self.db.execute(
            "SELECT id, path, content_hash, kind, title, page_count, chunk_count, entity_count,"
            " size_bytes, indexed_at FROM documents WHERE path = ?",
            (path,),
        ).fetchone()
        return DocumentRecord(*row) if row else None

    def documents(self) -> list[DocumentRecord]:
        rows = self.db.execute(
            "SELECT id, path, content_hash, kind, title, page_count, chunk_count, entity_count,"
            " size_bytes, indexed_at FROM documents ORDER BY path"
        ).fetchall()
        return [DocumentRecord(*row) for row in rows]

    def counts(self) -> dict[str, int]:
        def count(table: str) -> int:
            return int(self.db.execute(f"SELECT count(*) FROM {table}").fetchone()[0])

        return {
            "documents": count("documents"),
            "chunks": count("chunks"),
            "entities": count("entities"),
        }

    def write_documents(
        self, documents: list[DocumentWrite], entity_vectors: dict[str, Vectors]
    ) -> None:
        """Replace what was stored for each document's path with this version.

        Vectors for the whole batch go to chromadb in one call first; then each document
        is written in its own SQLite transaction (a reader sees it whole or not at all);
        then vectors nothing refers to any more are deleted. The marker file covers the
        span in which chromadb and SQLite may disagree.
        """
        passage_collection, entity_collection = self._begin_write(
            "\n".join(d.path for d in documents)
        )
        ids: list[str] = []
        metadatas: list[dict[str, str]] = []
        for document in documents:
            for chunk in document.chunks:
                for number in range(len(chunk.passage_texts())):
                    ids.append(passage_vector_id(chunk.chunk_id, number))
                    metadatas.append({"document": document.path, "chunk": chunk.chunk_id})
        if ids:
            passage_collection.upsert(
                ids=ids,
                embeddings=np.concatenate([d.passage_vectors for d in documents if d.chunks]),
                metadatas=metadatas,
            )
        if entity_vectors:
            keys = list(entity_vectors)
            entity_collection.upsert(
                ids=[entity_vector_id(k) for k in keys],
                embeddings=np.stack([entity_vectors[k] for k in keys]),
                metadatas=[{"key": k} for k in keys],
            )
        stale_chunk_ids: list[str] = []
        maybe_orphaned: set[str] = set()
        for document in documents:
            old_chunk_ids, orphan_keys = self._write_document_rows(document)
            new_ids = {c.chunk_id for c in document.chunks}
            stale_chunk_ids += [c for c in old_chunk_ids if c not in new_ids]
            maybe_orphaned |= orphan_keys
        # A key orphaned by one document may have been stored again by a later one.
        orphaned = maybe_orphaned - self.known_entity_keys(maybe_orphaned)
        self._delete_vectors(stale_chunk_ids, orphaned)
        self.no_reindex_needed([d.path for d in documents])
        self.marker.unlink(missing_ok=True)

    def _write_document_rows(
        self, document: DocumentWrite, batches: Iterable[list[PreparedChunk]] | None = None
    ) -> tuple[list[str], set[str]]:
        """One transaction: the old version's rows out, this one's in. The chunks come in
        ``batches`` (a large document's, read back from its spool) or are the document's own."""
        stored_keys: set[str] = set()
        entity_ids: dict[str, int] = {}
        chunk_count = 0
        with self.transaction() as db:
            old_chunk_ids, orphan_keys = self._delete_document_rows(db, document.path)
            cursor = db.execute(
                "INSERT INTO documents (path, content_hash, kind, title, page_count, chunk_count,"
                " entity_count, size_bytes, indexed_at) VALUES (?, ?, ?, ?, ?, 0, 0, ?, ?)",
                (
                    document.path,
                    document.content_hash,
                    document.kind,
                    document.title,
                    document.page_count,
                    document.size_bytes,
                    time.time(),
                ),
            )
            document_id = int(cursor.lastrowid or 0)
            for chunks in [document.chunks] if batches is None else batches:
                entities = {e.key: e for chunk in chunks for e in chunk.entities}
                db.executemany(
                    "INSERT OR IGNORE INTO entities (key, name, kind) VALUES (?, ?, ?)",
                    [
                        (e.key, e.name, e.kind)
                        for key, e in entities.items()
                        if key not in entity_ids
                    ],
                )
                entity_ids.update(
                    self._entity_ids(db, [key for key in entities if key not in entity_ids])
                )
                self._insert_chunk_rows(db, document_id, chunks, entity_ids)
                chunk_count += len(chunks)
                stored_keys |= entities.keys()
            db.executemany(
                "INSERT INTO entity_edges (document_id, a, b, weight) VALUES (?, ?, ?, ?)",
                [
                    (document_id, entity_ids[a], entity_ids[b], w)
                    for (a, b), w in document.edges.items()
                ],
            )
            db.execute(
                "UPDATE documents SET chunk_count = ?, entity_count = ? WHERE id = ?",
                (chunk_count, len(stored_keys), document_id),
            )
        return old_chunk_ids, orphan_keys - stored_keys

    @staticmethod
    def _insert_chunk_rows(
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

    def large_document_writer(self, path: str) -> LargeDocumentWriter:
        """A writer for one document too large to hold whole (see LargeDocumentWriter)."""
        return LargeDocumentWriter(self, path)

    def remove_document(self, path: str) -> bool:
        if self.document(path) is None:
            return False
        self._begin_write(path)
        with self.transaction() as db:
            old_chunk_ids, orphan_keys = self._delete_document_rows(db, path)
        self._delete_vectors(old_chunk_ids, orphan_keys)
        self.marker.unlink(missing_ok=True)
        return True

    def _delete_document_rows(
        self, db: sqlite3.Connection, path: str
    ) -> tuple[list[str], set[str]]:
        """Delete a document's rows; return its chunk ids and entity keys left with no chunk."""
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

    def _delete_vectors(self, chunk_ids: Iterable[str], entity_keys: Iterable[str]) -> None:
        passage_collection, entity_collection = self._collections()
        chunk_ids = list(chunk_ids)
        entity_ids = [entity_vector_id(k) for k in entity_keys]
        for start in range(0, len(chunk_ids), IN_BATCH):
            passage_collection.delete(where={"chunk": {"$in": chunk_ids[start : start + IN_BATCH]}})
        if entity_ids:
            entity_collection.delete(ids=entity_ids)

    # -- documents to index again ----------------------------------------------------------
    def _drop_for_reindex(self, reason: str) -> None:
        """Take every document out of the index and list it for indexing again from its file
        (after a format change); its rows and vectors go, the list keeps its path."""
        paths = [document.path for document in self.documents()]
        log.info("%s: %d documents will be indexed again", reason, len(paths))
        self._take_out_for_reindex(paths, reason)
        # Version 1's vectors live in a collection this version never reads.
        client = self._client()
        if "chunks" in {c.name for c in client.list_collections()}:
            client.delete_collection("chunks")

    def _take_out_for_reindex(self, paths: list[str], reason: str) -> None:
        """Delete these documents' rows and vectors and list them for indexing again."""
        chunk_ids: list[str] = []
        orphan_keys: set[str] = set()
        with self.transaction() as db:
            for path in paths:
                chunks, keys = self._delete_document_rows(db, path)
                chunk_ids += chunks
                orphan_keys |= keys
            db.executemany(
                "INSERT OR REPLACE INTO reindex_wanted (path, reason) VALUES (?, ?)",
                [(path, reason) for path in paths],
            )
        self._delete_vectors(chunk_ids, orphan_keys)

    def documents_to_reindex(self) -> list[str]:
        """Paths taken out of the index by a format change or an interrupted write."""
        return [str(r[0]) for r in self.db.execute("SELECT path FROM reindex_wanted ORDER BY path")]

    def no_reindex_needed(self, paths: Iterable[str]) -> None:
        with self._lock:
            self.db.executemany("DELETE FROM reindex_wanted WHERE path = ?", [(p,) for p in paths])

    @staticmethod
    def _entity_ids(db: sqlite3.Connection, keys: list[str]) -> dict[str, int]:
        return {
            str(key): int(entity_id)
            for entity_id, key in rows_where_in(db, "SELECT id, key FROM entities WHERE key", keys)
        }

    def known_entity_keys(self, keys: Iterable[str]) -> set[str]:
        return set(self._entity_ids(self.db, list(keys)))

    # -- consistency -----------------------------------------------------------------------
    def _passage_disagreement(self) -> tuple[list[str], set[str]]:
        """Passage vectors of no stored chunk, and stored chunks with no passage vector."""
        passage_collection, _ = self._collections()
        stored_chunks = {str(r[0]) for r in self.db.execute("SELECT chunk_id FROM chunks")}
        vector_ids = set(passage_collection.get(include=[])["ids"])
        orphan_vectors = sorted(
            v for v in vector_ids if chunk_id_of_passage(v) not in stored_chunks
        )
        return orphan_vectors, stored_chunks - {chunk_id_of_passage(v) for v in vector_ids}

    def consistency(self) -> dict[str, int]:
        """How far chromadb and SQLite disagree (all zero in a consistent index)."""
        orphan_vectors, missing = self._passage_disagreement()
        return {
            "orphan_passage_vectors": len(orphan_vectors),
            "chunks_without_vectors": len(missing),
        }

    def reconcile(self) -> dict[str, int]:
        """Make chromadb agree with SQLite after an interrupted write."""
        passage_collection, entity_collection = self._collections()
        orphan_vectors, missing = self._passage_disagreement()
        dropped_documents = 0
        if missing:
            query = (
                "SELECT DISTINCT d.path FROM documents d JOIN chunks c ON c.document_id = d.id"
                " WHERE c.chunk_id"
            )
            # A document can appear in several batches; each is dropped once.
            paths = sorted({str(r[0]) for r in rows_where_in(self.db, query, sorted(missing))})
            # Their passages that did reach chromadb go with them.
            self._take_out_for_reindex(paths, "indexing was interrupted")
            dropped_documents = len(paths)
        stored_entities = {
            entity_vector_id(str(r[0])) for r in self.db.execute("SELECT key FROM entities")
        }
        entity_vector_ids = set(entity_collection.get(include=[])["ids"])
        orphan_entities = sorted(entity_vector_ids - stored_entities)
        if orphan_vectors:
            passage_collection.delete(ids=orphan_vectors)
        if orphan_entities:
            entity_collection.delete(ids=orphan_entities)
        self.marker.unlink(missing_ok=True)
        report = {
            "orphan_passage_vectors": len(orphan_vectors),
            "orphan_entity_vectors": len(orphan_entities),
            "documents_dropped": dropped_documents,
        }
        log.info("index reconciled after an interrupted write: %s", report)
        return report

    def document_chunks(self, path: str) -> list[tuple[str, str]]:
        """(chunk id, text) of a document in order."""
        return [
            (str(chunk_id), str(text))
            for chunk_id, text in self.db.execute(
                "SELECT c.chunk_id, c.text FROM chunks c JOIN documents d ON d.id = c.document_id"
                " WHERE d.path = ? ORDER BY c.ordinal",
                (path,),
            )
        ]

    def key_entities(self, path: str, kinds: tuple[str, ...], limit: int) -> list[str]:
        """The document's most telling entities: mentions here times rarity elsewhere."""
        (total,) = self.db.execute("SELECT count(*) FROM chunks").fetchone()
        marks = ",".join("?" * len(kinds))
        rows = self.db.execute(
            "SELECT e.name, sum(ec.count) AS here,"
            " (SELECT count(*) FROM entity_chunks x WHERE x.entity_id = e.id) AS df"
            " FROM entity_chunks ec JOIN entities e ON e.id = ec.entity_id"
            " JOIN chunks c ON c.rowid = ec.chunk_rowid JOIN documents d ON d.id = c.document_id"
            f" WHERE d.path = ? AND e.kind IN ({marks}) GROUP BY e.id",
            (path, *kinds),
        ).fetchall()
        scored = sorted(
            rows, key=lambda r: -float(r[1]) * math.log(1.0 + int(total) / max(1, int(r[2])))
        )
        return [str(name) for name, _, _ in scored[:limit]]

    # -- reading for retrieval ---------------------------------------------------------------
    # -- the graph, as retrieval reads it ------------------------------------------------------
    def entities_with_chunk_counts(self) -> list[tuple[int, str, str, str, int]]:
        """(id, key, name, kind, number of chunks mentioning it) of every entity."""
        rows = self.db.execute(
            "SELECT e.id, e.key, e.name, e.kind, count(ec.chunk_rowid) FROM entities e"
            " LEFT JOIN entity_chunks ec ON ec.entity_id = e.id GROUP BY e.id"
        ).fetchall()
        return [(int(a), str(b), str(c), str(d), int(e)) for a, b, c, d, e in rows]

    def chunk_count(self) -> int:
        return int(self.db.execute("SELECT count(*) FROM chunks").fetchone()[0])

    def graph_version(self) -> tuple[int, int, int, float]:
        """Changes whenever a document is written or removed (for caches of graph facts)."""
        row = self.db.execute(
            "SELECT (SELECT count(*) FROM entities), (SELECT coalesce(max(id), 0) FROM entities),"
            " (SELECT count(*) FROM documents), (SELECT coalesce(max(indexed_at), 0)"
            " FROM documents)"
        ).fetchone()
        return int(row[0]), int(row[1]), int(row[2]), float(row[3])

    def entity_neighbours(self, entity_id: int, limit: int) -> list[tuple[int, float]]:
        """The entities most often seen with this one, co-occurrence summed over documents."""
        return [
            (int(b), float(w))
            for b, w in self.db.execute(
                "SELECT b, sum(weight) AS w FROM entity_edges WHERE a = ? GROUP BY b"
                " ORDER BY w DESC LIMIT ?",
                (entity_id, limit),
            )
        ]

    def chunks_mentioning(self, entity_id: int, limit: int) -> list[int]:
        return [
            int(rowid)
            for (rowid,) in self.db.execute(
                "SELECT chunk_rowid FROM entity_chunks WHERE entity_id = ? LIMIT ?",
                (entity_id, limit),
            )
        ]

    def chunks_mentioning_any(self, entity_ids: list[int]) -> set[int]:
        query = "SELECT chunk_rowid FROM entity_chunks WHERE entity_id"
        return {int(row[0]) for row in rows_where_in(self.db, query, entity_ids)}

    def entity_weighted_chunks(
        self,
        weights: dict[int, float],
        factors: Iterable[tuple[int, float]],
        factor_cap: float,
        rowids: list[int] | None,
        limit: int | None,
    ) -> dict[int, float]:
        """Per chunk, the sum over ``weights``' entities of weight x a mention factor (by how
        often the chunk names it, ``factor_cap`` beyond ``factors``), summed inside SQLite:
        the ``limit`` best chunks, or exactly ``rowids``."""
        factor_pairs = list(factors)
        chunk_filter = (
            "" if rowids is None else f"WHERE ec.chunk_rowid IN ({','.join('?' * len(rowids))})"
        )
        query = (
            f"WITH w(entity_id, weight) AS (VALUES {','.join(['(?, ?)'] * len(weights))}),"
            f" f(count, factor) AS (VALUES {','.join(['(?, ?)'] * len(factor_pairs))})"
            " SELECT ec.chunk_rowid, sum(w.weight * coalesce(f.factor, ?)) AS score"
            " FROM entity_chunks ec JOIN w ON w.entity_id = ec.entity_id"
            f" LEFT JOIN f ON f.count = ec.count {chunk_filter}"
            " GROUP BY ec.chunk_rowid ORDER BY score DESC"
        )
        # Parameters in the order the query names them.
        params: list[float | int] = [x for pair in weights.items() for x in pair]
        params += [x for pair in factor_pairs for x in pair]
        params.append(factor_cap)
        params += rowids or []
        if limit is not None:
            query += " LIMIT ?"
            params.append(limit)
        return {int(rowid): float(score) for rowid, score in self.db.execute(query, params)}

    def chunk_rowid_at(self, document_id: int, ordinal: int) -> int | None:
        row = self.db.execute(
            "SELECT rowid FROM chunks WHERE document_id = ? AND ordinal = ?",
            (document_id, ordinal),
        ).fetchone()
        return int(row[0]) if row is not None else None

    def chunks_by_rowid(self, rowids: Iterable[int]) -> dict[int, ChunkRecord]:
        query = (
            f"SELECT {CHUNK_RECORD_COLUMNS} FROM chunks c JOIN documents d ON d.id = c.document_id"
            " WHERE c.rowid"
        )
        return {int(row[0]): chunk_record(row) for row in rows_where_in(self.db, query, rowids)}

    def rowids_for_chunk_ids(self, chunk_ids: list[str]) -> dict[str, int]:
        query = "SELECT rowid, chunk_id FROM chunks WHERE chunk_id"
        return {
            str(chunk_id): int(rowid)
            for rowid, chunk_id in rows_where_in(self.db, query, chunk_ids)
        }

    def keyword_search(self, terms: list[str], limit: int) -> list[tuple[int, float]]:
        """(chunk rowid, BM25 score; higher is better) for chunks with any of ``terms``."""
        expression = fts_match_expression(terms)
        if expression is None:
            return []
        rows = self.db.execute(
            "SELECT rowid, bm25(chunk_fts) FROM chunk_fts WHERE chunk_fts MATCH ?"
            " ORDER BY bm25(chunk_fts) LIMIT ?",
            (expression, limit),
        ).fetchall()
        return [(int(rowid), -float(score)) for rowid, score in rows]

    def keyword_chunk_count(self, term: str) -> int:
        """How many chunks hold ``term`` (the keyword index stems it as it stems the text)."""
        expression = fts_match_expression([term])
        if expression is None:
            return 0
        row = self.db.execute(
            "SELECT count(*) FROM chunk_fts WHERE chunk_fts MATCH ?", (expression,)
        ).fetchone()
        return int(row[0])

    def dense_search(
        self, vector: Vectors, limit: int, documents: list[str] | None = None
    ) -> list[tuple[str, float]]:
        """(chunk id, cosine similarity of its best passage) for the nearest chunks."""
        passage_collection, _ = self._collections()
        where = {"document": {"$in": documents}} if documents else None
        # No count() first (10 ms at 150k vectors): chromadb returns what there is.
        result = passage_collection.query(
            query_embeddings=[vector],
            n_results=limit * PASSAGES_FETCHED_PER_CHUNK,
            where=where,
            include=["distances"],
        )
        # Passages come nearest first, so a chunk's first passage is its best and the chunks
        # are already in order of similarity.
        best: dict[str, float] = {}
        for vector_id, distance in zip(result["ids"][0], result["distances"][0], strict=True):
            best.setdefault(chunk_id_of_passage(str(vector_id)), 1.0 - float(distance))
        return list(best.items())[:limit]

    def nearest_entities(self, vector: Vectors, limit: int) -> list[tuple[str, float]]:
        """(entity key, cosine similarity) of the entity names nearest to ``vector``."""
        _, entity_collection = self._collections()
        result = entity_collection.query(
            query_embeddings=[vector],
            n_results=limit,
            include=["metadatas", "distances"],
        )
        return [
            (str(meta["key"]), 1.0 - float(distance))
            for meta, distance in zip(result["metadatas"][0], result["distances"][0], strict=True)
        ]


class LargeDocumentWriter:
    """Writes one document whose chunks arrive in batches, holding none of them in memory.

    Each batch's vectors go to chromadb at once and its rows to a spool file; ``commit``
    then moves the spooled rows into SQLite in one transaction, so readers see the old
    version until the new one is whole, exactly as for small documents. ``abandon`` (on a
    cancel or an unreadable file) deletes the vectors written so far; a crash leaves the
    marker file, and the next open deletes them as orphans.
    """

    def __init__(self, store: IndexStore, path: str) -> None:
        self.store = store
        self.path = path
        self.chunk_ids: list[str] = []
        self.entity_keys: set[str] = set()  # whose name vectors this writer stored
        self.mentioned_keys: set[str] = set()
        # Open across calls, closed by commit() or abandon().
        self._spool = tempfile.TemporaryFile(prefix="hearth-document-")  # noqa: SIM115
        store._begin_write(path)

    @property
    def chunk_count(self) -> int:
        return len(self.chunk_ids)

    def add(
        self,
        chunks: list[PreparedChunk],
        passage_vectors: Vectors,
        entity_vectors: dict[str, Vectors],
    ) -> None:
        passage_collection, entity_collection = self.store._collections()
        ids = [
            passage_vector_id(chunk.chunk_id, number)
            for chunk in chunks
            for number in range(len(chunk.passage_texts()))
        ]
        if ids:
            passage_collection.upsert(
                ids=ids,
                embeddings=passage_vectors,
                metadatas=[
                    {"document": self.path, "chunk": chunk.chunk_id}
                    for chunk in chunks
                    for _ in chunk.passage_texts()
                ],
            )
        if entity_vectors:
            keys = list(entity_vectors)
            entity_collection.upsert(
                ids=[entity_vector_id(k) for k in keys],
                embeddings=np.stack([entity_vectors[k] for k in keys]),
                metadatas=[{"key": k} for k in keys],
            )
            self.entity_keys.update(keys)
        self.chunk_ids += [chunk.chunk_id for chunk in chunks]
        self.mentioned_keys.update(e.key for chunk in chunks for e in chunk.entities)
        for chunk in chunks:
            chunk._passages = None  # recomputed from the text if needed; not worth spooling
        pickle.dump(chunks, self._spool, protocol=pickle.HIGHEST_PROTOCOL)

    def _spooled_batches(self) -> Iterator[list[PreparedChunk]]:
        self._spool.seek(0)
        while True:
            try:
                batch: list[PreparedChunk] = pickle.load(self._spool)  # our own file
            except EOFError:
                return
            yield batch

    def commit(self, document: DocumentWrite) -> None:
        """Store ``document`` (its chunks are the spooled ones) in place of the old version."""
        store = self.store
        try:
            old_chunk_ids, orphan_keys = store._write_document_rows(
                document, self._spooled_batches()
            )
            new_ids = set(self.chunk_ids)
            stale = [c for c in old_chunk_ids if c not in new_ids]
            store._delete_vectors(stale, orphan_keys - store.known_entity_keys(orphan_keys))
            store.no_reindex_needed([self.path])
            store.marker.unlink(missing_ok=True)
        finally:
            self._spool.close()

    def abandon(self) -> None:
        """Undo the vectors written so far; what was stored before stays as it was."""
        try:
            unused = self.entity_keys - self.store.known_entity_keys(self.entity_keys)
            self.store._delete_vectors(self.chunk_ids, unused)
            self.store.marker.unlink(missing_ok=True)
        finally:
            self._spool.close()
