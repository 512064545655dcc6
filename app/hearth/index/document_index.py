"""DocumentIndex: the one object the CLI, the assistant and the GUI use for documents.

It owns the index folder's store and the embedder, and offers indexing, removal,
listing and search. Nothing heavy happens at construction beyond opening SQLite (and a
reconcile if the last write was interrupted); the embedder and chromadb load on first use.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from hearth.documents.document import MB
from hearth.index.embedder import Embedder, Vectors
from hearth.index.indexer import Indexer, IndexReport
from hearth.index.query_plan import QueryPlan
from hearth.index.retrieve import Retriever, SearchHit
from hearth.index.store import ChunkRecord, DocumentRecord, IndexStore
from hearth.jobs import CancelCheck, ProgressCallback
from hearth.paths import hearth_paths
from hearth.settings import Settings


@dataclass(frozen=True)
class IndexSettings:
    """What the index takes from the user's settings. The index reads no settings file and
    no environment: these come in from outside (Workspace.index_settings)."""

    # A chromadb server for the vectors (http://host:port); "" keeps them in the folder.
    chroma_url: str = ""
    # Files larger than this are skipped (each format also has its own ceiling).
    max_file_mb: int = Settings.max_file_mb


class DocumentIndex:
    def __init__(
        self,
        folder: Path | None = None,
        embedder: Embedder | None = None,
        settings: IndexSettings | None = None,
    ) -> None:
        settings = settings or IndexSettings()
        self.store = IndexStore(folder or hearth_paths().index, settings.chroma_url)
        self.embedder = embedder or Embedder()
        self.indexer = Indexer(self.store, self.embedder, settings.max_file_mb * MB)
        self.retriever = Retriever(self.store, self.embedder)

    def index_paths(
        self,
        paths: Iterable[Path],
        progress: ProgressCallback | None = None,
        should_cancel: CancelCheck | None = None,
        folders: Iterable[Path] | None = None,
        reread: bool = False,
    ) -> IndexReport:
        return self.indexer.index_paths(paths, progress, should_cancel, folders, reread)

    def search(
        self,
        query: str,
        k: int = 5,
        documents: list[str] | None = None,
        plan: QueryPlan | None = None,
    ) -> list[SearchHit]:
        """The best ``k`` chunks (model-free; a question step's ``plan`` refines it)."""
        return self.retriever.search(query, k, documents, plan)

    def documents(self) -> list[DocumentRecord]:
        return self.store.documents()

    def document(self, path: str) -> DocumentRecord | None:
        return self.store.document(path)

    def document_chunks(self, path: str) -> list[tuple[str, str]]:
        """(chunk id, text) of a document, in reading order."""
        return self.store.document_chunks(path)

    def next_chunk(self, chunk: ChunkRecord) -> ChunkRecord | None:
        """The chunk after ``chunk`` in its document (None after the last)."""
        return self.store.next_chunk(chunk)

    def key_entities(self, path: str, kinds: tuple[str, ...], limit: int) -> list[str]:
        """The document's most telling entities: mentions there times rarity elsewhere."""
        return self.store.key_entities(path, kinds, limit)

    def best_match(self, vector: Vectors) -> float:
        """Cosine similarity of the passage nearest an embedded query (0 for an empty index)."""
        nearest = self.store.dense_search(vector, 1)
        return nearest[0][1] if nearest else 0.0

    def documents_to_reindex(self) -> list[str]:
        """Paths an interrupted write or an index format change took out of the index, and
        documents an older reader read."""
        return self.store.documents_to_reindex()

    def remove(self, path: Path | str) -> bool:
        return self.store.remove_document(str(Path(path).expanduser().absolute()))

    def __enter__(self) -> DocumentIndex:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        self.store.close()
