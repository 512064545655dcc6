"""Indexing files: load, chunk, find entities, embed, store, one document at a time.

Documents are prepared (read, chunked, entities found) one by one, then embedded in
batches that span several documents (small files would otherwise waste the embedder on
tiny batches), then written one document per transaction. Progress is reported as
(done, total, label); a cancel request is honoured between batches and leaves every
finished document stored and no half-written one visible.
"""

from __future__ import annotations

import hashlib
import logging
import os
import time
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from itertools import combinations
from pathlib import Path

import numpy as np

from hearth.documents.chunking import chunk_document
from hearth.documents.loaders import UnsupportedDocument, load_document
from hearth.index.embedder import EMBEDDING_DIMENSIONS, Embedder
from hearth.index.entities import DATE, NAME, TITLE, Entity, extract_entities
from hearth.index.store import DocumentWrite, IndexStore, PreparedChunk, chunk_identity
from hearth.jobs import CancelCheck, ProgressCallback, check_cancelled
from hearth.paths import hearth_paths

log = logging.getLogger(__name__)

EMBED_BATCH_CHUNKS = 128
# Co-occurrence edges join the most mentioned graph entities of a chunk; capping them keeps
# the edge table linear in the number of chunks.
EDGE_ENTITIES_PER_CHUNK = 10
EDGE_KINDS = frozenset({NAME, DATE, TITLE})
EMBEDDED_ENTITY_KINDS = frozenset({NAME, TITLE})
SKIPPED_DIRECTORIES = frozenset({".git", ".hg", ".svn", "__pycache__", "node_modules", ".venv"})


@dataclass
class Skipped:
    path: str
    reason: str


@dataclass
class IndexReport:
    indexed: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)
    chunks: int = 0
    entities: int = 0
    seconds: float = 0.0

    def to_json(self) -> dict[str, object]:
        return {
            "indexed": self.indexed,
            "unchanged": self.unchanged,
            "skipped": [{"path": s.path, "reason": s.reason} for s in self.skipped],
            "chunks": self.chunks,
            "entities": self.entities,
            "seconds": round(self.seconds, 3),
        }


def discover_files(paths: Iterable[Path], skipped: list[Skipped]) -> list[Path]:
    """Files named directly plus every file under named folders (symlinked folders not
    followed, so a link loop cannot recurse forever)."""
    found: list[Path] = []
    seen: set[str] = set()
    own = hearth_paths()
    # Hearth's own folders (its index, logs, models) are never documents.
    own_folders = [str(folder) for folder in (own.data, own.config, own.cache)]

    def add(path: Path) -> None:
        key = str(path)
        if key not in seen:
            seen.add(key)
            found.append(path)

    for given in paths:
        path = Path(os.path.abspath(given.expanduser()))
        if path.is_dir():
            for root, directories, files in os.walk(path, onerror=None):
                directories[:] = sorted(
                    d
                    for d in directories
                    if d not in SKIPPED_DIRECTORIES
                    and not d.startswith(".")
                    and os.path.join(root, d) not in own_folders
                )
                for name in sorted(files):
                    if not name.startswith("."):
                        add(Path(root) / name)
        elif path.exists():
            add(path)
        else:
            skipped.append(Skipped(str(path), "no such file or folder"))
    return found


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def chunk_context(title: str, path: Path, heading: str | None) -> str:
    """A line that says where a chunk comes from: file name, title, heading. Indexed with
    every chunk, so a chunk deep in a document still carries the document's name and any
    date in it (a file called 2026-01-06 minutes.md, say)."""
    parts = [path.stem]
    for part in (title, heading):
        if part and part not in parts:
            parts.append(part)
    return " · ".join(parts)


def cooccurrence_edges(chunks: list[PreparedChunk]) -> dict[tuple[str, str], float]:
    edges: Counter[tuple[str, str]] = Counter()
    for chunk in chunks:
        linked = sorted(
            (e for e in chunk.entities if e.kind in EDGE_KINDS),
            key=lambda e: (-chunk.entities[e], e.key),
        )[:EDGE_ENTITIES_PER_CHUNK]
        for a, b in combinations(sorted(e.key for e in linked), 2):
            edges[(a, b)] += 1
            edges[(b, a)] += 1
    return {pair: float(weight) for pair, weight in edges.items()}


