"""What a read file becomes: sections of text that remember their page, heading and origin.

A format reader returns a DocumentStream whose sections come lazily (a 500-page PDF or a
50 MB sheet is never one string in memory); ``numbered_sections`` drops empty ones and gives
each its offset in the document's joined text, and ``LoadedDocument`` is the whole list
for the callers that want it (small files, tests, the page viewer).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from hearth.errors import HearthError

SECTION_SEPARATOR = "\n\n"
# Between a table row's cells, one row a line, in every reader (sheets, DOCX, PPTX, ODT,
# HTML, EPUB); the answer's source step knows a table row by it.
CELL_SEPARATOR = " | "
MB = 1024 * 1024

# (done, total, label), as hearth.jobs.ProgressCallback: the reader's own units (pages,
# bytes), so the indexer can pass the label on ("OCR page 4 of 31 (scan.pdf)").
ReadProgress = Callable[[int, int, str], None]


# A reason is shown on one line (a skip line, the window's list): longer ones are cut here.
MAX_REASON_CHARS = 300


def one_line(reason: str) -> str:
    """``reason`` on one line, whitespace collapsed: libraries' messages span lines (openpyxl's
    take three), and the reason is a skip line."""
    line = " ".join(reason.split())
    if len(line) > MAX_REASON_CHARS:
        line = line[: MAX_REASON_CHARS - 1].rstrip() + "…"
    return line


class UnsupportedDocument(HearthError):
    """A file Hearth cannot read; str() is "<path>: <reason>", ``reason`` one line."""

    def __init__(self, path: Path, reason: str) -> None:
        reason = one_line(reason)
        super().__init__(f"{path}: {reason}")
        self.path = path
        self.reason = reason


@dataclass
class Section:
    """A run of text on one page (PDF, slide) or under one heading, at ``start`` in the
    document. ``ocr``: the text was recognised from an image of the page. Sections that must
    stay apart (row ranges of a sheet, whose heading names the rows) set ``mergeable`` off."""

    text: str
    page: int | None = None
    heading: str | None = None
    start: int = 0
    ocr: bool = False
    mergeable: bool = True


@dataclass
class DocumentStream:
    """A document being read: what is known up front, and its sections as they come.
    Iterate ``sections`` once; a reader may raise UnsupportedDocument part-way."""

    path: Path
    kind: str
    title: str
    sections: Iterable[Section]
    page_count: int | None = None


@dataclass
class LoadedDocument:
    path: Path
    kind: str
    title: str
    sections: list[Section] = field(default_factory=list)
    page_count: int | None = None

    @property
    def text(self) -> str:
        return SECTION_SEPARATOR.join(section.text for section in self.sections)


def numbered_sections(path: Path, sections: Iterable[Section]) -> Iterator[Section]:
    """Drop empty sections and give each its offset in the joined document text; raise
    UnsupportedDocument at the end if nothing was left."""
    offset = 0
    kept = 0
    for section in sections:
        text = section.text.strip("\n")
        if not text.strip():
            continue
        section.text = text
        section.start = offset
        offset += len(text) + len(SECTION_SEPARATOR)
        kept += 1
        yield section
    if not kept:
        raise UnsupportedDocument(path, "it contains no text")


def _finish(document: LoadedDocument) -> LoadedDocument:
    """Drop empty sections and give each its offset in the joined document text."""
    document.sections = list(numbered_sections(document.path, document.sections))
    return document


def materialise(stream: DocumentStream) -> LoadedDocument:
    sections = list(numbered_sections(stream.path, stream.sections))
    return LoadedDocument(stream.path, stream.kind, stream.title, sections, stream.page_count)


def whole(document: LoadedDocument) -> DocumentStream:
    """A document read whole (small formats) as a stream."""
    return DocumentStream(
        document.path, document.kind, document.title, document.sections, document.page_count
    )
