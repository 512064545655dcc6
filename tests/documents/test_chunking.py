from __future__ import annotations

import itertools
from pathlib import Path

from bench.sample_documents import report_pages, write_pdf
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


def test_passages_tile_each_chunk_after_the_overlap_it_shares() -> None:
    from hearth.documents.chunking import PASSAGE_MAX_CHARS, passage_spans
    from hearth.index.store import PreparedChunk

    text = " ".join(f"Sentence number {n} says something about the harbour." for n in range(90))
    document = LoadedDocument(
        Path("harbour.txt"), "text", "harbour", [Section(text, page=None, heading=None, start=0)]
    )
    chunks = chunk_document(document)
    assert len(chunks) > 2
    for chunk in chunks:
        spans = passage_spans(chunk.text)
        assert "".join(chunk.text[a:b] for a, b in spans) == chunk.text  # no gap, no overlap
        assert all(b - a <= PASSAGE_MAX_CHARS + 120 for a, b in spans)
    second = chunks[1]
    overlap = chunks[0].end - second.start
    assert overlap > 0
    prepared = PreparedChunk(
        "id", 1, None, None, second.start, second.end, second.text, {}, "harbour.txt", overlap
    )
    passages = prepared.passage_texts()
    assert passages[0].startswith("harbour.txt\n")  # the context line, once per chunk
    assert not any(p.startswith("harbour.txt") for p in passages[1:])
    embedded = "".join(p.removeprefix("harbour.txt\n") for p in passages).replace(" ", "")
    assert embedded == second.text[overlap:].replace(" ", "")
