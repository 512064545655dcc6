"""DocumentIndex: the one object the CLI, the assistant and the GUI use for documents.

It owns the index folder's store and the embedder, and offers indexing, removal,
listing and search. Nothing heavy happens at construction beyond opening SQLite (and a
reconcile if the last write was interrupted); the embedder and chromadb load on first use.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from hearth.index.embedder import Embedder
from hearth.index.indexer import Indexer, IndexReport
from hearth.index.retrieve import Retriever, SearchHit
from hearth.index.store import DocumentRecord, IndexStore
from hearth.jobs import CancelCheck, ProgressCallback
from hearth.paths import hearth_paths


class DocumentIndex:
    def __init__(self, folder: Path | None = None, embedder: Embedder | None = None) -> None:
        self.store = IndexStore(folder or hearth_paths().index)
        self.embedder = embedder or Embedder()
        self.indexer = Indexer(self.store, self.embedder)
        self.retriever = Retriever(self.store, self.embedder)

    def index_paths(
        self,
        paths: Iterable[Path],
        progress: ProgressCallback | None = None,
        should_cancel: CancelCheck | None = None,
    ) -> IndexReport:
        return self.indexer.index_paths(paths, progress, should_cancel)

    def search(self, query: str, k: int = 5, documents: list[str] | None = None) -> list[SearchHit]:
        return self.retriever.search(query, k, documents)

    def documents(self) -> list[DocumentRecord]:
        return self.store.documents()

    def remove(self, path: Path | str) -> bool:
        return self.store.remove_document(str(Path(path).expanduser().absolute()))

    def close(self) -> None:
        self.store.close()
