"""The index's vectors in chromadb, embedded by Hearth (never by chromadb): a chunk's
passages (id "<chunk id>:<n>", with its document and chunk) and entity names (id a hash of
the key, with the key). They live in the index folder (chromadb's persistent client) or on
a chromadb server, in collections named by the index's own id, so several Hearths share
one server without touching each other's vectors.

Every call Hearth makes is a method here. On a server each is tried again while the server
does not answer, for up to CHROMA_RETRY_SECONDS (a restart takes a few), then raises
VectorStoreUnavailable; Hearth's writes are upserts and deletes by id, so repeating one is
harmless.
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Callable, Iterable, Sequence
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar
from urllib.parse import urlsplit

import numpy as np

from hearth.errors import HearthError
from hearth.index.embedder import Vectors
from hearth.index.records import PreparedChunk

if TYPE_CHECKING:
    from chromadb.api import ClientAPI
    from chromadb.api.models.Collection import Collection
    from chromadb.api.types import Metadata, Where
    from chromadb.base_types import InclusionExclusionOperator, LiteralValue

log = logging.getLogger(__name__)

# How long a call waits out a chromadb server that stopped answering (a restart takes a
# few seconds) before it reports it.
CHROMA_RETRY_SECONDS = 30.0
PASSAGES_FETCHED_PER_CHUNK = 4
DELETE_BATCH = 500
T = TypeVar("T")


class VectorStoreUnavailable(HearthError):
    """The chromadb server holding the index's vectors does not answer."""


def passage_vector_id(chunk_id: str, number: int) -> str:
    return f"{chunk_id}:{number}"


def chunk_id_of_passage(vector_id: str) -> str:
    return vector_id.split(":", 1)[0]


