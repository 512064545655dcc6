"""OCR with the real model from the rapidocr wheel: scanned PDFs, mixed PDFs and images are
read, indexed with their pages and the OCR flag, and found by search; nothing goes online."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from hearth.documents import ocr
from hearth.documents.loaders import UnsupportedDocument, load_document, page_text
from hearth.index.document_index import DocumentIndex
from tests.documents.sample_files import page_image, scanned_pdf, write_mixed_pdf

NETGUARD = Path(__file__).resolve().parents[1] / "reliability" / "netguard"

PAGE_ONE = ["Minutes of the harbour board, spring meeting.", "The ferry timetable was agreed."]
PAGE_TWO = [
    "The keeper Tobias Wren logged fourteen storms in 1893.",
    "Paraffin for the great lamp cost three shillings a gallon.",
]
TEXT_PAGE = (
    "Annual accounts of the Millbrook Lighthouse Trust. Income came from membership fees, "
    "the summer open days and a legacy left by a former harbour master."
)


def words(text: str) -> set[str]:
    return {w.strip(".,").lower() for w in text.split()}


def test_scanned_pdf_is_read_by_ocr_and_cited_at_its_page(
    document_index: DocumentIndex, tmp_path: Path
) -> None:
    path = scanned_pdf(tmp_path / "scan.pdf", [PAGE_ONE, PAGE_TWO])
    document = load_document(path)
    assert document.page_count == 2
    assert [(s.page, s.ocr) for s in document.sections] == [(1, True), (2, True)]
    # The recogniser reads the rendered words back (allowing a misread word or two).
    expected = words(" ".join(PAGE_TWO))
    assert len(expected & words(document.sections[1].text)) >= len(expected) - 2

    labels: list[str] = []
    report = document_index.index_paths([path], progress=lambda d, t, label: labels.append(label))
    assert report.indexed == [str(path)]
    assert "OCR page 1 of 2 (scan.pdf)" in labels
    assert "OCR page 2 of 2 (scan.pdf)" in labels
    [hit, *_] = document_index.search("How many storms did Tobias Wren log?", k=3)
    assert hit.page == 2
    assert "Wren" in hit.chunk.text
    found = hit.to_json()
    assert found["ocr"] is True
    assert found["page"] == 2


def test_mixed_pdf_gets_ocr_only_on_its_scanned_page(
    document_index: DocumentIndex, tmp_path: Path
) -> None:
    path = write_mixed_pdf(
        tmp_path / "mixed.pdf",
        [(TEXT_PAGE, False), ("\n".join(PAGE_TWO), True), (TEXT_PAGE.upper(), False)],
    )
    document = load_document(path)
    assert [(s.page, s.ocr) for s in document.sections] == [(1, False), (2, True), (3, False)]
    assert "Millbrook Lighthouse Trust" in document.sections[0].text  # the text layer, as is
    labels: list[str] = []
    document_index.index_paths([path], progress=lambda d, t, label: labels.append(label))
    assert [label for label in labels if label.startswith("OCR")] == ["OCR page 2 of 3 (mixed.pdf)"]
    [hit, *_] = document_index.search("What did paraffin for the lamp cost?", k=3)
    assert hit.page == 2
    assert hit.chunk.ocr
    [hit, *_] = document_index.search("Where did the Trust's income come from?", k=3)
    assert hit.page in (1, 3)
    assert not hit.chunk.ocr


def test_ocr_results_are_cached_for_the_viewer_and_page_reads(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = scanned_pdf(tmp_path / "cached.pdf", [PAGE_ONE, PAGE_TWO])
    first = load_document(path).sections[1].text

    def no_second_recognition(self: object, image: object) -> ocr.OcrPage:
        raise AssertionError("the page was recognised again")

    monkeypatch.setattr(ocr.OcrEngine, "recognise", no_second_recognition)
    assert page_text(path, 2) == first
    assert load_document(path).sections[1].text == first


def test_image_files_are_read_by_ocr(tmp_path: Path) -> None:
    png = tmp_path / "notice.png"
    page_image(PAGE_TWO).save(png)
    document = load_document(png)
    assert document.kind == "image"
    [section] = document.sections
    assert section.ocr
    assert section.page is None
    assert "Tobias Wren" in section.text

    tiff = tmp_path / "pages.tiff"
    first, second = page_image(PAGE_ONE), page_image(PAGE_TWO)
    first.save(tiff, save_all=True, append_images=[second])
    document = load_document(tiff)
    assert document.page_count == 2
    assert "ferry timetable" in document.sections[0].text
    assert document.sections[1].page == 2
    assert "Paraffin" in document.sections[1].text


def test_blank_scan_is_skipped_with_a_reason(tmp_path: Path) -> None:
    blank = tmp_path / "blank.jpg"
    page_image([]).save(blank)
    with pytest.raises(UnsupportedDocument, match="OCR found no text"):
        load_document(blank)
    empty_scan = scanned_pdf(tmp_path / "empty-scan.pdf", [[]])
    with pytest.raises(UnsupportedDocument, match="no text layer"):
        load_document(empty_scan)


def test_the_models_ship_in_the_wheel() -> None:
    folder = ocr.model_folder()
    assert "site-packages" in str(folder) or "dist-packages" in str(folder)
    for name in (ocr.DETECTION_MODEL, ocr.RECOGNITION_MODEL, ocr.ORIENTATION_MODEL):
        assert (folder / name).stat().st_size > 500_000


OCR_WITH_THE_NETWORK_BLOCKED = """
import json, socket, sys
from pathlib import Path
from hearth.documents.loaders import load_document
assert socket.getaddrinfo.__module__ == "sitecustomize", "the network guard is not loaded"
document = load_document(Path(sys.argv[1]))
print(json.dumps([s.text for s in document.sections]))
"""


def test_ocr_never_reaches_the_network(tmp_path: Path) -> None:
    path = tmp_path / "offline.png"
    page_image(PAGE_ONE).save(path)
    attempts = tmp_path / "network-attempts.log"
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(NETGUARD), os.environ.get("PYTHONPATH", "")]),
        "HEARTH_NETGUARD_LOG": str(attempts),
    }
    result = subprocess.run(
        [sys.executable, "-c", OCR_WITH_THE_NETWORK_BLOCKED, str(path)],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert "ferry timetable" in " ".join(json.loads(result.stdout))
    assert not attempts.exists(), attempts.read_text()


def test_cancel_during_ocr_stops_between_pages_and_stores_nothing(
    document_index: DocumentIndex, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    from hearth.jobs import JobCancelled

    path = scanned_pdf(tmp_path / "long-scan.pdf", [PAGE_ONE, PAGE_TWO, PAGE_ONE])
    labels: list[str] = []
    with pytest.raises(JobCancelled):
        document_index.index_paths(
            [path],
            progress=lambda d, t, label: labels.append(label),
            should_cancel=lambda: "OCR page 2 of 3 (long-scan.pdf)" in labels,
        )
    assert "OCR page 3 of 3 (long-scan.pdf)" not in labels
    assert document_index.documents() == []
    assert not any("unexpected error" in record.getMessage() for record in caplog.records)
