"""PDF: text page by page with PDFium, and OCR for the pages that have no usable text layer.

PDFium (pypdfium2) reads the text layer, renders pages for OCR and for the source viewer,
and gives each character's box, so a passage found in the index text is found again on the
rendered page. It is not thread-safe at all (not even across documents): every call goes
through ``PDFIUM_LOCK``, taken per page so the viewer can render while a long PDF indexes.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hearth.documents.document import DocumentStream, ReadProgress, Section, UnsupportedDocument
from hearth.documents.ocr import OcrCache, OcrPage, OcrUnavailable

log = logging.getLogger(__name__)

PDFIUM_LOCK = threading.RLock()
# A page whose text layer has fewer letters and digits than this, and that shows an image,
# is a scan (perhaps with a page number or a stamp as text): it is read by OCR.
MIN_TEXT_LAYER_CHARS = 16
# Scans are rendered at this resolution for OCR: body text comes out 20-30 px high, which
# the recogniser reads well; more costs time (detection grows with the pixels) for nothing.
OCR_RENDER_DPI = 150
POINTS_PER_INCH = 72
TEXT_PAGES_PER_PROGRESS = 10


def open_pdf(path: Path) -> Any:
    """A pypdfium2 PdfDocument; call with PDFIUM_LOCK held."""
    import pypdfium2 as pdfium

    try:
        return pdfium.PdfDocument(str(path))
    except pdfium.PdfiumError as error:
        message = str(error)
        if "password" in message.lower():
            raise UnsupportedDocument(path, "the PDF is password-protected") from error
        if "security" in message.lower():
            raise UnsupportedDocument(path, f"the PDF is encrypted ({message})") from error
        raise UnsupportedDocument(path, f"not a readable PDF ({message})") from error
    except OSError as error:
        raise UnsupportedDocument(path, f"cannot read it ({error.strerror or error})") from error


def normalised_page_text(raw: str) -> tuple[str, list[int]]:
    """Page text as indexed (line breaks as "\\n", no NULs), and for each of its characters
    the index of the character it came from in PDFium's text."""
    text: list[str] = []
    origin: list[int] = []
    index = 0
    while index < len(raw):
        char = raw[index]
        if char == "\r":
            text.append("\n")
            origin.append(index)
            index += 2 if raw.startswith("\r\n", index) else 1
            continue
        if char not in "\x00\ufffe\uffff":
            text.append(char)
            origin.append(index)
        index += 1
    return "".join(text), origin


def _letters_and_digits(text: str) -> int:
    return sum(1 for char in text if char.isalnum())


def _shows_an_image(page: Any) -> bool:
    import pypdfium2.raw as pdfium_c

    return any(True for _ in page.get_objects(filter=[pdfium_c.FPDF_PAGEOBJ_IMAGE], max_depth=3))


@dataclass
class PdfPageText:
    """One page's text as indexed, and whether it needs (or needed) OCR."""

    text: str
    needs_ocr: bool


def read_page_text_layer(document: Any, number: int) -> PdfPageText:
    """Call with PDFIUM_LOCK held."""
    page = document[number - 1]
    try:
        textpage = page.get_textpage()
        try:
            text, _ = normalised_page_text(textpage.get_text_range())
        finally:
            textpage.close()
        needs_ocr = _letters_and_digits(text) < MIN_TEXT_LAYER_CHARS and _shows_an_image(page)
        return PdfPageText(text, needs_ocr)
    finally:
        page.close()


def render_page(document: Any, number: int, dpi: float = OCR_RENDER_DPI) -> Any:
    """The page as a PIL image; call with PDFIUM_LOCK held."""
    page = document[number - 1]
    try:
        bitmap = page.render(scale=dpi / POINTS_PER_INCH)
        try:
            return bitmap.to_pil().copy()  # the copy owns its pixels once the bitmap closes
        finally:
            bitmap.close()
    finally:
        page.close()


def recognise_page(path: Path, document: Any, number: int, cache: OcrCache) -> OcrPage:
    """OCR of one page (from the cache when the same file was read before). Takes the lock
    only to render: recognition runs while the viewer may use PDFium."""

    def render() -> Any:
        with PDFIUM_LOCK:
            return render_page(document, number)

    return cache.recognise(number, render)


def read_pdf(path: Path, progress: ReadProgress | None = None) -> DocumentStream:
    with PDFIUM_LOCK:
        document = open_pdf(path)
        try:
            page_count = len(document)
            title = str(document.get_metadata_value("Title") or "").strip() or path.stem
        except Exception as error:  # a damaged catalogue: nothing to read
            document.close()
            raise UnsupportedDocument(path, f"not a readable PDF ({error})") from error
    return DocumentStream(
        path, "pdf", title, _pdf_sections(path, document, page_count, progress), page_count
    )


def _pdf_sections(
    path: Path, document: Any, page_count: int, progress: ReadProgress | None
) -> Iterator[Section]:
    cache = OcrCache(path)
    found_text = False
    scanned_pages = 0
    ocr_problem: str | None = None
    try:
        for number in range(1, page_count + 1):
            try:
                with PDFIUM_LOCK:
                    layer = read_page_text_layer(document, number)
            except Exception as error:  # one broken page must not lose the rest of the file
                log.warning("%s: page %d could not be read (%s)", path, number, error)
                continue
            section = Section(layer.text, page=number)
            if layer.needs_ocr and ocr_problem is None:
                scanned_pages += 1
                if progress:
                    progress(
                        number - 1, page_count, f"OCR page {number} of {page_count} ({path.name})"
                    )
                try:
                    recognised = recognise_page(path, document, number, cache)
                    section = Section(recognised.text, page=number, ocr=True)
                except OcrUnavailable as error:
                    ocr_problem = str(error)
                    log.warning("%s: scanned pages are not read: %s", path, error)
            elif progress and number % TEXT_PAGES_PER_PROGRESS == 0:
                progress(number, page_count, f"page {number} of {page_count} ({path.name})")
            found_text = found_text or bool(section.text.strip())
            yield section
        if not found_text:
            reason = "the PDF has no text layer, and OCR found no text on its pages"
            if not scanned_pages:
                reason = "the PDF has no text layer, and no page shows a scan to read"
            if ocr_problem:
                reason = f"the PDF has no text layer, and OCR is not available ({ocr_problem})"
            raise UnsupportedDocument(path, reason)
    finally:
        with PDFIUM_LOCK:
            document.close()


def pdf_page_text(path: Path, number: int) -> Section | None:
    """One page as indexed (text layer or OCR), without reading the rest of the file."""
    with PDFIUM_LOCK:
        document = open_pdf(path)
    try:
        with PDFIUM_LOCK:
            if not 1 <= number <= len(document):
                return None
            layer = read_page_text_layer(document, number)
        if layer.needs_ocr:
            try:
                recognised = recognise_page(path, document, number, OcrCache(path))
            except OcrUnavailable as error:
                log.warning("%s: page %d is not read: %s", path, number, error)
            else:
                return Section(recognised.text, page=number, ocr=True)
        return Section(layer.text, page=number)
    finally:
        with PDFIUM_LOCK:
            document.close()
