"""Large documents are written batch by batch and still appear whole (or, cancelled, not at
all); an index of the previous format gains the OCR column without indexing again."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable
from pathlib import Path

import pytest

from hearth.index import indexer
from hearth.index.document_index import DocumentIndex
from hearth.index.embedder import Vectors
from hearth.index.store import IndexStore, PreparedChunk
from hearth.jobs import JobCancelled
from tests.documents.sample_files import write_csv


def ledger_rows(count: int, special: int, name: str) -> list[list[object]]:
    rows: list[list[object]] = [["Entry", "Keeper", "Note"]]
    for number in range(1, count + 1):
        note = f"{name} found a brass sextant" if number == special else "lamp trimmed, all well"
        rows.append([number, "Parish crew" if number != special else name, note])
    return rows


def vector_count(index: DocumentIndex) -> int:
    return index.store.vectors.passages.count()


@pytest.mark.slow_io
def test_a_large_document_streams_in_batches_and_is_found_whole(
    document_index: DocumentIndex, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(indexer, "LARGE_DOCUMENT_CHUNKS", 10)
    monkeypatch.setattr(indexer, "EMBED_BATCH_CHUNKS", 8)
    path = write_csv(tmp_path / "ledger.csv", ledger_rows(1500, 1234, "Ottilie Varga"))
    writers: list[object] = []
    original = IndexStore.large_document_writer

    def spy(self: IndexStore, document_path: str) -> object:
        writer = original(self, document_path)
        writers.append(writer)
        return writer

    monkeypatch.setattr(IndexStore, "large_document_writer", spy)
    report = document_index.index_paths([path])
    assert report.indexed == [str(path)]
    assert len(writers) == 1  # it went the streamed way
    [record] = document_index.documents()
    assert record.chunk_count == report.chunks > 30
    stored = document_index.store.document_chunks(str(path))
    assert len(stored) == record.chunk_count
    [hit, *_] = document_index.search("Who found a brass sextant?", k=3)
    assert "Ottilie Varga" in hit.chunk.text
    first, last = (int(n) for n in str(hit.chunk.heading).removeprefix("rows ").split("–"))
    assert first <= 1235 <= last  # entry 1234 is row 1235 (the header is row 1)
    assert not document_index.store.marker.exists()


def test_cancelling_a_large_document_keeps_the_old_version_and_no_orphans(
    document_index: DocumentIndex, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(indexer, "LARGE_DOCUMENT_CHUNKS", 10)
    monkeypatch.setattr(indexer, "EMBED_BATCH_CHUNKS", 8)
    path = write_csv(tmp_path / "ledger.csv", ledger_rows(600, 300, "Ottilie Varga"))
    document_index.index_paths([path])
    before = document_index.store.document_chunks(str(path))
    vectors_before = vector_count(document_index)

    write_csv(path, ledger_rows(1500, 1400, "Cassius Ferrante"))
    batches = 0
    original_embed = indexer.Indexer._embed

    def embed_then_count(
        self: indexer.Indexer, chunks: list[PreparedChunk], stored_elsewhere: Iterable[str] = ()
    ) -> tuple[Vectors, dict[str, Vectors]]:
        nonlocal batches
        batches += 1
        return original_embed(self, chunks, stored_elsewhere)

    monkeypatch.setattr(indexer.Indexer, "_embed", embed_then_count)
    with pytest.raises(JobCancelled):
        document_index.index_paths([path], should_cancel=lambda: batches >= 3)
    assert document_index.store.document_chunks(str(path)) == before
    assert vector_count(document_index) == vectors_before  # the new batches were undone
    assert not document_index.store.marker.exists()
    [hit, *_] = document_index.search("Who found a brass sextant?", k=3)
    assert "Ottilie Varga" in hit.chunk.text


def test_an_index_of_the_previous_format_keeps_its_documents(
    document_index: DocumentIndex, tmp_path: Path
) -> None:
    path = write_csv(tmp_path / "members.csv", [["Name", "Town"], ["Hana Sato", "Kirkwall"]])
    document_index.index_paths([path])
    folder = document_index.store.folder
    document_index.close()
    # What version 2 wrote: no ocr column, and its format in PRAGMA user_version alone
    # (no record of named migrations).
    db = sqlite3.connect(folder / "index.sqlite3")
    db.execute("ALTER TABLE chunks DROP COLUMN ocr")
    db.execute("DROP TABLE migrations")
    db.execute("PRAGMA user_version = 2")
    db.commit()
    db.close()

    reopened = DocumentIndex(folder, embedder=document_index.embedder)
    try:
        assert reopened.store.documents_to_reindex() == []
        [hit] = reopened.search("Where does Hana Sato live?", k=1)
        assert hit.to_json()["ocr"] is False
        version = reopened.store.rows.db.execute("PRAGMA user_version").fetchone()[0]
        assert version == 3
    finally:
        reopened.close()
