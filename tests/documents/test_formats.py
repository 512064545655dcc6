"""EPUB, PPTX, XLSX, ODS, CSV and ODT, written by their own libraries, read into sections
at the right location and found by a search there; bad ones skipped with one-line reasons."""

from __future__ import annotations

import zipfile
from collections.abc import Callable
from pathlib import Path

import pytest

from hearth.documents.loaders import UnsupportedDocument, load_document
from hearth.index.document_index import DocumentIndex
from hearth.index.embedder import Embedder
from tests.documents.sample_files import (
    write_csv,
    write_epub,
    write_malformed_odt,
    write_ods,
    write_odt,
    write_pptx,
    write_xlsx,
    write_xlsx_with_bad_styles,
)

FILLER = "The committee discussed the footpaths, the hedges and the reading room hours. " * 4


def repair_rows(count: int, special_row: int) -> list[list[object]]:
    """A header and ``count`` rows; the one that will be row ``special_row`` of the sheet
    (the header is row 1) names a repair nobody else does."""
    rows: list[list[object]] = [["Date", "Item", "Contractor", "Cost"]]
    for number in range(2, count + 2):
        if number == special_row:
            rows.append(["2026-03-14", "foghorn diaphragm", "Ignatius Pemberton", 4180])
        else:
            rows.append([f"2026-01-{number % 28 + 1:02d}", "hedge trimming", "Parish crew", 40])
    return rows


def test_epub_chapters_are_sections_with_their_titles(
    document_index: DocumentIndex, tmp_path: Path
) -> None:
    path = write_epub(
        tmp_path / "keepers.epub",
        "Keepers of the Point",
        [
            ("The Lamp Room", f"{FILLER}\n\nThe lens was polished every morning at dawn."),
            (
                "The Harbour Steps",
                f"{FILLER}\n\nIn 1911 the mason Eliza Trevanion rebuilt the harbour steps.",
            ),
        ],
    )
    document = load_document(path)
    assert document.kind == "epub"
    assert document.title == "Keepers of the Point"
    headings = [s.heading for s in document.sections]
    assert "The Lamp Room" in headings
    assert "The Harbour Steps" in headings
    report = document_index.index_paths([path])
    assert report.indexed == [str(path)]
    [hit, *_] = document_index.search("Who rebuilt the harbour steps in 1911?", k=3)
    assert hit.chunk.heading == "The Harbour Steps"
    assert "Eliza Trevanion" in hit.chunk.text
    assert hit.to_json()["heading"] == "The Harbour Steps"


def test_pptx_slide_number_is_the_page_and_notes_are_read(
    document_index: DocumentIndex, tmp_path: Path
) -> None:
    path = write_pptx(
        tmp_path / "briefing.pptx",
        [
            ("Welcome", "Agenda for the spring volunteer briefing", ""),
            ("Lantern works", "The glazing bars were replaced in March", ""),
            ("Open days", "Guided tours on Sundays", "Remind Bartholomew Quill to bring the keys"),
        ],
    )
    document = load_document(path)
    assert document.kind == "pptx"
    assert document.page_count == 3
    slides = {s.page: s for s in document.sections}
    assert slides[2].heading == "Lantern works"
    assert "Notes: Remind Bartholomew Quill" in slides[3].text
    document_index.index_paths([path])
    [hit, *_] = document_index.search("Who must bring the keys?", k=3)
    assert hit.page == 3
    assert "Bartholomew Quill" in hit.chunk.text
    [hit, *_] = document_index.search("When were the glazing bars replaced?", k=3)
    assert hit.page == 2


def test_xlsx_rows_are_cited_by_sheet_and_row_range_with_the_header(
    document_index: DocumentIndex, tmp_path: Path
) -> None:
    path = write_xlsx(
        tmp_path / "accounts.xlsx",
        {
            "Members": [["Name", "Joined"], ["Hana Sato", 2019], ["Rafael Moreau", 2021]],
            "Repairs": repair_rows(120, special_row=77),
        },
    )
    document = load_document(path)
    assert document.kind == "xlsx"
    repairs = [s for s in document.sections if s.heading and s.heading.startswith("Repairs")]
    assert len(repairs) > 3  # 120 rows do not fit in one chunk
    for section in repairs:
        assert section.text.startswith("Date | Item | Contractor | Cost\n")
    document_index.index_paths([path])
    [hit, *_] = document_index.search("Who repaired the foghorn diaphragm?", k=3)
    assert "Ignatius Pemberton" in hit.chunk.text
    assert hit.chunk.text.startswith("Date | Item | Contractor | Cost")
    sheet, rows = str(hit.chunk.heading).split(", rows ")
    first, last = (int(n) for n in rows.split("–"))
    assert sheet == "Repairs"
    assert first <= 77 <= last
    [member] = [s for s in document.sections if s.heading and s.heading.startswith("Members")]
    assert member.heading == "Members, rows 2–3"


def test_csv_rows_are_cited_by_row_range(document_index: DocumentIndex, tmp_path: Path) -> None:
    path = write_csv(tmp_path / "repairs.csv", repair_rows(300, special_row=212))
    document_index.index_paths([path])
    [hit, *_] = document_index.search("foghorn diaphragm Ignatius Pemberton", k=3)
    assert "Ignatius Pemberton | 4180" in hit.chunk.text
    first, last = (int(n) for n in str(hit.chunk.heading).removeprefix("rows ").split("–"))
    assert first <= 212 <= last
    assert hit.chunk.text.splitlines()[0] == "Date | Item | Contractor | Cost"