def entity_vector_id(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()[:32]


def with_retries(url: str, action: Callable[[], T], what: str) -> T:
    """``action`` against the chromadb server at ``url``, tried again while the server is
    unreachable, for up to CHROMA_RETRY_SECONDS."""
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


def one_of(field: str, values: Iterable[str]) -> Where:
    """The filter "metadata ``field`` is one of ``values``"."""
    among: dict[InclusionExclusionOperator, list[LiteralValue]] = {"$in": [*values]}
    return {field: among}


def retried(url: str, what: str, action: Callable[[], T]) -> T:
    """``action``; against a server (``url``), with_retries."""
    return with_retries(url, action, what) if url else action()


class VectorCollection:
    """One collection, through the calls Hearth makes (on a server, with_retries)."""

    def __init__(self, collection: Collection, url: str) -> None:
        self.collection = collection
        self.url = url

    def _call(self, what: str, action: Callable[[], T]) -> T:
        return retried(self.url, what, action)

    def upsert(self, ids: list[str], vectors: Vectors, metadatas: list[Metadata]) -> None:
        self._call(
            "upsert vectors",
            lambda: self.collection.upsert(ids=ids, embeddings=vectors, metadatas=metadatas),
        )

    def delete(self, ids: list[str]) -> None:
        self._call("delete vectors", lambda: self.collection.delete(ids=ids))

    def delete_where_in(self, field: str, values: list[str]) -> None:
        """Delete the vectors whose metadata ``field`` is one of ``values``."""
        for start in range(0, len(values), DELETE_BATCH):
            where = one_of(field, values[start : start + DELETE_BATCH])
            self._call("delete vectors", partial(self.collection.delete, where=where))

    def ids(self) -> set[str]:
        return set(self._call("get vectors", lambda: self.collection.get(include=[]))["ids"])

    def metadata(self) -> dict[str, Metadata]:
        """Every vector's metadata, by id."""
        result = self._call("get vectors", lambda: self.collection.get(include=["metadatas"]))
        return dict(zip(result["ids"], result["metadatas"] or [], strict=True))

    def count(self) -> int:
        return self._call("count vectors", self.collection.count)

    def nearest(
        self, vector: Vectors, limit: int, where: Where | None = None
    ) -> list[tuple[str, float]]:
        """(id, cosine similarity) of the ``limit`` nearest vectors, nearest first."""
        result = self._call(
            "query vectors",
            lambda: self.collection.query(
                query_embeddings=vector, n_results=limit, where=where, include=["distances"]
            ),
        )
        distances = (result["distances"] or [[]])[0]
        return [
            (str(vector_id), 1.0 - float(distance))
            for vector_id, distance in zip(result["ids"][0], distances, strict=True)
        ]

    def nearest_metadata(self, vector: Vectors, limit: int) -> list[tuple[Metadata, float]]:
        """(metadata, cosine similarity) of the ``limit`` nearest vectors, nearest first."""
        result = self._call(
            "query vectors",
            lambda: self.collection.query(
                query_embeddings=vector, n_results=limit, include=["metadatas", "distances"]
            ),
        )
        metadatas = (result["metadatas"] or [[]])[0]
        distances = (result["distances"] or [[]])[0]
        return [
            (metadata, 1.0 - float(distance))
            for metadata, distance in zip(metadatas, distances, strict=True)
        ]


class VectorStore:
    """This index's passage and entity-name vectors. chromadb is imported, and the
    collections opened, on first use: it is slow to import."""

    def __init__(self, folder: Path, url: str = "", index_id: str = "") -> None:
        """``url``: a chromadb server ("" keeps the vectors in ``folder``), where
        ``index_id`` names this index's collections."""
        self.folder = folder
        self.url = url
        prefix = f"hearth-{index_id}-" if url else ""
        self.names = (f"{prefix}passages", f"{prefix}entities")
        self._client: ClientAPI | None = None
        self._collections: tuple[VectorCollection, VectorCollection] | None = None

    @property
    def client(self) -> ClientAPI:
        if self._client is None:
            import chromadb
            from chromadb.config import Settings as ChromaSettings

            settings = ChromaSettings(anonymized_telemetry=False, allow_reset=False)
            if self.url:
                parts = urlsplit(self.url)
                https = parts.scheme == "https"
                self._client = with_retries(
                    self.url,
                    lambda: chromadb.HttpClient(
                        host=parts.hostname or "127.0.0.1",
                        port=parts.port or (443 if https else 8000),
                        ssl=https,
                        settings=settings,
                    ),
                    "connecting",
                )
            else:
                self._client = chromadb.PersistentClient(path=str(self.folder), settings=settings)
        return self._client

    def _open_collection(self, name: str) -> Collection:
        return self.client.get_or_create_collection(
            name, embedding_function=None, metadata={"hnsw:space": "cosine"}
        )

    def open(self) -> tuple[VectorCollection, VectorCollection]:
        """The passage and entity-name collections, opened (and a server reached) now."""
        if self._collections is None:
            passages, entities = (
                VectorCollection(
                    retried(self.url, "opening", partial(self._open_collection, name)), self.url
                )
                for name in self.names
            )
            self._collections = (passages, entities)
        return self._collections

    @property
    def passages(self) -> VectorCollection:
        return self.open()[0]

    @property
    def entities(self) -> VectorCollection:
        return self.open()[1]

    # -- writes ------------------------------------------------------------------------------
    def upsert_passages(
        self, documents: Sequence[tuple[str, list[PreparedChunk], Vectors]]
    ) -> None:
        """Store the passages of each (document path, chunks, their passage vectors in
        order), all in one call."""
        ids: list[str] = []
        metadatas: list[Metadata] = []
        for path, chunks, _ in documents:
            for chunk in chunks:
                for number in range(len(chunk.passage_texts())):
                    ids.append(passage_vector_id(chunk.chunk_id, number))
                    metadatas.append({"document": path, "chunk": chunk.chunk_id})
        if ids:
            vectors = np.concatenate([vectors for _, chunks, vectors in documents if chunks])
            self.passages.upsert(ids, vectors, metadatas)

    def upsert_entity_names(self, vectors: dict[str, Vectors]) -> None:
        """Store the name vectors of these entity keys."""
        if vectors:
            keys = list(vectors)
            self.entities.upsert(
                [entity_vector_id(k) for k in keys],
                np.stack([vectors[k] for k in keys]),
                [{"key": k} for k in keys],
            )

    def delete(self, chunk_ids: Iterable[str], entity_keys: Iterable[str]) -> None:
        """Delete these chunks' passage vectors and these entities' name vectors."""
        chunk_ids = list(chunk_ids)
        entity_ids = [entity_vector_id(k) for k in entity_keys]
        if chunk_ids:
            self.passages.delete_where_in("chunk", chunk_ids)
        if entity_ids:
            self.entities.delete(entity_ids)

    def drop_collection(self, name: str) -> None:
        """Delete a collection this version never reads (format 1's "chunks"), if present."""
        if name in {c.name for c in self.client.list_collections()}:
            self.client.delete_collection(name)

    # -- searches ----------------------------------------------------------------------------
    def dense_search(
        self, vector: Vectors, limit: int, documents: list[str] | None = None
    ) -> list[tuple[str, float]]:
        """(chunk id, cosine similarity of its best passage) for the nearest chunks."""
        where = one_of("document", documents) if documents else None
        # No count() first (10 ms at 150k vectors): chromadb returns what there is.
        nearest = self.passages.nearest(vector, limit * PASSAGES_FETCHED_PER_CHUNK, where)
        # Passages come nearest first, so a chunk's first passage is its best and the chunks
        # are already in order of similarity.
        best: dict[str, float] = {}
        for vector_id, similarity in nearest:
            best.setdefault(chunk_id_of_passage(vector_id), similarity)
        return list(best.items())[:limit]

    def nearest_entities(self, vector: Vectors, limit: int) -> list[tuple[str, float]]:
        """(entity key, cosine similarity) of the entity names nearest to ``vector``."""
        return [
            (str(metadata["key"]), similarity)
            for metadata, similarity in self.entities.nearest_metadata(vector, limit)
        ]
