"""Sheets: CSV/TSV, XLSX (openpyxl, read-only) and ODS, streamed row by row.

A row alone ("Paint | 12.5") means little, so rows are grouped into sections of about one
chunk, each starting with the sheet's header row; the section's heading names the sheet
and the rows ("Budget, rows 2-41", with an en dash), which is what a citation shows. Rows
are read as they are parsed, so a 50 MB sheet is never held whole.
"""

from __future__ import annotations

import contextlib
import csv
import datetime
import zipfile
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

from hearth.documents.document import (
    CELL_SEPARATOR,
    DocumentStream,
    ReadProgress,
    Section,
    UnsupportedDocument,
)
from hearth.documents.formats.encryption import refuse_encrypted_odf, refuse_encrypted_office_file
from hearth.documents.formats.text import open_text_file

# A section (header + rows) stays under the chunker's limit, so it is one chunk, never cut.
SECTION_CHARS = 1100
ROWS_PER_PROGRESS = 5000
CSV_SNIFF_CHARS = 16384


def cell_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    if isinstance(value, datetime.datetime) and value.time() == datetime.time():
        return value.date().isoformat()
    if isinstance(value, datetime.date | datetime.time):
        return value.isoformat()
    return " ".join(str(value).split())


def row_text(values: Iterable[Any]) -> str:
    cells = [cell_text(value) for value in values]
    while cells and not cells[-1]:
        cells.pop()
    return CELL_SEPARATOR.join(cells)


def row_sections(
    rows: Iterable[tuple[int, str]], sheet: str | None, progress: ReadProgress | None, name: str
) -> Iterator[Section]:
    """Sections of about SECTION_CHARS from (row number, row text): the first non-empty
    row is the header, repeated at the top of every section."""
    header: str | None = None
    header_row = 0
    lines: list[str] = []
    size = 0
    first = last = 0
    prefix = f"{sheet}, " if sheet else ""

    def section() -> Section:
        span = f"row {first}" if first == last else f"rows {first}–{last}"
        return Section("\n".join([header or "", *lines]), heading=prefix + span, mergeable=False)

    for number, text in rows:
        if progress and number % ROWS_PER_PROGRESS == 0:
            progress(number, 0, f"{prefix}row {number:,} ({name})")
        if not text:
            continue
        if header is None:
            header, header_row = text, number
            continue
        if lines and size + len(text) + 1 > SECTION_CHARS - len(header):
            yield section()
            lines, size = [], 0
        if not lines:
            first = number
        lines.append(text)
        size += len(text) + 1
        last = number
    if lines:
        yield section()
    elif header is not None:  # a sheet with a header and nothing under it
        yield Section(header, heading=f"{prefix}row {header_row}", mergeable=False)


# -- CSV ------------------------------------------------------------------------------------
def read_csv(path: Path, progress: ReadProgress | None = None) -> DocumentStream:
    text = open_text_file(path, newline="")
    try:
        sample = text.read(CSV_SNIFF_CHARS)
        text.seek(0)
    except BaseException:
        text.close()
        raise
    delimiter = "\t" if path.suffix.lower() == ".tsv" else ","
    # One column, or too irregular to tell: the extension's default stays.
    with contextlib.suppress(csv.Error):
        delimiter = csv.Sniffer().sniff(sample, delimiters=",;\t|").delimiter

    def rows() -> Iterator[tuple[int, str]]:
        with text:
            reader = csv.reader(text, delimiter=delimiter)
            try:
                for number, row in enumerate(reader, start=1):
                    yield number, row_text(row)
            except csv.Error as error:
                raise UnsupportedDocument(path, f"not a readable CSV file ({error})") from error

    return DocumentStream(path, "csv", path.stem, row_sections(rows(), None, progress, path.name))


