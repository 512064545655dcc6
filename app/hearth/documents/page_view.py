"""What the source viewer shows for a citation, without Qt: the real page, or the text.

A PDF page (or an image) is rendered, and the cited passage is found again on it: in the
text layer through PDFium's character boxes (the index text came from the same layer, so
it matches), or on a scanned page through the OCR lines that hold it (from the OCR cache
that indexing filled). Other formats give the text around the passage with its span.
"""

from __future__ import annotations

import re
from collections import deque
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hearth.documents.document import SECTION_SEPARATOR, Section, UnsupportedDocument
from hearth.documents.formats.images import frame, open_image
from hearth.documents.formats.pdf import (
    PDFIUM_LOCK,
    POINTS_PER_INCH,
    normalised_page_text,
    open_pdf,
    read_page_text_layer,
    recognise_page,
    render_page,
)
from hearth.documents.loaders import LOADERS, open_document
from hearth.documents.ocr import OcrCache, OcrPage, OcrUnavailable

# Pages are shown at this resolution: A4 and Letter pages (827 and 850 px wide) fit the
# viewer's width, and body text stays readable.
VIEW_DPI = 100
# Sources shown in answers may end in " …" where they were shortened to fit the prompt.
ELLIPSIS = " …"
# A document with less text than this is shown whole; beyond it, the sections around the
# passage (a 50 MB sheet is never put in a text view).
WHOLE_TEXT_CHARS = 200_000
SECTIONS_AROUND = 2

Box = tuple[float, float, float, float]  # left, top, right, bottom in image pixels


@dataclass
class PageView:
    """A rendered page (PIL image) and the boxes of the passage on it."""

    image: Any
    page: int | None
    boxes: list[Box]
    found_text: str
    ocr: bool


@dataclass
class TextView:
    """Text to show, and the passage's span in it (start -1: not found)."""

    text: str
    start: int
    end: int
    note: str = ""


def locate(text: str, passage: str) -> tuple[int, int]:
    """The span of ``passage`` in ``text``: exactly, by its opening, or with any runs of
    white space matching; (-1, -1) if it is not there."""
    passage = passage.removesuffix(ELLIPSIS).strip()
    if not passage:
        return -1, -1
    start = text.find(passage)
    if start >= 0:
        return start, start + len(passage)
    words = passage.split()
    pattern = r"\s+".join(re.escape(word) for word in words)
    match = re.search(pattern, text)
    if match:
        return match.start(), match.end()
    opening = r"\s+".join(re.escape(word) for word in words[:30])
    match = re.search(opening, text)
    return (match.start(), match.end()) if match else (-1, -1)


def source_view(path: Path, page: int | None, passage: str) -> PageView | TextView:
    """The view of a cited passage; UnsupportedDocument if the file can no longer be read."""
    suffix = path.suffix.lower()
    if suffix == ".pdf" and page is not None:
        return pdf_page_view(path, page, passage)
    if suffix in LOADERS and LOADERS[suffix].description == "image":
        return image_view(path, page, passage)
    return text_view(path, page, passage)


def _ocr_boxes(recognised: OcrPage, span: tuple[int, int], width: int, height: int) -> list[Box]:
    """Boxes of the OCR lines that the span of ``recognised.text`` touches."""
    start, end = span
    boxes: list[Box] = []
    offset = 0
    text = recognised.text
    for line in recognised.lines:
        position = text.find(line.text, offset)
        if position < 0:
            continue
        offset = position + len(line.text)
        if position < end and offset > start:
            x0, y0, x1, y1 = line.box
            boxes.append((x0 * width, y0 * height, x1 * width, y1 * height))
    return boxes


