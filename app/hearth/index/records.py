"""What the store's rooms hand each other: a document's and a chunk's stored rows, and a
document's new version ready to write (its chunks with their entities and vectors)."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

from hearth.documents.chunking import passage_spans
from hearth.documents.loaders import reader_version
from hearth.index.embedder import Vectors
from hearth.index.entities import Entity, entity_token


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
    reader_version: int = 1  # the version of the reader that read it (READER_VERSIONS)

    @property
    def read_by_an_older_reader(self) -> bool:
        return self.reader_version < reader_version(self.kind)


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

    def forget_passages(self) -> None:
        """Drop the passages worked out so far (recomputed from the text when asked for):
        a large document's spooled chunks are not worth their size twice."""
        self._passages = None

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
    reader_version: int = 1


def chunk_identity(path: str, content_hash: str, ordinal: int) -> str:
    return hashlib.sha256(f"{path}\0{content_hash}\0{ordinal}".encode()).hexdigest()[:32]