def test_ods_and_odt(document_index: DocumentIndex, tmp_path: Path) -> None:
    sheet = write_ods(tmp_path / "stock.ods", {"Stores": repair_rows(60, special_row=31)})
    text = write_odt(
        tmp_path / "minutes.odt",
        "Minutes of the April meeting",
        [FILLER, "The treasurer Philippa Oyelaran reported a surplus of 312 pounds."],
    )
    assert load_document(sheet).kind == "ods"
    minutes = load_document(text)
    assert minutes.title == "Minutes of the April meeting"
    assert minutes.sections[0].heading == "Minutes of the April meeting"
    report = document_index.index_paths([sheet, text])
    assert sorted(report.indexed) == sorted([str(sheet), str(text)])
    [hit, *_] = document_index.search("Which contractor did the foghorn diaphragm?", k=3)
    assert hit.document == str(sheet)
    first, last = (int(n) for n in str(hit.chunk.heading).split(", rows ")[1].split("–"))
    assert first <= 31 <= last
    [hit, *_] = document_index.search("How large was the surplus the treasurer reported?", k=3)
    assert hit.document == str(text)
    assert "Philippa Oyelaran" in hit.chunk.text


def fake_encrypted_office_file(path: Path) -> Path:
    """What Office writes for a password-protected file: an OLE container, not a zip."""
    path.write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(4096))
    return path


def drm_epub(path: Path, tmp_path: Path) -> Path:
    source = write_epub(tmp_path / "plain.epub", "Locked", [("One", FILLER)])
    with zipfile.ZipFile(source) as original, zipfile.ZipFile(path, "w") as locked:
        for item in original.infolist():
            locked.writestr(item, original.read(item))
        locked.writestr(
            "META-INF/encryption.xml",
            '<encryption><EncryptedData><CipherData><CipherReference URI="EPUB/chapter1.xhtml"/>'
            "</CipherData></EncryptedData></encryption>",
        )
    return path


@pytest.mark.parametrize(
    ("name", "make", "reason"),
    [
        ("locked.xlsx", fake_encrypted_office_file, "password-protected"),
        ("locked.pptx", fake_encrypted_office_file, "password-protected"),
        ("locked.docx", fake_encrypted_office_file, "password-protected"),
        ("broken.pptx", lambda p: p.write_bytes(b"PK\x03\x04 not really" * 50) and p, "readable"),
        ("broken.epub", lambda p: p.write_bytes(b"not a zip" * 100) and p, "not a readable"),
        ("broken.ods", lambda p: p.write_bytes(b"PK\x03\x04" + bytes(300)) and p, "not a readable"),
        (
            "broken.xlsx",
            lambda p: p.write_bytes(b"PK\x03\x04" + bytes(300)) and p,
            "not a readable",
        ),
        ("broken.png", lambda p: p.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(64)) and p, "image"),
        ("malformed.odt", write_malformed_odt, "not well-formed XML"),
        ("bad-styles.xlsx", write_xlsx_with_bad_styles, "Unable to read workbook"),  # 3 lines
    ],
)
def test_bad_files_are_refused_with_a_one_line_reason(
    tmp_path: Path, name: str, make: Callable[[Path], object], reason: str
) -> None:
    path = tmp_path / name
    make(path)
    with pytest.raises(UnsupportedDocument) as caught:
        load_document(path)
    assert reason in caught.value.reason
    assert "\n" not in caught.value.reason
    assert name in str(caught.value)


def test_drm_epub_is_refused(tmp_path: Path) -> None:
    with pytest.raises(UnsupportedDocument, match="DRM"):
        load_document(drm_epub(tmp_path / "locked.epub", tmp_path))


def test_a_bad_file_does_not_stop_the_folder(document_index: DocumentIndex, tmp_path: Path) -> None:
    folder = tmp_path / "mixed"
    folder.mkdir()
    fake_encrypted_office_file(folder / "locked.xlsx")
    (folder / "broken.pptx").write_bytes(b"PK\x03\x04" + bytes(500))
    good = write_csv(folder / "members.csv", [["Name", "Town"], ["Hana Sato", "Kirkwall"]])
    report = document_index.index_paths([folder])
    assert report.indexed == [str(good)]
    reasons = {Path(s.path).name: s.reason for s in report.skipped}
    assert "password-protected" in reasons["locked.xlsx"]
    assert "not a readable presentation" in reasons["broken.pptx"]


def test_the_size_limit_in_settings_skips_larger_files(
    hearth_home: Path, shared_embedder: Embedder, tmp_path: Path
) -> None:
    from hearth.assistant.workspace import Workspace
    from hearth.settings import Settings, save_settings

    settings = Settings()
    settings.max_file_mb = 1
    save_settings(settings)
    big = write_csv(tmp_path / "big.csv", repair_rows(40_000, special_row=5))
    small = write_csv(tmp_path / "small.csv", repair_rows(10, special_row=5))
    with Workspace(embedder=shared_embedder) as workspace:  # the index takes its settings
        report = workspace.index.index_paths([big, small])
    assert report.indexed == [str(small)]
    [skipped] = report.skipped
    assert skipped.reason.startswith("too large to index (")
    assert "the limit set in Settings is 1 MB" in skipped.reason