# -- XLSX -----------------------------------------------------------------------------------
def read_xlsx(path: Path, progress: ReadProgress | None = None) -> DocumentStream:
    refuse_encrypted_office_file(path)
    import openpyxl
    from openpyxl.utils.exceptions import InvalidFileException

    try:
        # Read-only streams each sheet's rows; data_only gives formulas' cached values.
        workbook = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except (InvalidFileException, zipfile.BadZipFile, KeyError, ValueError, OSError) as error:
        raise UnsupportedDocument(path, f"not a readable spreadsheet ({error})") from error
    title = (workbook.properties.title or "").strip() or path.stem

    def sections() -> Iterator[Section]:
        try:
            for sheet in workbook.worksheets:
                rows = (
                    (number, row_text(values))
                    for number, values in enumerate(
                        sheet.iter_rows(min_row=1, values_only=True), start=1
                    )
                )
                yield from row_sections(rows, sheet.title, progress, path.name)
        finally:
            workbook.close()

    return DocumentStream(path, "xlsx", title, sections(), page_count=None)


# -- ODS ------------------------------------------------------------------------------------
TABLE = "{urn:oasis:names:tc:opendocument:xmlns:table:1.0}"
TEXT = "{urn:oasis:names:tc:opendocument:xmlns:text:1.0}"
OFFICE = "{urn:oasis:names:tc:opendocument:xmlns:office:1.0}"
# Sheets end in a run of empty rows or cells marked "repeated a million times"; a repeated
# cell or row with content is written out at most this many times.
MAX_REPEAT = 1000


def odf_text(element: ElementTree.Element) -> str:
    """The text of a cell or paragraph: <text:s/> spaces, tabs and line breaks kept."""
    parts: list[str] = []

    def walk(node: ElementTree.Element) -> None:
        if node.text:
            parts.append(node.text)
        for child in node:
            if child.tag == f"{TEXT}s":
                parts.append(" " * int(child.get(f"{TEXT}c", "1")))
            elif child.tag == f"{TEXT}tab":
                parts.append("\t")
            elif child.tag == f"{TEXT}line-break":
                parts.append("\n")
            elif child.tag == f"{TEXT}p" and parts:
                parts.append("\n")
                walk(child)
            else:
                walk(child)
            if child.tail:
                parts.append(child.tail)

    walk(element)
    return "".join(parts)


def read_ods(path: Path, progress: ReadProgress | None = None) -> DocumentStream:
    try:
        archive = zipfile.ZipFile(path)
        refuse_encrypted_odf(path, archive)
        content = archive.open("content.xml")
    except (zipfile.BadZipFile, KeyError, OSError) as error:
        raise UnsupportedDocument(path, f"not a readable spreadsheet ({error})") from error

    def sheet_rows() -> Iterator[tuple[str, Iterator[tuple[int, str]]]]:
        """(sheet name, its rows) as the XML is parsed; each row is dropped once read."""
        events = ElementTree.iterparse(content, events=("start", "end"))
        for event, element in events:
            if event == "start" and element.tag == f"{TABLE}table":
                yield element.get(f"{TABLE}name", "Sheet"), _table_rows(events, element)

    def _table_rows(
        events: Iterator[tuple[str, Any]], table: ElementTree.Element
    ) -> Iterator[tuple[int, str]]:
        number = 0
        parents = [table]
        for event, element in events:
            if event == "start":
                parents.append(element)
                continue
            parents.pop()
            if element is table:
                return
            if element.tag != f"{TABLE}table-row":
                continue
            values: list[str] = []
            for cell in element:
                if cell.tag in (f"{TABLE}table-cell", f"{TABLE}covered-table-cell"):
                    repeat = int(cell.get(f"{TABLE}number-columns-repeated", "1"))
                    value = odf_text(cell)
                    values += [value] * (min(repeat, MAX_REPEAT) if value else min(repeat, 1))
            text = row_text(values)
            repeat = int(element.get(f"{TABLE}number-rows-repeated", "1"))
            for _ in range(min(repeat, MAX_REPEAT) if text else 1):
                number += 1
                yield number, text
            number += repeat - min(repeat, MAX_REPEAT) if text else repeat - 1
            parents[-1].remove(element)  # bounded memory: the row is done

    def sections() -> Iterator[Section]:
        try:
            for sheet, rows in sheet_rows():
                yield from row_sections(rows, sheet, progress, path.name)
        except ElementTree.ParseError as error:
            raise UnsupportedDocument(path, f"not a readable spreadsheet ({error})") from error
        finally:
            content.close()
            archive.close()

    return DocumentStream(path, "ods", path.stem, sections())