class Indexer:
    def __init__(self, store: IndexStore, embedder: Embedder) -> None:
        self.store = store
        self.embedder = embedder

    def index_paths(
        self,
        paths: Iterable[Path],
        progress: ProgressCallback | None = None,
        should_cancel: CancelCheck | None = None,
    ) -> IndexReport:
        started = time.perf_counter()
        report = IndexReport()
        files = discover_files(paths, report.skipped)
        total = len(files)
        pending: list[DocumentWrite] = []
        pending_chunks = 0

        def check_cancel() -> None:
            check_cancelled(should_cancel, "indexing")

        def flush() -> None:
            nonlocal pending, pending_chunks
            check_cancel()
            self._embed_and_write(pending, report)
            pending, pending_chunks = [], 0

        for done, path in enumerate(files, start=1):
            check_cancel()
            if progress:
                progress(done - 1, total, path.name)
            prepared = self._prepare(path, report)
            if prepared is not None:
                pending.append(prepared)
                pending_chunks += len(prepared.chunks)
                if pending_chunks >= EMBED_BATCH_CHUNKS:
                    flush()
        if pending:
            flush()
        if progress:
            progress(total, total, "done")
        # A listed document that cannot be read now has its reason in the report; asking
        # again at every start would only repeat it.
        self.store.no_reindex_needed(s.path for s in report.skipped)
        report.seconds = time.perf_counter() - started
        return report

    def _prepare(self, path: Path, report: IndexReport) -> DocumentWrite | None:
        """Read, chunk and find entities; the vectors come later, batched."""
        key = str(path)
        try:
            content_hash = file_sha256(path)
            size = path.stat().st_size
        except OSError as error:
            report.skipped.append(Skipped(key, f"cannot read it ({error.strerror or error})"))
            return None
        existing = self.store.document(key)
        if existing is not None and existing.content_hash == content_hash:
            report.unchanged.append(key)
            return None
        try:
            document = load_document(path)
        except UnsupportedDocument as error:
            report.skipped.append(Skipped(key, error.reason))
            log.info("skipped %s", error)
            return None
        except Exception as error:  # a loader bug must not stop the rest of the folder
            log.exception("unexpected error reading %s", path)
            report.skipped.append(Skipped(key, f"unexpected error while reading ({error})"))
            return None
        chunks = []
        previous_end = -1
        for chunk in chunk_document(document):
            context = chunk_context(document.title, path, chunk.heading)
            # The overlap with the chunk before was embedded there already.
            overlap = max(0, min(previous_end - chunk.start, len(chunk.text)))
            previous_end = chunk.end
            chunks.append(
                PreparedChunk(
                    chunk_id=chunk_identity(key, content_hash, chunk.ordinal),
                    ordinal=chunk.ordinal,
                    page=chunk.page,
                    heading=chunk.heading,
                    start=chunk.start,
                    end=chunk.end,
                    text=chunk.text,
                    entities=dict(extract_entities(f"{context}\n{chunk.text}")),
                    context=context,
                    embedded_from=overlap,
                )
            )
        return DocumentWrite(
            path=key,
            content_hash=content_hash,
            kind=document.kind,
            title=document.title,
            page_count=document.page_count,
            size_bytes=size,
            chunks=chunks,
            passage_vectors=np.zeros((0, EMBEDDING_DIMENSIONS), dtype=np.float32),
            edges=cooccurrence_edges(chunks),
        )

    def _embed_and_write(self, documents: list[DocumentWrite], report: IndexReport) -> None:
        passages_per_document = [
            [text for chunk in document.chunks for text in chunk.passage_texts()]
            for document in documents
        ]
        vectors = self.embedder.embed([text for texts in passages_per_document for text in texts])
        entities: dict[str, Entity] = {
            e.key: e for document in documents for chunk in document.chunks for e in chunk.entities
        }
        # Names and titles are matched by meaning too; dates, times and quantities only by
        # their normalised key, so embedding them would cost time and add nothing.
        embeddable = [key for key, e in entities.items() if e.kind in EMBEDDED_ENTITY_KINDS]
        known = self.store.known_entity_keys(embeddable)
        new_keys = [key for key in embeddable if key not in known]
        new_vectors = self.embedder.embed([entities[key].name for key in new_keys])
        offset = 0
        for document, texts in zip(documents, passages_per_document, strict=True):
            document.passage_vectors = vectors[offset : offset + len(texts)]
            offset += len(texts)
        self.store.write_documents(documents, dict(zip(new_keys, new_vectors, strict=True)))
        for document in documents:
            report.indexed.append(document.path)
            report.chunks += len(document.chunks)
            report.entities += len({e.key for chunk in document.chunks for e in chunk.entities})
