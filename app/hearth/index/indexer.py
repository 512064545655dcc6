"""Indexing files: load, chunk, find entities, embed, store, one document at a time.

Documents are prepared (read, chunked, entities found) one by one, then embedded in
batches that span several documents (small files would otherwise waste the embedder on
tiny batches), then written one document per transaction. A document with more chunks
than LARGE_DOCUMENT_CHUNKS (a 500-page PDF, a 50 MB sheet) is embedded and written batch
by batch as it is read, so memory stays bounded, and still becomes visible in one
transaction. Progress is reported as (done, total, label), with the reader's own labels
("OCR page 4 of 31 (scan.pdf)") while a file is read; a cancel request is honoured between
pages and batches and leaves every finished document stored and no half-written one visible.
"""

from __future__ import annotations

import logging
import os
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from itertools import chain, combinations, islice
from pathlib import Path

import numpy as np

from hearth.documents.chunking import chunk_sections
from hearth.documents.document import DocumentStream, one_line
from hearth.documents.loaders import UnsupportedDocument, open_document, reader_version
from hearth.documents.safe_files import document_key, file_sha256, reading_refusal, shown_name
from hearth.index.embedder import EMBEDDING_DIMENSIONS, Embedder, Vectors
from hearth.index.entities import DATE, NAME, TITLE, Entity, extract_entities
from hearth.index.records import DocumentWrite, PreparedChunk, chunk_identity
from hearth.index.store import IndexStore
from hearth.jobs import CancelCheck, JobCancelled, ProgressCallback, check_cancelled
from hearth.paths import hearth_paths

log = logging.getLogger(__name__)

EMBED_BATCH_CHUNKS = 128
# Documents with more chunks than this are written batch by batch as they are read.
LARGE_DOCUMENT_CHUNKS = 512
# Co-occurrence edges join the most mentioned graph entities of a chunk; capping them keeps
# the edge table linear in the number of chunks.
EDGE_ENTITIES_PER_CHUNK = 10
EDGE_KINDS = frozenset({NAME, DATE, TITLE})
EMBEDDED_ENTITY_KINDS = frozenset({NAME, TITLE})
NO_SUCH_PATH = "no such file or folder"
SKIPPED_DIRECTORIES = frozenset({".git", ".hg", ".svn", "__pycache__", "node_modules", ".venv"})


@dataclass
class Skipped:
    path: str
    reason: str

    def __post_init__(self) -> None:
        self.reason = one_line(self.reason)  # a library's error can span lines


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


def batched(items: Iterable[PreparedChunk], size: int) -> Iterator[list[PreparedChunk]]:
    iterator = iter(items)
    while batch := list(islice(iterator, size)):
        yield batch


def given_folders(paths: Iterable[Path]) -> list[Path]:
    """The folders a run may read from: each folder named, and the folder of each file named
    (so a link beside a named file may point only into that file's folder)."""
    folders = []
    for given in paths:
        path = Path(os.path.abspath(given.expanduser()))
        folders.append(path if path.is_dir() else path.parent)
    return folders


