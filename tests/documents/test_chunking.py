from __future__ import annotations

import itertools
from pathlib import Path

from hearth.bench.sample_documents import report_pages, write_pdf
from hearth.documents.chunking import MAX_CHARS, chunk_document
from hearth.documents.loaders import LoadedDocument, Section, _finish, load_document


def test_chunks_respect_pages_and_sizes(tmp_path: Path) -> None:
    document = load_document(write_pdf(tmp_path / "report.pdf", report_pages()))
    chunks = chunk_document(document)
    text = document.text
    for chunk in chunks:
        assert chunk.page is not None
        assert len(chunk.text) <= MAX_CHARS
        assert text[chunk.start : chunk.end] == chunk.text
        page_section = next(s for s in document.sections if s.page == chunk.page)
        # The span lies inside its own page.
        assert page_section.start <= chunk.start
        assert chunk.end <= page_section.start + len(page_section.text)
    assert [c.ordinal for c in chunks] == list(range(len(chunks)))


def test_long_text_splits_with_overlap_never_mid_word() -> None:
    words = [f"word{i}" for i in range(1200)]
    document = _finish(LoadedDocument(Path("long.txt"), "text", "long", [Section(" ".join(words))]))
    chunks = chunk_document(document)
    assert len(chunks) > 4
    vocabulary = set(words)
    for chunk in chunks:
        assert 800 <= len(chunk.text) <= MAX_CHARS or chunk is chunks[-1]
        pieces = chunk.text.split()
        assert pieces[0] in vocabulary
        assert pieces[-1] in vocabulary
    for before, after in itertools.pairwise(chunks):
        assert after.start < before.end  # overlap
