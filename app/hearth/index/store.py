"""The index's storage, one folder in three rooms:

- rows.py: SQLite (documents, chunks, the keyword index, the entity graph), its schema
  through named migrations; queries.py: the reads of it that retrieval makes.
- vectors.py: chromadb, in the folder or on a server, for passage and entity-name vectors
  (embedded by Hearth, never by chromadb; a chunk as a few passages of about 400
  characters, dense search scoring a chunk by its best passage).
- writes.py: writes that keep the two agreeing (the write marker, reconcile, large
  documents written batch by batch).

IndexStore opens them on one folder. It reads no settings: the chromadb server, if any,
is given (Workspace.index_settings).
"""

from __future__ import annotations

import uuid
from pathlib import Path

from hearth.index.embedder import Vectors
from hearth.index.records import (
    ChunkRecord,
    DocumentRecord,
    DocumentWrite,
    PreparedChunk,
    chunk_identity,
)
from hearth.index.rows import IndexRows
from hearth.index.vectors import VectorStore, VectorStoreUnavailable
from hearth.index.writes import IndexWrites, LargeDocumentWriter

# What the rest of Hearth takes from here.
__all__ = [
    "ChunkRecord",
    "DocumentRecord",
    "DocumentWrite",
    "IndexStore",
    "LargeDocumentWriter",
    "PreparedChunk",
    "VectorStoreUnavailable",
    "chunk_identity",
]


class IndexStore:
    """Owner of the index folder. Use from one thread at a time per instance.

    SQLite always stays in the folder. The vectors live there too (chromadb's persistent
    client) or, with a chroma URL, on a chromadb server, in collections named by this
    index's own id, so several Hearths can share one server without touching each other's
    vectors.
    """

    def __init__(self, folder: Path, chroma_url: str = "") -> None:
        """``chroma_url``: a chromadb server for the vectors; "" keeps them in ``folder``."""
        folder.mkdir(parents=True, exist_ok=True)
        self.folder = folder
        self.chroma_url = chroma_url
        self.rows = IndexRows(folder / "index.sqlite3")
        index_id = self.rows.meta("index_id", create=uuid.uuid4().hex) if chroma_url else ""
        self.vectors = VectorStore(folder / "vectors", chroma_url, index_id or "")
        self.writes = IndexWrites(self.rows, self.vectors, folder / "write-in-progress")
        if self.rows.needs_reindex():
            self.writes.drop_for_reindex("the index format changed")
        self.rows.mark_current_format()
        self.writes.reconcile_if_needed()

    @property
    def marker(self) -> Path:
        """The file that says a write is under way (writes.py)."""
        return self.writes.marker

    def close(self) -> None:
        self.rows.close()

    def collection_names(self) -> tuple[str, str]:
        """Where this index's passage and entity-name vectors live."""
        return self.vectors.names

    # -- reads (retrieval asks self.rows and self.vectors itself) ----------------------------
    def document(self, path: str) -> DocumentRecord | None:
        return self.rows.document(path)

    def documents(self) -> list[DocumentRecord]:
        return self.rows.documents()

    def counts(self) -> dict[str, int]:
        return self.rows.counts()

    def chunk_count(self) -> int:
        return self.rows.chunk_count()

    def document_chunks(self, path: str) -> list[tuple[str, str]]:
        """(chunk id, text) of a document in order."""
        return self.rows.document_chunks(path)

    def next_chunk(self, chunk: ChunkRecord) -> ChunkRecord | None:
        """The chunk after ``chunk`` in its document (None after the last)."""
        rowid = self.rows.chunk_rowid_at(chunk.document_id, chunk.ordinal + 1)
        return self.rows.chunks_by_rowid([rowid]).get(rowid) if rowid is not None else None

    def key_entities(self, path: str, kinds: tuple[str, ...], limit: int) -> list[str]:
        """The document's most telling entities: mentions here times rarity elsewhere."""
        return self.rows.key_entities(path, kinds, limit)

    def documents_to_reindex(self) -> list[str]:
        """Paths taken out of the index by a format change or an interrupted write, and
        documents an older reader read (kept as they are until read again)."""
        taken_out = self.rows.documents_to_reindex()
        read_before = [d.path for d in self.rows.documents() if d.read_by_an_older_reader]
        return sorted(set(taken_out) | set(read_before))

    def dense_search(
        self, vector: Vectors, limit: int, documents: list[str] | None = None
    ) -> list[tuple[str, float]]:
        """(chunk id, cosine similarity of its best passage) for the nearest chunks."""
        return self.vectors.dense_search(vector, limit, documents)

    # -- writes ------------------------------------------------------------------------------
    def write_documents(
        self, documents: list[DocumentWrite], entity_vectors: dict[str, Vectors]
    ) -> None:
        """Replace what was stored for each document's path with this version."""
        self.writes.write_documents(documents, entity_vectors)

    def large_document_writer(self, path: str) -> LargeDocumentWriter:
        """A writer for one document too large to hold whole (see LargeDocumentWriter)."""
        return LargeDocumentWriter(self.writes, path)

    def remove_document(self, path: str) -> bool:
        return self.writes.remove_document(path)

    def consistency(self) -> dict[str, int]:
        """How far chromadb and SQLite disagree (all zero in a consistent index)."""
        return self.writes.consistency()

    def reconcile(self) -> dict[str, int]:
        """Make chromadb agree with SQLite after an interrupted write."""
        return self.writes.reconcile()
