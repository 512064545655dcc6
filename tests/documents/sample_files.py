"""Documents of every format, written by the tests with each format's own library."""

from __future__ import annotations

import csv
import zipfile
from pathlib import Path
from typing import Any

from bench.ocr import page_image, scanned_pdf

__all__ = [
    "page_image",
    "scanned_pdf",
    "write_csv",
    "write_epub",
    "write_malformed_odt",
    "write_mixed_pdf",
    "write_ods",
    "write_odt",
    "write_pptx",
    "write_xlsx",
    "write_xlsx_with_bad_styles",
]


def write_mixed_pdf(path: Path, pages: list[tuple[str, bool]]) -> Path:
    """(text, scanned) per page: scanned pages are images of their text, the others have
    a text layer."""
    from fpdf import FPDF

    pdf = FPDF()
    pdf.set_font("Helvetica", size=11)
    for text, scanned in pages:
        pdf.add_page()
        if scanned:
            pdf.image(page_image(text.split("\n")), x=0, y=0, w=pdf.w, h=pdf.h)
        else:
            pdf.multi_cell(0, 6, text)
    pdf.output(str(path))
    return path


def write_epub(path: Path, title: str, chapters: list[tuple[str, str]]) -> Path:
    from ebooklib import epub

    book = epub.EpubBook()
    book.set_identifier("hearth-test-book")
    book.set_title(title)
    book.set_language("en")
    items = []
    for number, (chapter_title, text) in enumerate(chapters, start=1):
        item = epub.EpubHtml(title=chapter_title, file_name=f"chapter{number}.xhtml", lang="en")
        paragraphs = "".join(f"<p>{p}</p>" for p in text.split("\n\n"))
        item.content = f"<html><body><h1>{chapter_title}</h1>{paragraphs}</body></html>"
        book.add_item(item)
        items.append(item)
    book.toc = items
    book.add_item(epub.EpubNcx())
    book.add_item(epub.EpubNav())
    book.spine = ["nav", *items]
    epub.write_epub(str(path), book)
    return path


def write_pptx(path: Path, slides: list[tuple[str, str, str]]) -> Path:
    """(title, body, speaker notes) per slide."""
    from pptx import Presentation

    presentation = Presentation()
    layout = presentation.slide_layouts[1]  # title and content
    for title, body, notes in slides:
        slide = presentation.slides.add_slide(layout)
        slide.shapes.title.text = title
        slide.placeholders[1].text = body
        if notes:
            slide.notes_slide.notes_text_frame.text = notes
    presentation.save(str(path))
    return path


def write_xlsx(path: Path, sheets: dict[str, list[list[Any]]]) -> Path:
    import openpyxl

    workbook = openpyxl.Workbook()
    workbook.remove(workbook.active)
    for name, rows in sheets.items():
        sheet = workbook.create_sheet(name)
        for row in rows:
            sheet.append(row)
    workbook.save(str(path))
    return path


def write_csv(path: Path, rows: list[list[Any]]) -> Path:
    with path.open("w", newline="", encoding="utf-8") as handle:
        csv.writer(handle).writerows(rows)
    return path


def write_odt(path: Path, title: str, paragraphs: list[str]) -> Path:
    from odf.opendocument import OpenDocumentText
    from odf.text import H, P

    document = OpenDocumentText()
    document.text.addElement(H(outlinelevel=1, text=title))
    for paragraph in paragraphs:
        document.text.addElement(P(text=paragraph))
    document.save(str(path))
    return path


def write_ods(path: Path, sheets: dict[str, list[list[Any]]]) -> Path:
    from odf.opendocument import OpenDocumentSpreadsheet
    from odf.table import Table, TableCell, TableRow
    from odf.text import P

    document = OpenDocumentSpreadsheet()
    for name, rows in sheets.items():
        table = Table(name=name)
        for row in rows:
            table_row = TableRow()
            for value in row:
                cell = TableCell(valuetype="string")
                cell.addElement(P(text=str(value)))
                table_row.addElement(cell)
            table.addElement(table_row)
        document.spreadsheet.addElement(table)
    document.save(str(path))
    return path


def _rewrite_member(path: Path, member: str, change: Any) -> Path:
    """``path`` with ``member`` replaced by ``change(its bytes)``."""
    with zipfile.ZipFile(path) as archive:
        members = [(info, archive.read(info)) for info in archive.infolist()]
    with zipfile.ZipFile(path, "w") as archive:
        for info, data in members:
            archive.writestr(info, change(data) if info.filename == member else data)
    return path


def write_malformed_odt(path: Path, secret: str = "The vault code is 4417.") -> Path:
    """An ODT whose content.xml is cut in half: odfpy prints such XML to standard output."""
    write_odt(path, "Malformed", [secret])
    return _rewrite_member(path, "content.xml", lambda data: data[: len(data) // 2])


def write_xlsx_with_bad_styles(path: Path) -> Path:
    """An XLSX whose stylesheet names a colour that is not one: openpyxl's reason for it
    takes three lines."""
    write_xlsx(path, {"Sheet": [["Item", "Cost"], ["Paint", 12]]})
    return _rewrite_member(
        path, "xl/styles.xml", lambda data: data.replace(b"<font>", b'<font><color rgb="no"/>', 1)
    )
