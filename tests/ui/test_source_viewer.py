"""The source viewer shows the real page of a PDF citation with the passage highlighted and
scrolled into view (text layer or OCR), and the text of other formats with the passage
highlighted; the cited text comes from the index, as the window passes it."""

from __future__ import annotations

from pathlib import Path

from pytestqt.qtbot import QtBot

from bench.sample_documents import FILLER, write_pdf
from hearth.assistant.sources import Source
from hearth.index.document_index import DocumentIndex
from hearth.ui.source_viewer import OCR_NOTE, SourceViewer, read_source_view
from tests.documents.sample_files import scanned_pdf, write_csv, write_pptx


def cited(index: DocumentIndex, question: str) -> Source:
    """The first hit as the window hands a source to the viewer."""
    [hit, *_] = index.search(question, k=1)
    return Source(1, hit.document, hit.page, hit.chunk.text, hit.score)


def open_viewer(qtbot: QtBot, source: Source, index: DocumentIndex) -> SourceViewer:
    viewer = SourceViewer(source, read_source_view(source, index.document(source.document)))
    qtbot.addWidget(viewer)
    viewer.show()
    qtbot.waitExposed(viewer)
    return viewer


def test_pdf_citation_shows_the_rendered_page_scrolled_to_the_passage(
    qtbot: QtBot, document_index: DocumentIndex, tmp_path: Path
) -> None:
    fact = "The restoration of the bell tower cost 61,250 pounds, paid by the Chapel Fund."
    # The fact sits at the foot of page 2, below a screenful of other text.
    path = write_pdf(tmp_path / "report.pdf", [FILLER * 6, FILLER * 12 + fact, FILLER * 6])
    document_index.index_paths([path])
    source = cited(document_index, "What did the restoration of the bell tower cost?")
    assert source.page == 2
    viewer = open_viewer(qtbot, source, document_index)
    assert viewer.views.currentWidget() is viewer.page_area
    assert viewer.page_view is not None
    assert not viewer.page_view.ocr
    assert viewer.highlighted
    assert "61,250 pounds" in viewer.highlighted_text()
    boxes = viewer.page_view.boxes
    assert boxes
    width, height = viewer.page_view.image.size
    assert all(
        0 <= left < right <= width and 0 <= top < bottom <= height
        for left, top, right, bottom in boxes
    )
    assert viewer.page_area.verticalScrollBar().value() > 0
    assert viewer.passage_visible()
    assert not viewer.note.isVisible()


def test_scanned_page_is_highlighted_from_its_ocr_lines(
    qtbot: QtBot, document_index: DocumentIndex, tmp_path: Path
) -> None:
    path = scanned_pdf(
        tmp_path / "scan.pdf",
        [
            ["The harbour board met in spring."],
            ["The keeper Tobias Wren logged fourteen storms in 1893."]
            + ["The ledger notes routine weather."] * 8,
        ],
    )
    document_index.index_paths([path])
    source = cited(document_index, "How many storms did Tobias Wren log?")
    viewer = open_viewer(qtbot, source, document_index)
    assert viewer.page_view is not None
    assert viewer.page_view.ocr
    assert viewer.note.isVisible()
    assert viewer.note.text() == OCR_NOTE
    assert viewer.highlighted
    assert "Tobias Wren" in viewer.highlighted_text()
    # Every OCR line of the cited chunk is marked: the first line, and the routine ones.
    assert len(viewer.page_view.boxes) >= 2


def test_other_formats_show_their_text_with_the_passage_highlighted(
    qtbot: QtBot, document_index: DocumentIndex, tmp_path: Path
) -> None:
    rows: list[list[object]] = [["Date", "Item", "Contractor"]]
    rows += [["2026-01-05", "hedge trimming", "Parish crew"]] * 200
    rows.insert(150, ["2026-03-14", "foghorn diaphragm", "Ignatius Pemberton"])
    path = write_csv(tmp_path / "repairs.csv", rows)
    slides = write_pptx(
        tmp_path / "talk.pptx",
        [("One", "Welcome", ""), ("Two", "The glazing bars were replaced in March", "")],
    )
    document_index.index_paths([path, slides])
    viewer = open_viewer(
        qtbot, cited(document_index, "Who repaired the foghorn diaphragm?"), document_index
    )
    assert viewer.views.currentWidget() is viewer.browser
    assert viewer.highlighted
    assert "Ignatius Pemberton" in viewer.highlighted_text()
    viewer = open_viewer(
        qtbot, cited(document_index, "When were the glazing bars replaced?"), document_index
    )
    assert viewer.page == 2
    assert "glazing bars" in viewer.highlighted_text()
    assert "Welcome" not in viewer.browser.toPlainText()  # only the cited slide


def test_a_file_gone_or_swapped_since_indexing_is_not_read(
    qtbot: QtBot, document_index: DocumentIndex, tmp_path: Path
) -> None:
    viewer = open_viewer(
        qtbot,
        Source(1, str(tmp_path / "gone.pdf"), 1, "x", 0.5),
        document_index,
    )
    assert not viewer.highlighted
    assert "can no longer be read" in viewer.browser.toPlainText()
    # Swapped for a link to a file outside the folder after indexing: never shown.
    folder = tmp_path / "notes"
    folder.mkdir()
    note = folder / "swapme.txt"
    note.write_text("The orchard gate is painted green every April.\n")
    outside = tmp_path / "secret.txt"
    outside.write_text("root:x:0:0:root:/root:/bin/bash\n")
    document_index.index_paths([folder])
    source = cited(document_index, "When is the orchard gate painted?")
    note.unlink()
    note.symlink_to(outside)
    viewer = open_viewer(qtbot, source, document_index)
    text = viewer.browser.toPlainText()
    assert "changed since it was indexed" in text
    assert "root:x" not in text
