"""Turn a file into sections of text that remember their page (PDF) or heading.

One loader per format, chosen by extension; anything else is sniffed and read as text if
it is text. Every failure is an UnsupportedDocument naming the reason in plain words, so
a folder with one bad file still indexes the rest.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from typing import ClassVar

from hearth.documents.text_decoding import NotText, decode_bytes, detect_encoding

log = logging.getLogger(__name__)

SNIFF_BYTES = 8192
MB = 1024 * 1024
# Files above these sizes are skipped with a reason instead of read: memory stays bounded
# (a file is read whole only below its limit) and indexing time stays reasonable.
SIZE_LIMITS = {".pdf": 500 * MB, ".docx": 200 * MB}
DEFAULT_SIZE_LIMIT = 50 * MB
SECTION_SEPARATOR = "\n\n"


class UnsupportedDocument(Exception):
    """A file Hearth cannot read; str() is "<path>: <reason>"."""

    def __init__(self, path: Path, reason: str) -> None:
        super().__init__(f"{path}: {reason}")
        self.path = path
        self.reason = reason


@dataclass
class Section:
    """A run of text on one page (PDF) or under one heading, at ``start`` in the document."""

    text: str
    page: int | None = None
    heading: str | None = None
    start: int = 0


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


def _finish(document: LoadedDocument) -> LoadedDocument:
    """Drop empty sections and give each its offset in the joined document text."""
    offset = 0
    kept: list[Section] = []
    for section in document.sections:
        text = section.text.strip("\n")
        if not text.strip():
            continue
        section.text = text
        section.start = offset
        offset += len(text) + len(SECTION_SEPARATOR)
        kept.append(section)
    document.sections = kept
    if not kept:
        raise UnsupportedDocument(document.path, "it contains no text")
    return document


# -- plain text and Markdown ------------------------------------------------------------
def read_text_file(path: Path) -> str:
    try:
        data = path.read_bytes()
    except OSError as error:
        raise UnsupportedDocument(path, f"cannot read it ({error.strerror or error})") from error
    if not data:
        raise UnsupportedDocument(path, "the file is empty")
    try:
        return decode_bytes(data)
    except NotText as error:
        raise UnsupportedDocument(path, str(error)) from error


def load_text(path: Path) -> LoadedDocument:
    text = read_text_file(path)
    return _finish(LoadedDocument(path, "text", path.stem, [Section(text)]))


MARKDOWN_HEADING = re.compile(r"^(#{1,6})\s+(.+?)\s*#*\s*$")


def load_markdown(path: Path) -> LoadedDocument:
    text = read_text_file(path)
    sections: list[Section] = []
    heading: str | None = None
    lines: list[str] = []
    title: str | None = None
    in_fence = False
    for line in text.split("\n"):
        if line.lstrip().startswith(("```", "~~~")):
            in_fence = not in_fence
        match = None if in_fence else MARKDOWN_HEADING.match(line)
        if match:
            sections.append(Section("\n".join(lines), heading=heading))
            heading = match.group(2).strip()
            title = title or heading
            lines = [line]
        else:
            lines.append(line)
    sections.append(Section("\n".join(lines), heading=heading))
    return _finish(LoadedDocument(path, "markdown", title or path.stem, sections))


# -- PDF ----------------------------------------------------------------------------------
def load_pdf(path: Path) -> LoadedDocument:
    from pypdf import PdfReader
    from pypdf.errors import PdfReadError

    try:
        reader = PdfReader(str(path))
        if reader.is_encrypted:
            try:
                unlocked = reader.decrypt("")
            except Exception as error:  # pypdf raises assorted errors for unknown ciphers
                raise UnsupportedDocument(path, f"the PDF is encrypted ({error})") from error
            if not unlocked:
                raise UnsupportedDocument(path, "the PDF is password-protected")
        pages = list(reader.pages)
    except UnsupportedDocument:
        raise
    except (PdfReadError, OSError, ValueError, KeyError, TypeError) as error:
        raise UnsupportedDocument(path, f"not a readable PDF ({error})") from error
    sections: list[Section] = []
    for number, page in enumerate(pages, start=1):
        try:
            text = page.extract_text() or ""
        except Exception as error:  # one broken page must not lose the rest of the file
            log.warning("%s: page %d could not be read (%s)", path, number, error)
            continue
        sections.append(Section(text.replace("\r\n", "\n").replace("\x00", ""), page=number))
    title = path.stem
    try:
        if reader.metadata and reader.metadata.title:
            title = str(reader.metadata.title)
    except Exception:  # metadata of damaged PDFs is optional
        pass
    document = LoadedDocument(path, "pdf", title, sections, page_count=len(pages))
    if not any(section.text.strip() for section in sections):
        raise UnsupportedDocument(
            path, "the PDF has no text layer (scanned pages need OCR, which Hearth does not do)"
        )
    return _finish(document)


# -- DOCX -----------------------------------------------------------------------------------
def load_docx(path: Path) -> LoadedDocument:
    import zipfile

    try:
        import docx

        word = docx.Document(str(path))
    except (zipfile.BadZipFile, KeyError, ValueError, OSError) as error:
        raise UnsupportedDocument(path, f"not a readable Word document ({error})") from error
    sections: list[Section] = []
    heading: str | None = None
    lines: list[str] = []
    title: str | None = word.core_properties.title or None
    for paragraph in word.paragraphs:
        style = (paragraph.style.name if paragraph.style is not None else "") or ""
        text = paragraph.text.strip()
        if style.startswith(("Heading", "Title")) and text:
            sections.append(Section("\n".join(lines), heading=heading))
            heading, lines = text, [text]
            title = title or text
        elif text:
            lines.append(text)
    for table in word.tables:
        for row in table.rows:
            lines.append(" | ".join(cell.text.strip() for cell in row.cells))
    sections.append(Section("\n".join(lines), heading=heading))
    return _finish(LoadedDocument(path, "docx", title or path.stem, sections))


# -- HTML -----------------------------------------------------------------------------------
class _VisibleText(HTMLParser):
    HIDDEN: ClassVar[frozenset[str]] = frozenset(
        {"script", "style", "noscript", "template", "head", "svg"}
    )
    BLOCK: ClassVar[frozenset[str]] = frozenset(
        {
            "p",
            "div",
            "br",
            "li",
            "tr",
            "section",
            "article",
            "table",
            "ul",
            "ol",
            "pre",
            "blockquote",
            "header",
            "footer",
            "h1",
            "h2",
            "h3",
            "h4",
            "h5",
            "h6",
        }
    )
    HEADINGS: ClassVar[frozenset[str]] = frozenset({"h1", "h2", "h3", "h4", "h5", "h6"})

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.hidden_depth = 0
        self.sections: list[Section] = []
        self.parts: list[str] = []
        self.heading: str | None = None
        self.heading_parts: list[str] | None = None
        self.title_parts: list[str] = []
        self.in_title = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "title":
            self.in_title = True
        if tag in self.HIDDEN:
            self.hidden_depth += 1
        if tag in self.HEADINGS and not self.hidden_depth:
            self.sections.append(Section("".join(self.parts), heading=self.heading))
            self.parts = []
            self.heading_parts = []
        if tag in self.BLOCK:
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag == "title":
            self.in_title = False
        if tag in self.HIDDEN and self.hidden_depth:
            self.hidden_depth -= 1
        if tag in self.HEADINGS and self.heading_parts is not None:
            self.heading = " ".join("".join(self.heading_parts).split()) or None
            self.heading_parts = None
        if tag in self.BLOCK:
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        if self.in_title:
            self.title_parts.append(data)
        if self.hidden_depth:
            return
        self.parts.append(data)
        if self.heading_parts is not None:
            self.heading_parts.append(data)

    def finish(self) -> list[Section]:
        self.sections.append(Section("".join(self.parts), heading=self.heading))
        for section in self.sections:
            lines = (" ".join(line.split()) for line in section.text.split("\n"))
            section.text = re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()
        return self.sections


def load_html(path: Path) -> LoadedDocument:
    parser = _VisibleText()
    parser.feed(read_text_file(path))
    parser.close()
    sections = parser.finish()
    title = " ".join("".join(parser.title_parts).split()) or path.stem
    return _finish(LoadedDocument(path, "html", title, sections))


# -- dispatch ---------------------------------------------------------------------------------
LOADERS: dict[str, Callable[[Path], LoadedDocument]] = {
    ".pdf": load_pdf,
    ".txt": load_text,
    ".text": load_text,
    ".log": load_text,
    ".csv": load_text,
    ".md": load_markdown,
    ".markdown": load_markdown,
    ".docx": load_docx,
    ".html": load_html,
    ".htm": load_html,
}


def load_document(path: Path) -> LoadedDocument:
    """Read ``path`` into sections; raise UnsupportedDocument with the reason if it can't be."""
    try:
        size = path.stat().st_size
    except OSError as error:
        raise UnsupportedDocument(path, f"cannot read it ({error.strerror or error})") from error
    if not path.is_file():
        raise UnsupportedDocument(path, "not a file")
    limit = SIZE_LIMITS.get(path.suffix.lower(), DEFAULT_SIZE_LIMIT)
    if size > limit:
        raise UnsupportedDocument(
            path,
            f"too large to index ({size // MB} MB; the limit for this kind of file is "
            f"{limit // MB} MB)",
        )
    loader = LOADERS.get(path.suffix.lower())
    if loader is not None:
        return loader(path)
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
    return load_text(path)


def page_text(path: Path, page: int | None) -> str:
    """The text of ``page`` (PDF), or of the whole document for formats without pages."""
    document = load_document(path)
    if page is not None:
        sections = [s.text for s in document.sections if s.page == page]
        if sections:
            return "\n\n".join(sections)
    return document.text
