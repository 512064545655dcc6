"""Plain text (streamed in blocks), Markdown (sections by heading) and HTML (visible text)."""

from __future__ import annotations

import io
import re
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path
from typing import ClassVar, TextIO

from hearth.documents.document import (
    CELL_SEPARATOR,
    DocumentStream,
    LoadedDocument,
    ReadProgress,
    Section,
    UnsupportedDocument,
    whole,
)
from hearth.documents.text_decoding import NotText, decode_bytes, detect_encoding

ENCODING_SAMPLE_BYTES = 65536
# Plain text is read this much at a time and cut at a paragraph near the end of each block,
# so a 100 MB log is never one string; a smaller file is one section, as it always was.
TEXT_BLOCK_CHARS = 1 << 20


def cannot_read(path: Path, error: OSError) -> UnsupportedDocument:
    return UnsupportedDocument(path, f"cannot read it ({error.strerror or error})")


def read_text_file(path: Path) -> str:
    try:
        data = path.read_bytes()
    except OSError as error:
        raise cannot_read(path, error) from error
    if not data:
        raise UnsupportedDocument(path, "the file is empty")
    try:
        return decode_bytes(data)
    except NotText as error:
        raise UnsupportedDocument(path, str(error)) from error


def open_text_file(path: Path, newline: str | None = None) -> TextIO:
    """The file as decoded text, read as it is consumed (encoding from its first 64 KB;
    undecodable bytes replaced). ``newline=None`` turns CR LF and CR into LF."""
    try:
        handle = path.open("rb")
    except OSError as error:
        raise cannot_read(path, error) from error
    try:
        sample = handle.read(ENCODING_SAMPLE_BYTES)
        if not sample:
            raise UnsupportedDocument(path, "the file is empty")
        try:
            encoding = detect_encoding(sample)
        except NotText as error:
            raise UnsupportedDocument(path, str(error)) from error
        handle.seek(0)
    except BaseException:
        handle.close()
        raise
    return io.TextIOWrapper(handle, encoding=encoding, errors="replace", newline=newline)


def _cut_point(block: str) -> int:
    """Where to end a block: after its last paragraph break, else line break, else space."""
    for separator in ("\n\n", "\n", " "):
        position = block.rfind(separator, len(block) // 2)
        if position >= 0:
            return position + len(separator)
    return len(block)


def text_blocks(text: TextIO, block_chars: int = TEXT_BLOCK_CHARS) -> Iterator[str]:
    carried = ""
    while True:
        block = carried + text.read(block_chars)
        if len(block) <= len(carried):  # nothing more was read
            if block:
                yield block
            return
        if len(block) < block_chars:
            carried = block
            continue
        cut = _cut_point(block)
        yield block[:cut]
        carried = block[cut:]


def read_text(path: Path, progress: ReadProgress | None = None) -> DocumentStream:
    text = open_text_file(path)

    def sections() -> Iterator[Section]:
        with text:
            for block in text_blocks(text):
                yield Section(block.replace("\x00", ""))

    return DocumentStream(path, "text", path.stem, sections())


def load_text(path: Path) -> LoadedDocument:
    from hearth.documents.document import materialise

    return materialise(read_text(path))


# -- Markdown ---------------------------------------------------------------------------
MARKDOWN_HEADING = re.compile(r"^(#{1,6})\s+(.+?)\s*#*\s*$")


def read_markdown(path: Path, progress: ReadProgress | None = None) -> DocumentStream:
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
    return whole(LoadedDocument(path, "markdown", title or path.stem, sections))


# -- HTML -------------------------------------------------------------------------------
class VisibleText(HTMLParser):
    """The text a browser would show, in sections by heading (also used for EPUB chapters)."""

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
            "dl",
            "dt",
            "dd",
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
    # A table's cells, one row a line, apart as in a DOCX's rows: run together, a row read
    # "securettyTTY access control for root login", and no search found "securetty".
    CELLS: ClassVar[frozenset[str]] = frozenset({"td", "th"})
    # Lines that follow each other with no blank line between: a table's rows, a term and
    # its description.
    LINES: ClassVar[frozenset[str]] = frozenset({"tr", "dt", "dd"})

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.hidden_depth = 0
        self.sections: list[Section] = []
        self.parts: list[str] = []
        self.heading: str | None = None
        self.heading_parts: list[str] | None = None
        self.title_parts: list[str] = []
        self.in_title = False
        self.cells_in_row = 0

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
        if tag == "tr":
            self.cells_in_row = 0
        elif tag in self.CELLS and not self.hidden_depth:
            if self.cells_in_row:
                self.parts.append(CELL_SEPARATOR)
            self.cells_in_row += 1

    def handle_endtag(self, tag: str) -> None:
        if tag == "title":
            self.in_title = False
        if tag in self.HIDDEN and self.hidden_depth:
            self.hidden_depth -= 1
        if tag in self.HEADINGS and self.heading_parts is not None:
            self.heading = " ".join("".join(self.heading_parts).split()) or None
            self.heading_parts = None
        if tag in self.BLOCK and tag not in self.LINES:
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

    @property
    def title(self) -> str:
        return " ".join("".join(self.title_parts).split())


def visible_text(markup: str) -> VisibleText:
    parser = VisibleText()
    parser.feed(markup)
    parser.close()
    parser.finish()
    return parser


def read_html(path: Path, progress: ReadProgress | None = None) -> DocumentStream:
    parsed = visible_text(read_text_file(path))
    return whole(LoadedDocument(path, "html", parsed.title or path.stem, parsed.sections))
