from __future__ import annotations

import codecs
import os
from pathlib import Path

import pytest

from bench.sample_documents import report_pages, write_docx, write_pdf
from hearth.documents.loaders import UnsupportedDocument, load_document


def test_pdf_keeps_page_numbers(tmp_path: Path) -> None:
    document = load_document(write_pdf(tmp_path / "report.pdf", report_pages()))
    assert document.kind == "pdf"
    assert document.page_count == 5
    pages = {s.page: s.text for s in document.sections}
    assert set(pages) == {1, 2, 3, 4, 5}
    assert "48,500 pounds" in pages[2]
    assert "Marguerite Okonkwo" in pages[4]


def test_markdown_sections_carry_headings(tmp_path: Path) -> None:
    path = tmp_path / "notes.md"
    path.write_text(
        "# Garden plans\n\nTomatoes by the wall.\n\n## Tools\n\nA new spade.\n", "utf-8"
    )
    document = load_document(path)
    assert document.title == "Garden plans"
    headings = {s.heading: s.text for s in document.sections}
    assert "Tomatoes" in headings["Garden plans"]
    assert "spade" in headings["Tools"]
    # Offsets point into the joined text.
    for section in document.sections:
        assert document.text[section.start : section.start + len(section.text)] == section.text


def test_docx_paragraphs_and_headings(tmp_path: Path) -> None:
    path = write_docx(tmp_path / "memo.docx", "Boiler service", ["The boiler was serviced in May."])
    document = load_document(path)
    assert document.kind == "docx"
    assert any("serviced in May" in s.text for s in document.sections)
    assert document.title == "Boiler service"


def test_html_visible_text_only(tmp_path: Path) -> None:
    path = tmp_path / "page.html"
    path.write_text(
        "<html><head><title>Recipes</title><style>p{color:red}</style></head><body>"
        "<script>var secret = 1;</script><h1>Soup</h1><p>Leek and potato.</p></body></html>",
        "utf-8",
    )
    document = load_document(path)
    assert document.title == "Recipes"
    assert "Leek and potato." in document.text
    assert "secret" not in document.text
    assert "color" not in document.text


def test_html_table_cells_and_definition_terms_stay_apart(tmp_path: Path) -> None:
    path = tmp_path / "etc.html"
    path.write_text(
        "<html><body><table><tr><th>File</th><th>Description</th></tr>"
        "<tr><td><code>securetty</code></td><td>TTY access control for root login</td></tr>"
        "</table><dl><dt>100-999</dt><dd>System users.</dd></dl></body></html>",
        "utf-8",
    )
    text = load_document(path).text
    assert "File | Description\nsecuretty | TTY access control for root login" in text
    assert "100-999\nSystem users." in text


@pytest.mark.parametrize(
    ("encoding", "bom"),
    [
        ("utf-8", b""),
        ("utf-8", codecs.BOM_UTF8),
        ("utf-16-le", codecs.BOM_UTF16_LE),
        ("utf-16-be", codecs.BOM_UTF16_BE),
        ("utf-16-le", b""),
        ("cp1252", b""),
    ],
)
def test_text_encodings(tmp_path: Path, encoding: str, bom: bytes) -> None:
    text = "Crème brûlée costs €5 at the café — naïve “quotes”."
    path = tmp_path / "menu.txt"
    path.write_bytes(bom + text.encode(encoding))
    assert load_document(path).text == text


def test_binary_and_empty_files_are_skipped_with_a_reason(tmp_path: Path) -> None:
    binary = tmp_path / "photo.dat"
    binary.write_bytes(os.urandom(2048) + b"\x00\x00")
    with pytest.raises(UnsupportedDocument, match="binary"):
        load_document(binary)
    empty = tmp_path / "empty.txt"
    empty.write_bytes(b"")
    with pytest.raises(UnsupportedDocument, match="empty"):
        load_document(empty)
    fake_pdf = tmp_path / "fake.pdf"
    fake_pdf.write_bytes(os.urandom(1000))
    with pytest.raises(UnsupportedDocument, match=r"fake\.pdf"):
        load_document(fake_pdf)


def test_unknown_extension_is_sniffed_as_text(tmp_path: Path) -> None:
    path = tmp_path / "README.rst"
    path.write_text("Installation\n============\n\nRun the installer.\n", "utf-8")
    assert "Run the installer." in load_document(path).text