def pdf_page_view(path: Path, page: int, passage: str) -> PageView:
    scale = VIEW_DPI / POINTS_PER_INCH
    with PDFIUM_LOCK:
        document = open_pdf(path)
    try:
        with PDFIUM_LOCK:
            if not 1 <= page <= len(document):
                raise UnsupportedDocument(path, f"it has no page {page} any more")
            layer = read_page_text_layer(document, page)
            image = render_page(document, page, VIEW_DPI)
        if layer.needs_ocr:
            try:
                recognised = recognise_page(path, document, page, OcrCache(path))
            except OcrUnavailable:
                return PageView(image, page, [], "", ocr=True)
            span = locate(recognised.text, passage)
            if span[0] < 0:
                return PageView(image, page, [], "", ocr=True)
            boxes = _ocr_boxes(recognised, span, image.width, image.height)
            return PageView(image, page, boxes, recognised.text[span[0] : span[1]], ocr=True)
        with PDFIUM_LOCK:
            boxes, found = _text_layer_boxes(document, page, passage, scale)
        return PageView(image, page, boxes, found, ocr=False)
    finally:
        with PDFIUM_LOCK:
            document.close()


def _text_layer_boxes(
    document: Any, page: int, passage: str, scale: float
) -> tuple[list[Box], str]:
    """Call with PDFIUM_LOCK held."""
    import pypdfium2.raw as pdfium_c

    pdf_page = document[page - 1]
    textpage = pdf_page.get_textpage()
    try:
        raw = textpage.get_text_range()
        text, origin = normalised_page_text(raw)
        start, end = locate(text, passage)
        if start < 0:
            return [], ""
        first = pdfium_c.FPDFText_GetCharIndexFromTextIndex(textpage.raw, origin[start])
        last = pdfium_c.FPDFText_GetCharIndexFromTextIndex(textpage.raw, origin[end - 1])
        if first < 0 or last < first:
            return [], ""
        height = pdf_page.get_height()
        boxes: list[Box] = []
        for number in range(textpage.count_rects(first, last - first + 1)):
            left, bottom, right, top = textpage.get_rect(number)
            boxes.append(
                (left * scale, (height - top) * scale, right * scale, (height - bottom) * scale)
            )
        return boxes, text[start:end]
    finally:
        textpage.close()
        pdf_page.close()


def image_view(path: Path, page: int | None, passage: str) -> PageView:
    image = open_image(path)
    try:
        number = page or 1
        picture = frame(image, number)
    finally:
        image.close()
    try:
        recognised = OcrCache(path).recognise(number, lambda: picture)
    except OcrUnavailable:
        return PageView(picture, page, [], "", ocr=True)
    span = locate(recognised.text, passage)
    if span[0] < 0:
        return PageView(picture, page, [], "", ocr=True)
    boxes = _ocr_boxes(recognised, span, picture.width, picture.height)
    return PageView(picture, page, boxes, recognised.text[span[0] : span[1]], ocr=True)


def _joined(sections: list[Section]) -> str:
    return SECTION_SEPARATOR.join(section.text for section in sections)


def text_view(path: Path, page: int | None, passage: str) -> TextView:
    """The document's text with the passage's span; for a long document, only the sections
    around it (read as a stream, so a big file is never held whole)."""
    stream = open_document(path)
    sections = (s for s in stream.sections if page is None or s.page in (None, page))
    kept: list[Section] = []
    size = 0
    for section in sections:
        kept.append(section)
        size += len(section.text)
        if size > WHOLE_TEXT_CHARS:
            return _around(kept[-SECTIONS_AROUND - 1 :], sections, passage)
    text = _joined(kept)
    start, end = locate(text, passage)
    return TextView(text, start, end)


def _around(recent: list[Section], rest: Any, passage: str) -> TextView:
    window: deque[Section] = deque(recent, maxlen=SECTIONS_AROUND + 1)
    note = "A part of a long document: the passage and the text around it."
    for position, section in enumerate(list(window)):
        if locate(section.text, passage)[0] >= 0:
            shown = list(window)[max(0, position - SECTIONS_AROUND) :]
            return _window_view(shown, rest, passage, note)
    for section in rest:
        window.append(section)
        if locate(section.text, passage)[0] >= 0:
            return _window_view(list(window), rest, passage, note)
    return TextView(_joined(list(window)), -1, -1, "The passage is no longer in this document.")


def _window_view(shown: list[Section], rest: Any, passage: str, note: str) -> TextView:
    for section in rest:
        shown.append(section)
        if len(shown) >= 2 * SECTIONS_AROUND + 1:
            break
    text = _joined(shown)
    start, end = locate(text, passage)
    return TextView(text, start, end, note)