def discover_files(
    paths: Iterable[Path], skipped: list[Skipped], folders: Iterable[Path] | None = None
) -> list[Path]:
    """Files named directly plus every file under named folders (symlinked folders not
    followed, so a link loop cannot recurse forever). Only regular files, and links to files
    inside ``folders`` (by default the folders given here), are listed; the rest are skipped
    with their reason, never opened."""
    paths = list(paths)
    allowed = list(folders) if folders is not None else given_folders(paths)
    found: list[Path] = []
    seen: set[str] = set()
    own = hearth_paths()
    # Hearth's own folders (its index, logs, models) are never documents.
    own_folders = [str(folder) for folder in (own.data, own.config, own.cache)]

    def add(path: Path) -> None:
        key = document_key(path)
        if key in seen:
            return
        seen.add(key)
        refusal = reading_refusal(path, allowed)
        if refusal is None:
            found.append(path)
        else:
            skipped.append(Skipped(key, refusal))

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
        elif path.exists() or path.is_symlink():
            add(path)
        else:
            skipped.append(Skipped(document_key(path), NO_SUCH_PATH))
    return found


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
    def __init__(
        self, store: IndexStore, embedder: Embedder, max_file_bytes: int | None = None
    ) -> None:
        """``max_file_bytes``: the user's size limit (None: each format's own only)."""
        self.store = store
        self.embedder = embedder
        self.max_file_bytes = max_file_bytes

    def index_paths(
        self,
        paths: Iterable[Path],
        progress: ProgressCallback | None = None,
        should_cancel: CancelCheck | None = None,
        folders: Iterable[Path] | None = None,
        reread: bool = False,
    ) -> IndexReport:
        """Index ``paths`` (files and folders). ``folders``: where links may point (by
        default the folders given and those of the files given; a watcher gives its roots).
        ``reread``: read the files again even where unchanged (the window's Re-index)."""
        started = time.perf_counter()
        report = IndexReport()
        paths = list(paths)
        allowed = list(folders) if folders is not None else given_folders(paths)
        files = discover_files(paths, report.skipped, allowed)
        total = len(files)
        pending: list[DocumentWrite] = []
        pending_chunks = 0

        def check_cancel() -> None:
            check_cancelled(should_cancel, "indexing")

        def flush() -> None:
            nonlocal pending, pending_chunks
            check_cancel()
            if pending:
                self._embed_and_write(pending, report)
            pending, pending_chunks = [], 0

        for done, path in enumerate(files, start=1):
            check_cancel()
            if progress:
                progress(done - 1, total, path.name)

            def reading(_done: int, _total: int, label: str, done: int = done) -> None:
                check_cancel()  # between pages: a long OCR stops when asked
                if progress:
                    progress(done - 1, total, label)

            prepared = self._prepare(path, report, reading, self.max_file_bytes, allowed, reread)
            if prepared is None:
                continue
            header, chunks = prepared
            with self._reading(path, report):
                head = list(islice(chunks, LARGE_DOCUMENT_CHUNKS + 1))
                if len(head) > LARGE_DOCUMENT_CHUNKS:
                    flush()
                    self._write_large_document(header, chain(head, chunks), report, check_cancel)
                    continue
                header.chunks = head
                header.edges = cooccurrence_edges(head)
                pending.append(header)
                pending_chunks += len(head)
            if pending_chunks >= EMBED_BATCH_CHUNKS:
                flush()
        flush()
        if progress:
            progress(total, total, "done")
        # A listed document that cannot be read now has its reason in the report; asking
        # again at every start would only repeat it.
        self.store.rows.no_reindex_needed(s.path for s in report.skipped)
        report.seconds = time.perf_counter() - started
        return report

    @contextmanager
    def _reading(self, path: Path, report: IndexReport) -> Iterator[None]:
        """A file found unreadable part-way is skipped with its reason; the rest go on."""
        try:
            yield
        except JobCancelled:
            raise
        except UnsupportedDocument as error:
            report.skipped.append(Skipped(document_key(path), error.reason))
            log.info("skipped %s", error)
        except Exception as error:  # a loader bug must not stop the rest of the folder
            log.exception("unexpected error reading %s", path)
            report.skipped.append(
                Skipped(document_key(path), f"unexpected error while reading ({error})")
            )

    def _prepare(
        self,
        path: Path,
        report: IndexReport,
        progress: ProgressCallback,
        max_bytes: int | None,
        folders: list[Path],
        reread: bool = False,
    ) -> tuple[DocumentWrite, Iterator[PreparedChunk]] | None:
        """Start reading a changed file (or one read by an older reader, or any if
        ``reread``): its document row, and its chunks (with entities) as they are read.
        None if it is unchanged or cannot be opened (then it is in the report).
        A file found unreadable part-way shows as UnsupportedDocument from the chunks."""
        key = document_key(path)
        # Looked at again just before reading: the file may have been swapped since listing.
        refusal = reading_refusal(path, folders)
        if refusal is not None:
            report.skipped.append(Skipped(key, refusal))
            return None
        try:
            content_hash = file_sha256(path)
            size = path.stat().st_size
        except OSError as error:
            report.skipped.append(Skipped(key, f"cannot read it ({error.strerror or error})"))
            return None
        existing = self.store.document(key)
        if (
            existing is not None
            and existing.content_hash == content_hash
            and not existing.read_by_an_older_reader
            and not reread
        ):
            report.unchanged.append(key)
            return None
        try:
            document = open_document(path, progress, max_bytes)
        except UnsupportedDocument as error:
            report.skipped.append(Skipped(key, error.reason))
            log.info("skipped %s", error)
            return None
        except Exception as error:  # a loader bug must not stop the rest of the folder
            log.exception("unexpected error reading %s", path)
            report.skipped.append(Skipped(key, f"unexpected error while reading ({error})"))
            return None
        header = DocumentWrite(
            path=key,
            content_hash=content_hash,
            kind=document.kind,
            title=shown_name(document.title),
            page_count=document.page_count,
            size_bytes=size,
            reader_version=reader_version(document.kind),
            chunks=[],
            passage_vectors=np.zeros((0, EMBEDDING_DIMENSIONS), dtype=np.float32),
            edges={},
        )
        return header, self._prepared_chunks(document, key, content_hash)

    def _prepared_chunks(
        self, document: DocumentStream, key: str, content_hash: str
    ) -> Iterator[PreparedChunk]:
        previous_end = -1
        for chunk in chunk_sections(document.sections):
            context = chunk_context(
                shown_name(document.title), Path(shown_name(str(document.path))), chunk.heading
            )
            # The overlap with the chunk before was embedded there already.
            overlap = max(0, min(previous_end - chunk.start, len(chunk.text)))
            previous_end = chunk.end
            yield PreparedChunk(
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
                ocr=chunk.ocr,
            )

    def _embed(
        self, chunks: list[PreparedChunk], stored_elsewhere: Iterable[str] = ()
    ) -> tuple[Vectors, dict[str, Vectors]]:
        """Vectors of the chunks' passages, in order, and of the names and titles among their
        entities that have none stored yet (nor in ``stored_elsewhere``)."""
        vectors = self.embedder.embed([text for chunk in chunks for text in chunk.passage_texts()])
        entities: dict[str, Entity] = {e.key: e for chunk in chunks for e in chunk.entities}
        # Names and titles are matched by meaning too; dates, times and quantities only by
        # their normalised key, so embedding them would cost time and add nothing.
        embeddable = [key for key, e in entities.items() if e.kind in EMBEDDED_ENTITY_KINDS]
        known = self.store.rows.known_entity_keys(embeddable) | set(stored_elsewhere)
        new_keys = [key for key in embeddable if key not in known]
        new_vectors = self.embedder.embed([entities[key].name for key in new_keys])
        return vectors, dict(zip(new_keys, new_vectors, strict=True))

    def _embed_and_write(self, documents: list[DocumentWrite], report: IndexReport) -> None:
        vectors, entity_vectors = self._embed(
            [c for document in documents for c in document.chunks]
        )
        offset = 0
        for document in documents:
            count = sum(len(chunk.passage_texts()) for chunk in document.chunks)
            document.passage_vectors = vectors[offset : offset + count]
            offset += count
        self.store.write_documents(documents, entity_vectors)
        for document in documents:
            report.indexed.append(document.path)
            report.chunks += len(document.chunks)
            report.entities += len({e.key for chunk in document.chunks for e in chunk.entities})

    def _write_large_document(
        self,
        document: DocumentWrite,
        chunks: Iterator[PreparedChunk],
        report: IndexReport,
        check_cancel: Callable[[], None],
    ) -> None:
        """Embed and store a large document batch by batch as it is read; it appears whole
        at the end, or (cancelled, unreadable part-way) not at all."""
        writer = self.store.large_document_writer(document.path)
        edges: Counter[tuple[str, str]] = Counter()
        try:
            for batch in batched(chunks, EMBED_BATCH_CHUNKS):
                check_cancel()
                vectors, entity_vectors = self._embed(batch, writer.entity_keys)
                writer.add(batch, vectors, entity_vectors)
                edges.update(cooccurrence_edges(batch))
            check_cancel()
            document.edges = dict(edges)
            writer.commit(document)
        except BaseException:
            writer.abandon()
            raise
        report.indexed.append(document.path)
        report.chunks += writer.chunk_count
        report.entities += len(writer.mentioned_keys)
