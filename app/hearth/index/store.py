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
import pickle
import tempfile
import time
import uuid
from collections.abc import Callable, Iterable, Iterator
from functools import partial
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlsplit

import numpy as np

from hearth.errors import HearthError
from hearth.index.embedder import Vectors
from hearth.index.queries import IN_BATCH
from hearth.index.records import (
    ChunkRecord,
    DocumentRecord,
    DocumentWrite,
    PreparedChunk,
    chunk_identity,
)
from hearth.index.rows import IndexRows

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

PASSAGES_FETCHED_PER_CHUNK = 4


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
        self.rows = IndexRows(folder / "index.sqlite3")
        self._chroma: Any = None
        self._passage_vectors: Any = None
        self._entity_vectors: Any = None
        if self.rows.needs_reindex():
            self._drop_for_reindex("the index format changed")
        self.rows.mark_current_format()
        self._reconcile_if_needed()

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
        prefix = f"hearth-{self.rows.meta('index_id', create=uuid.uuid4().hex)}"
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
            old_chunk_ids, orphan_keys = self.rows.write_document(document, [document.chunks])
            new_ids = {c.chunk_id for c in document.chunks}
            stale_chunk_ids += [c for c in old_chunk_ids if c not in new_ids]
            maybe_orphaned |= orphan_keys
        # A key orphaned by one document may have been stored again by a later one.
        orphaned = maybe_orphaned - self.rows.known_entity_keys(maybe_orphaned)
        self._delete_vectors(stale_chunk_ids, orphaned)
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
        self._delete_vectors(old_chunk_ids, orphan_keys)
        self.marker.unlink(missing_ok=True)
        return True

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
        paths = [document.path for document in self.rows.documents()]
        log.info("%s: %d documents will be indexed again", reason, len(paths))
        self._take_out_for_reindex(paths, reason)
        # Version 1's vectors live in a collection this version never reads.
        client = self._client()
        if "chunks" in {c.name for c in client.list_collections()}:
            client.delete_collection("chunks")

    def _take_out_for_reindex(self, paths: list[str], reason: str) -> None:
        """Delete these documents' rows and vectors and list them for indexing again."""
        chunk_ids, orphan_keys = self.rows.take_out_for_reindex(paths, reason)
        self._delete_vectors(chunk_ids, orphan_keys)

    # -- consistency -----------------------------------------------------------------------
    def _passage_disagreement(self) -> tuple[list[str], set[str]]:
        """Passage vectors of no stored chunk, and stored chunks with no passage vector."""
        passage_collection, _ = self._collections()
        stored_chunks = self.rows.chunk_ids()
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
            # A document can appear in several batches; each is dropped once.
            paths = self.rows.paths_of_chunks(missing)
            # Their passages that did reach chromadb go with them.
            self._take_out_for_reindex(paths, "indexing was interrupted")
            dropped_documents = len(paths)
        stored_entities = {entity_vector_id(key) for key in self.rows.entity_keys()}
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
            store._delete_vectors(stale, orphan_keys - store.rows.known_entity_keys(orphan_keys))
            store.rows.no_reindex_needed([self.path])
            store.marker.unlink(missing_ok=True)
        finally:
            self._spool.close()

    def abandon(self) -> None:
        """Undo the vectors written so far; what was stored before stays as it was."""
        try:
            unused = self.entity_keys - self.store.rows.known_entity_keys(self.entity_keys)
            self.store._delete_vectors(self.chunk_ids, unused)
            self.store.marker.unlink(missing_ok=True)
        finally:
            self._spool.close()
