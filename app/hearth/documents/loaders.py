"""Turn a file into sections of text that remember their page, slide, heading or rows.

One reader per format (hearth.documents.formats), chosen by extension; anything else is
sniffed and read as text if it is text. Every failure is an UnsupportedDocument naming the
reason in plain words, so a folder with one bad file still indexes the rest.

``open_document`` streams (the indexer uses it: a 500-page PDF or a 50 MB sheet is read
section by section); ``load_document`` returns the whole list. Zip-based files and PDFs are
checked for decompression bombs before their reader runs (hearth.documents.inflation), and
what a parser prints is caught and logged (hearth.documents.parser_output).
"""

from __future__ import annotations

import logging
import xml.etree.ElementTree
import zipfile
import zlib
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from hearth.documents.document import (
    MB,
    SECTION_SEPARATOR,
    DocumentStream,
    LoadedDocument,
    ReadProgress,
    Section,
    UnsupportedDocument,
    _finish,
    materialise,
    numbered_sections,
)
from hearth.documents.formats.epub import read_epub
from hearth.documents.formats.images import read_image
from hearth.documents.formats.office import read_docx, read_odt, read_pptx
from hearth.documents.formats.pdf import pdf_page_text, read_pdf
from hearth.documents.formats.sheets import read_csv, read_ods, read_xlsx
from hearth.documents.formats.text import (
    load_text,
    read_html,
    read_markdown,
    read_text,
    read_text_file,
)
from hearth.documents.inflation import InflationLimit, check_inflation
from hearth.documents.parser_output import parser_output_caught, sections_caught
from hearth.documents.text_decoding import NotText, detect_encoding

__all__ = [
    "DEFAULT_SIZE_LIMIT",
    "LOADERS",
    "MB",
    "SECTION_SEPARATOR",
    "DocumentStream",
    "Format",
    "LoadedDocument",
    "Section",
    "UnsupportedDocument",
    "_finish",
    "load_document",
    "load_text",
    "materialise",
    "numbered_sections",
    "open_document",
    "page_text",
    "read_text_file",
    "size_limit",
]

log = logging.getLogger(__name__)

SNIFF_BYTES = 8192
# Files above their format's limit are skipped with a reason instead of read. Formats read
# whole by their libraries (Markdown, HTML, Office, e-books) are limited by memory; streamed
# ones (PDF page by page, text and CSV in blocks, XLSX row by row) by indexing time.
DEFAULT_SIZE_LIMIT = 50 * MB
WHOLE_FILE_LIMIT = 200 * MB  # DOCX, PPTX, ODT, EPUB
PDF_SIZE_LIMIT = 500 * MB
# Decompression bombs: what a zip member or PDF stream (and all together) may inflate to,
# from the size limits. Formats read whole hold every member in memory: a member may be
# as large as the file may be, all of them twice that. Sheets stream their XML, ~10x the
# file: 10x, 20x together. PDFium decodes a stream whole, as the Office libraries do a
# member: the same 200 MB; together 10x the PDF limit, which bounds time, not memory.
_WHOLE_ZIP = InflationLimit("zip", WHOLE_FILE_LIMIT, 2 * WHOLE_FILE_LIMIT)
_SHEET_ZIP = InflationLimit("zip", 10 * DEFAULT_SIZE_LIMIT, 20 * DEFAULT_SIZE_LIMIT)
_PDF_STREAMS = InflationLimit("pdf", WHOLE_FILE_LIMIT, 10 * PDF_SIZE_LIMIT)

Reader = Callable[[Path, ReadProgress | None], DocumentStream]


@dataclass(frozen=True)
class Format:
    read: Reader
    size_limit: int
    # Named in the reason when the file turns out damaged part-way through.
    description: str
    # Zip-based and PDF: checked for decompression bombs before the reader opens the file.
    inflation: InflationLimit | None = None


_PDF = Format(read_pdf, PDF_SIZE_LIMIT, "PDF", _PDF_STREAMS)
_TEXT = Format(read_text, 100 * MB, "text file")
_CSV = Format(read_csv, 100 * MB, "CSV file")
_MARKDOWN = Format(read_markdown, DEFAULT_SIZE_LIMIT, "Markdown file")
_HTML = Format(read_html, DEFAULT_SIZE_LIMIT, "web page")
_IMAGE = Format(read_image, DEFAULT_SIZE_LIMIT, "image")
LOADERS: dict[str, Format] = {
    ".pdf": _PDF,
    ".txt": _TEXT,
    ".text": _TEXT,
    ".log": _TEXT,
    ".csv": _CSV,
    ".tsv": _CSV,
    ".md": _MARKDOWN,
    ".markdown": _MARKDOWN,
    ".html": _HTML,
    ".htm": _HTML,
    ".docx": Format(read_docx, WHOLE_FILE_LIMIT, "Word document", _WHOLE_ZIP),
    ".pptx": Format(read_pptx, WHOLE_FILE_LIMIT, "presentation", _WHOLE_ZIP),
    ".odt": Format(read_odt, WHOLE_FILE_LIMIT, "OpenDocument text", _WHOLE_ZIP),
    ".epub": Format(read_epub, WHOLE_FILE_LIMIT, "e-book", _WHOLE_ZIP),
    # XLSX keeps its shared strings in memory; ODS is streamed, but its XML is ~10x the file.
    ".xlsx": Format(read_xlsx, DEFAULT_SIZE_LIMIT, "spreadsheet", _SHEET_ZIP),
    ".xlsm": Format(read_xlsx, DEFAULT_SIZE_LIMIT, "spreadsheet", _SHEET_ZIP),
    ".ods": Format(read_ods, DEFAULT_SIZE_LIMIT, "spreadsheet", _SHEET_ZIP),
    ".png": _IMAGE,
    ".jpg": _IMAGE,
    ".jpeg": _IMAGE,
    ".tif": _IMAGE,
    ".tiff": _IMAGE,
    ".webp": _IMAGE,
}
_SNIFFED_TEXT = Format(read_text, DEFAULT_SIZE_LIMIT, "text file")
# What a damaged file makes the format libraries raise part-way through.
DAMAGED_FILE_ERRORS = (
    OSError,
    EOFError,
    ValueError,
    KeyError,
    IndexError,
    zipfile.BadZipFile,
    zlib.error,
    xml.etree.ElementTree.ParseError,
    SyntaxError,  # lxml's XMLSyntaxError, from the Office libraries
)


