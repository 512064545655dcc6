"""Writes that keep the vectors (vectors.py) and the rows (rows.py) agreeing.

Vectors go first, then each document's rows in its own transaction, then the vectors no
row refers to any more are deleted; a marker file brackets the span in which the two may
disagree. A marker left by a crash is reconciled at the next open, one left by a write
that failed in this process (a chromadb server gone) before the next write: orphan vectors
deleted, documents without vectors taken out and listed in ``reindex_wanted``, which the
app indexes again from their files.

A document too large to hold whole is written by a LargeDocumentWriter: its batches'
vectors at once, its rows spooled and then written in one transaction, through the same
calls as any other write.
"""

from __future__ import annotations

import logging
import pickle
import tempfile
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path

from hearth.index.embedder import Vectors
from hearth.index.records import DocumentWrite, PreparedChunk
from hearth.index.rows import IndexRows
from hearth.index.vectors import VectorStore, chunk_id_of_passage, entity_vector_id

log = logging.getLogger(__name__)

# (document path, its chunks, their passages' vectors in order)
PassageBatch = tuple[str, list[PreparedChunk], Vectors]
# (the document, its chunks in batches, the ids of all its chunks)
RowsToWrite = tuple[DocumentWrite, Iterable[list[PreparedChunk]], set[str]]


class IndexWrites:
    def __init__(self, rows: IndexRows, vectors: VectorStore, marker: Path) -> None:
        self.rows = rows
        self.vectors = vectors
        self.marker = marker

    # -- the steps of a write ------------------------------------------------------------------
    def begin(self, what: str) -> None:
        """Write the marker for a write about to start (``what``: its documents). A marker
        still there is a write in this process that failed part-way: it is reconciled
        first, so its stray vectors never linger."""
        self.vectors.open()  # a server that does not answer fails the write before it starts
        if self.marker.exists():
            self.reconcile()
        self.marker.write_text(what, encoding="utf-8")

    def store_vectors(
        self, passages: Sequence[PassageBatch], entity_vectors: dict[str, Vectors]
    ) -> None:
        """The passages' vectors, and the name vectors of these entity keys."""
        self.vectors.upsert_passages(passages)
        self.vectors.upsert_entity_names(entity_vectors)

    def store_rows(self, documents: Sequence[RowsToWrite]) -> None:
        """Each document's rows in place of its old version's, one transaction each; then
        the vectors no row refers to any more are deleted and the write ends."""
        stale_chunk_ids: list[str] = []
        maybe_orphaned: set[str] = set()
        for document, batches, chunk_ids in documents:
            old_chunk_ids, orphan_keys = self.rows.write_document(document, batches)
            stale_chunk_ids += [c for c in old_chunk_ids if c not in chunk_ids]
            maybe_orphaned |= orphan_keys
        # A key orphaned by one document may have been stored again by a later one.
        orphaned = maybe_orphaned - self.rows.known_entity_keys(maybe_orphaned)
        self.vectors.delete(stale_chunk_ids, orphaned)
        self.rows.no_reindex_needed([document.path for document, _, _ in documents])
        self.marker.unlink(missing_ok=True)

    def abandon(self, chunk_ids: list[str], entity_keys: set[str]) -> None:
        """Delete the vectors a write stored before it stopped (these chunks', and the names
        of these entities that no row mentions) and end it; what was stored before stays."""
        unused = entity_keys - self.rows.known_entity_keys(entity_keys)
        self.vectors.delete(chunk_ids, unused)
        self.marker.unlink(missing_ok=True)

    # -- writes --------------------------------------------------------------------------------
    def write_documents(
        self, documents: list[DocumentWrite], entity_vectors: dict[str, Vectors]
    ) -> None:
        """Replace what was stored for each document's path with this version: the whole
        batch's vectors in one call, then each document's rows (a reader sees it whole or
        not at all)."""
        self.begin("\n".join(d.path for d in documents))
        self.store_vectors(
            [(d.path, d.chunks, d.passage_vectors) for d in documents], entity_vectors
        )
        self.store_rows([(d, [d.chunks], {c.chunk_id for c in d.chunks}) for d in documents])

    def remove_document(self, path: str) -> bool:
        if self.rows.document(path) is None:
            return False
        self.begin(path)
        old_chunk_ids, orphan_keys = self.rows.remove_document(path)
        self.vectors.delete(old_chunk_ids, orphan_keys)
        self.marker.unlink(missing_ok=True)
        return True

    def take_out_for_reindex(self, paths: list[str], reason: str) -> None:
        """Delete these documents' rows and vectors and list them for indexing again."""
        chunk_ids, orphan_keys = self.rows.take_out_for_reindex(paths, reason)
        self.vectors.delete(chunk_ids, orphan_keys)

    def drop_for_reindex(self, reason: str) -> None:
        """Take every document out of the index and list it for indexing again from its file
        (after a format change); its rows and vectors go, the list keeps its path."""
        paths = [document.path for document in self.rows.documents()]
        log.info("%s: %d documents will be indexed again", reason, len(paths))
        self.take_out_for_reindex(paths, reason)
        # Version 1's vectors live in a collection this version never reads.
        self.vectors.drop_collection("chunks")

    # -- consistency ---------------------------------------------------------------------------
    def reconcile_if_needed(self) -> None:
        """Reconcile after an interrupted write (the marker), or when the vectors are now
        kept somewhere other than where this index wrote them (the folder, a chromadb
        server): every document without vectors there is listed for indexing again. An
        index that never used a server is left as it always was."""
        home = self.vectors.url or "folder"
        written = self.rows.meta("vectors")
        moved = (written or "folder") != home and (
            written is not None or self.rows.chunk_count() > 0
        )
        if self.marker.exists() or moved:
            self.reconcile()
        if written != home and (self.vectors.url or written is not None):
            self.rows.set_meta("vectors", home)

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
            self.take_out_for_reindex(paths, "indexing was interrupted")
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


class LargeDocumentWriter:
    """Writes one document whose chunks arrive in batches, holding none of them in memory.

    Each batch's vectors go to chromadb at once and its rows to a spool file; ``commit``
    then moves the spooled rows into SQLite in one transaction, so readers see the old
    version until the new one is whole, exactly as for small documents. ``abandon`` (on a
    cancel or an unreadable file) deletes the vectors written so far; a crash leaves the
    marker file, and the next open deletes them as orphans.
    """

    def __init__(self, writes: IndexWrites, path: str) -> None:
        self.writes = writes
        self.path = path
        self.chunk_ids: list[str] = []
        self.entity_keys: set[str] = set()  # whose name vectors this writer stored
        self.mentioned_keys: set[str] = set()
        # Open across calls, closed by commit() or abandon().
        self._spool = tempfile.TemporaryFile(prefix="hearth-document-")  # noqa: SIM115
        writes.begin(path)

    @property
    def chunk_count(self) -> int:
        return len(self.chunk_ids)

    def add(
        self,
        chunks: list[PreparedChunk],
        passage_vectors: Vectors,
        entity_vectors: dict[str, Vectors],
    ) -> None:
        self.writes.store_vectors([(self.path, chunks, passage_vectors)], entity_vectors)
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
        try:
            self.writes.store_rows([(document, self._spooled_batches(), set(self.chunk_ids))])
        finally:
            self._spool.close()

    def abandon(self) -> None:
        """Undo the vectors written so far; what was stored before stays as it was."""
        try:
            self.writes.abandon(self.chunk_ids, self.entity_keys)
        finally:
            self._spool.close()
