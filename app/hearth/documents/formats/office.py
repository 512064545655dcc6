"""Word (DOCX), PowerPoint (PPTX) and OpenDocument text (ODT): read whole, by their libraries.

Password-protected files are refused with that reason first (formats/encryption.py).
"""

from __future__ import annotations

import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from hearth.documents.document import (
    CELL_SEPARATOR,
    DocumentStream,
    LoadedDocument,
    ReadProgress,
    Section,
    UnsupportedDocument,
    whole,
)
from hearth.documents.formats.encryption import refuse_encrypted_odf, refuse_encrypted_office_file


# -- DOCX -----------------------------------------------------------------------------------
def read_docx(path: Path, progress: ReadProgress | None = None) -> DocumentStream:
    refuse_encrypted_office_file(path)
    import docx
    from docx.opc.exceptions import OpcError

    try:
        word = docx.Document(str(path))
    except (OpcError, zipfile.BadZipFile, KeyError, ValueError, OSError, SyntaxError) as error:
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
            lines.append(CELL_SEPARATOR.join(cell.text.strip() for cell in row.cells))
    sections.append(Section("\n".join(lines), heading=heading))
    return whole(LoadedDocument(path, "docx", title or path.stem, sections))


# -- PPTX -----------------------------------------------------------------------------------
def _shape_texts(shapes: Any) -> Iterator[str]:
    """Text of every shape, groups and tables included, in the slide's order."""
    for shape in shapes:
        if getattr(shape, "shape_type", None) is not None and hasattr(shape, "shapes"):
            yield from _shape_texts(shape.shapes)  # a group
        if getattr(shape, "has_text_frame", False) and shape.text_frame.text.strip():
            yield shape.text_frame.text.strip()
        if getattr(shape, "has_table", False):
            for row in shape.table.rows:
                yield CELL_SEPARATOR.join(cell.text.strip() for cell in row.cells)


def read_pptx(path: Path, progress: ReadProgress | None = None) -> DocumentStream:
    """One section per slide, its number as the page: title, text, then the speaker notes."""
    refuse_encrypted_office_file(path)
    from pptx import Presentation
    from pptx.exc import PythonPptxError

    try:
        presentation = Presentation(str(path))
    except (
        PythonPptxError,
        zipfile.BadZipFile,
        KeyError,
        ValueError,
        OSError,
        SyntaxError,
    ) as error:
        raise UnsupportedDocument(path, f"not a readable presentation ({error})") from error
    sections: list[Section] = []
    for number, slide in enumerate(presentation.slides, start=1):
        title_shape = slide.shapes.title
        title = title_shape.text_frame.text.strip() if title_shape is not None else ""
        texts = list(_shape_texts(slide.shapes))
        if slide.has_notes_slide:
            notes = slide.notes_slide.notes_text_frame
            if notes is not None and notes.text.strip():
                texts.append(f"Notes: {notes.text.strip()}")
        sections.append(Section("\n".join(texts), page=number, heading=title or None))
    title = (presentation.core_properties.title or "").strip()
    if not title:
        title = next((s.heading for s in sections if s.heading), None) or path.stem
    return whole(LoadedDocument(path, "pptx", title, sections, page_count=len(sections)))


# -- ODT ------------------------------------------------------------------------------------
def read_odt(path: Path, progress: ReadProgress | None = None) -> DocumentStream:
    """Sections by heading, like DOCX; tables row by row."""

    try:
        with zipfile.ZipFile(path) as archive:
            refuse_encrypted_odf(path, archive)
        from odf import teletype
        from odf.namespaces import TABLENS, TEXTNS
        from odf.opendocument import load

        document = load(str(path))
    except UnsupportedDocument:
        raise
    except (zipfile.BadZipFile, KeyError, ValueError, OSError, SyntaxError) as error:
        raise UnsupportedDocument(path, f"not a readable OpenDocument text ({error})") from error
    if getattr(document, "text", None) is None:  # odfpy reports bad XML only by printing it
        raise UnsupportedDocument(
            path, "not a readable OpenDocument text (its content is not well-formed XML)"
        )
    sections: list[Section] = []
    heading: str | None = None
    lines: list[str] = []
    first_heading: str | None = None

    def walk(node: Any) -> None:
        nonlocal heading, lines, first_heading
        for child in node.childNodes:
            qname = getattr(child, "qname", None)
            if qname == (TEXTNS, "h"):
                text = teletype.extractText(child).strip()
                if text:
                    sections.append(Section("\n".join(lines), heading=heading))
                    heading, lines = text, [text]
                    first_heading = first_heading or text
            elif qname == (TEXTNS, "p"):
                text = teletype.extractText(child).strip()
                if text:
                    lines.append(text)
            elif qname == (TABLENS, "table-row"):
                cells = [
                    teletype.extractText(cell).strip()
                    for cell in child.childNodes
                    if getattr(cell, "qname", None) == (TABLENS, "table-cell")
                ]
                if any(cells):
                    lines.append(CELL_SEPARATOR.join(cells))
            elif qname is not None:
                walk(child)

    walk(document.text)
    sections.append(Section("\n".join(lines), heading=heading))
    title = _odf_title(document) or first_heading or path.stem
    return whole(LoadedDocument(path, "odt", title, sections))


def _odf_title(document: Any) -> str:
    from odf import dc, teletype

    if getattr(document, "meta", None) is None:  # its metadata did not parse
        return ""
    for element in document.meta.getElementsByType(dc.Title):
        text = str(teletype.extractText(element)).strip()
        if text:
            return text
    return ""