# What a reader makes of a file changes now and then; a document read by an older reader
# is read again (Indexer, DocumentStore.documents_to_reindex), as its file had changed.
# html and epub 2: a table's cells apart (" | ") and one row a line, a definition's term
# on its own line (they ran together: "securettyTTY access control").
READER_VERSIONS = {"html": 2, "epub": 2}


def reader_version(kind: str) -> int:
    """The version of the reader of documents of ``kind`` ("pdf", "html", ...)."""
    return READER_VERSIONS.get(kind, 1)


def size_limit(path: Path) -> int:
    return LOADERS.get(path.suffix.lower(), _SNIFFED_TEXT).size_limit


def _too_large(path: Path, size: int, max_bytes: int | None) -> UnsupportedDocument | None:
    limit = size_limit(path)
    if max_bytes is not None and max_bytes < limit:
        if size > max_bytes:
            return UnsupportedDocument(
                path,
                f"too large to index ({size / MB:.0f} MB; the limit set in Settings is "
                f"{max_bytes / MB:.0f} MB)",
            )
        return None
    if size > limit:
        return UnsupportedDocument(
            path,
            f"too large to index ({size / MB:.0f} MB; the limit for this kind of file is "
            f"{limit // MB} MB)",
        )
    return None


def _damage_as_unsupported(
    path: Path, description: str, sections: Iterable[Section]
) -> Iterator[Section]:
    try:
        yield from sections
    except UnsupportedDocument:
        raise
    except DAMAGED_FILE_ERRORS as error:
        log.info("%s is damaged", path, exc_info=True)
        raise UnsupportedDocument(path, f"not a readable {description} ({error})") from error


def open_document(
    path: Path, progress: ReadProgress | None = None, max_bytes: int | None = None
) -> DocumentStream:
    """Start reading ``path``: its kind, title and page count, and its sections as they are
    read (non-empty, with their offsets). UnsupportedDocument says why a file can't be read,
    here or while its sections are read. ``max_bytes``: the user's own size limit."""
    try:
        size = path.stat().st_size
    except OSError as error:
        raise UnsupportedDocument(path, f"cannot read it ({error.strerror or error})") from error
    if not path.is_file():
        raise UnsupportedDocument(path, "not a file")
    too_large = _too_large(path, size, max_bytes)
    if too_large is not None:
        raise too_large
    reader = LOADERS.get(path.suffix.lower())
    if reader is None:
        _refuse_binary(path)
        reader = _SNIFFED_TEXT
    if reader.inflation is not None:
        check_inflation(path, reader.inflation)
    try:
        with parser_output_caught(path):
            stream = reader.read(path, progress)
    except UnsupportedDocument:
        raise
    except DAMAGED_FILE_ERRORS as error:
        log.info("%s is damaged", path, exc_info=True)
        raise UnsupportedDocument(path, f"not a readable {reader.description} ({error})") from error
    sections = sections_caught(path, stream.sections)
    sections = _damage_as_unsupported(path, reader.description, sections)
    stream.sections = numbered_sections(path, sections)
    return stream


def _refuse_binary(path: Path) -> None:
    try:
        with path.open("rb") as handle:
            sample = handle.read(SNIFF_BYTES)
    except OSError as error:
        raise UnsupportedDocument(path, f"cannot read it ({error.strerror or error})") from error
    if not sample:
        raise UnsupportedDocument(path, "the file is empty")
    try:
        detect_encoding(sample)
    except NotText as error:
        kind = path.suffix.lower() or "without an extension"
        raise UnsupportedDocument(path, f"unsupported file type ({kind}): {error}") from error


def load_document(path: Path, max_bytes: int | None = None) -> LoadedDocument:
    """Read ``path`` into sections; raise UnsupportedDocument with the reason if it can't be."""
    stream = open_document(path, max_bytes=max_bytes)
    return LoadedDocument(
        stream.path, stream.kind, stream.title, list(stream.sections), stream.page_count
    )


def page_text(path: Path, page: int | None) -> str:
    """The text of ``page`` (PDF page, slide, TIFF page), or of the whole document for
    formats without pages. A PDF page is read alone (a scanned page by OCR, from the cache
    when it was indexed), never the whole file."""
    if page is not None and path.suffix.lower() == ".pdf":
        section = pdf_page_text(path, page)
        if section is not None and section.text.strip():
            return section.text.strip("\n")
    document = load_document(path)
    if page is not None:
        sections = [s.text for s in document.sections if s.page == page]
        if sections:
            return "\n\n".join(sections)
    return document.text
