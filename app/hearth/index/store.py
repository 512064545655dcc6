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

import logging
import pickle
import tempfile
import uuid
from collections.abc import Iterator
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
from hearth.index.vectors import (
    VectorStore,
    VectorStoreUnavailable,
    chunk_id_of_passage,
    entity_vector_id,
)

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

log = logging.getLogger(__name__)

CHROMA_URL_VARIABLE = "HEARTH_CHROMA_URL"


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
        self.rows = IndexRows(folder / "index.sqlite3")
        # On a server, this index's collections are named by its own id.
        index_id = self.rows.meta("index_id", create=uuid.uuid4().hex) if self.chroma_url else ""
        self.vectors = VectorStore(folder / "vectors", self.chroma_url, index_id or "")
        if self.rows.needs_reindex():
            self._drop_for_reindex("the index format changed")
        self.rows.mark_current_format()
        self._reconcile_if_needed()

    def _reconcile_if_needed(self) -> None:
        """Reconcile after an interrupted write (the marker), or when the vectors are now
        kept somewhere other than where this index wrote them (the folder, a chromadb
        server): every document without vectors there is listed for indexing again. An
        index that never used a server is left as it always was."""
        home = self.chroma_url or "folder"
        written = self.rows.meta("vectors")
        moved = (written or "folder") != home and (
            written is not None or self.rows.chunk_count() > 0
        )
        if self.marker.exists() or moved:
            self.reconcile()
        if written != home and (self.chroma_url or written is not None):
            self.rows.set_meta("vectors", home)

    def collection_names(self) -> tuple[str, str]:
        """Where this index's passage and entity-name vectors live."""
        return self.vectors.names

    def _begin_write(self, what: str) -> None:
        """The marker written for a write about to start. A marker still there is a write in
        this process that failed part-way (a chromadb server that went away): it is
        reconciled first, so its stray vectors never linger."""
        self.vectors.passages  # noqa: B018 (opens chromadb before the marker is written)
        if self.marker.exists():
            self.reconcile()
        self.marker.write_text(what, encoding="utf-8")

    def close(self) -> None:
        self.rows.close()

    # -- reads callers outside the index make (retrieval reads self.rows itself) -------------
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

    def key_entities(self, path: str, kinds: tuple[str, ...], limit: int) -> list[str]:
        """The document's most telling entities: mentions here times rarity elsewhere."""
        return self.rows.key_entities(path, kinds, limit)

    def documents_to_reindex(self) -> list[str]:
        """Paths taken out of the index by a format change or an interrupted write."""
        return self.rows.documents_to_reindex()

    def write_documents(
        self, documents: list[DocumentWrite], entity_vectors: dict[str, Vectors]
    ) -> None:
        """Replace what was stored for each document's path with this version.

        Vectors for the whole batch go to chromadb in one call first; then each document
        is written in its own SQLite transaction (a reader sees it whole or not at all);
        then vectors nothing refers to any more are deleted. The marker file covers the
        span in which chromadb and SQLite may disagree.
        """
        self._begin_write("\n".join(d.path for d in documents))
        self.vectors.upsert_passages([(d.path, d.chunks, d.passage_vectors) for d in documents])
        self.vectors.upsert_entity_names(entity_vectors)
        stale_chunk_ids: list[str] = []
        maybe_orphaned: set[str] = set()
        for document in documents:
            old_chunk_ids, orphan_keys = self.rows.write_document(document, [document.chunks])
            new_ids = {c.chunk_id for c in document.chunks}
            stale_chunk_ids += [c for c in old_chunk_ids if c not in new_ids]
            maybe_orphaned |= orphan_keys
        # A key orphaned by one document may have been stored again by a later one.
        orphaned = maybe_orphaned - self.rows.known_entity_keys(maybe_orphaned)
        self.vectors.delete(stale_chunk_ids, orphaned)
        self.rows.no_reindex_needed([d.path for d in documents])
        self.marker.unlink(missing_ok=True)

    def large_document_writer(self, path: str) -> LargeDocumentWriter:
        """A writer for one document too large to hold whole (see LargeDocumentWriter)."""
        return LargeDocumentWriter(self, path)

    def remove_document(self, path: str) -> bool:
        if self.rows.document(path) is None:
            return False
        self._begin_write(path)
        old_chunk_ids, orphan_keys = self.rows.remove_document(path)
        self.vectors.delete(old_chunk_ids, orphan_keys)
        self.marker.unlink(missing_ok=True)
        return True

    # -- documents to index again ----------------------------------------------------------
    def _drop_for_reindex(self, reason: str) -> None:
        """Take every document out of the index and list it for indexing again from its file
        (after a format change); its rows and vectors go, the list keeps its path."""
        paths = [document.path for document in self.rows.documents()]
        log.info("%s: %d documents will be indexed again", reason, len(paths))
        self._take_out_for_reindex(paths, reason)
        # Version 1's vectors live in a collection this version never reads.
        self.vectors.drop_collection("chunks")

    def _take_out_for_reindex(self, paths: list[str], reason: str) -> None:
        """Delete these documents' rows and vectors and list them for indexing again."""
        chunk_ids, orphan_keys = self.rows.take_out_for_reindex(paths, reason)
        self.vectors.delete(chunk_ids, orphan_keys)

    # -- consistency -----------------------------------------------------------------------
    def _passage_disagreement(self) -> tuple[list[str], set[str]]:
        """Passage vectors of no stored chunk, and stored chunks with no passage vector."""
        stored_chunks = self.rows.chunk_ids()
        vector_ids = self.vectors.passages.ids()
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
        orphan_vectors, missing = self._passage_disagreement()
        dropped_documents = 0
        if missing:
            # A document can appear in several batches; each is dropped once.
            paths = self.rows.paths_of_chunks(missing)
            # Their passages that did reach chromadb go with them.
            self._take_out_for_reindex(paths, "indexing was interrupted")
            dropped_documents = len(paths)
        stored_entities = {entity_vector_id(key) for key in self.rows.entity_keys()}
        orphan_entities = sorted(self.vectors.entities.ids() - stored_entities)
        if orphan_vectors:
            self.vectors.passages.delete(orphan_vectors)
        if orphan_entities:
            self.vectors.entities.delete(orphan_entities)
        self.marker.unlink(missing_ok=True)
        report = {
            "orphan_passage_vectors": len(orphan_vectors),
            "orphan_entity_vectors": len(orphan_entities),
            "documents_dropped": dropped_documents,
        }
        log.info("index reconciled after an interrupted write: %s", report)
        return report

    def dense_search(
        self, vector: Vectors, limit: int, documents: list[str] | None = None
    ) -> list[tuple[str, float]]:
        """(chunk id, cosine similarity of its best passage) for the nearest chunks."""
        return self.vectors.dense_search(vector, limit, documents)


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
        self.store.vectors.upsert_passages([(self.path, chunks, passage_vectors)])
        self.store.vectors.upsert_entity_names(entity_vectors)
        self.entity_keys.update(entity_vectors)
        self.chunk_ids += [chunk.chunk_id for chunk in chunks]
        self.mentioned_keys.update(e.key for chunk in chunks for e in chunk.entities)
        for chunk in chunks:
            chunk.forget_passages()
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
            old_chunk_ids, orphan_keys = store.rows.write_document(
                document, self._spooled_batches()
            )
            new_ids = set(self.chunk_ids)
            stale = [c for c in old_chunk_ids if c not in new_ids]
            store.vectors.delete(stale, orphan_keys - store.rows.known_entity_keys(orphan_keys))
            store.rows.no_reindex_needed([self.path])
            store.marker.unlink(missing_ok=True)
        finally:
            self._spool.close()

    def abandon(self) -> None:
        """Undo the vectors written so far; what was stored before stays as it was."""
        try:
            unused = self.entity_keys - self.store.rows.known_entity_keys(self.entity_keys)
            self.store.vectors.delete(self.chunk_ids, unused)
            self.store.marker.unlink(missing_ok=True)
        finally:
            self._spool.close()
