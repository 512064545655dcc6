"""The index end to end: real loaders, real MiniLM embeddings, chromadb and SQLite on disk."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from bench.sample_documents import FILLER, report_pages, write_docx, write_pdf
from hearth.index import retrieve
from hearth.index.document_index import DocumentIndex
from hearth.index.keywords import proximity_scores
from hearth.index.store import IndexStore
from hearth.index.vectors import chunk_id_of_passage, entity_vector_id
from hearth.paths import hearth_paths


def make_library(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    write_pdf(folder / "lighthouse-report.pdf", report_pages())
    (folder / "garden.md").write_text(
        "# Garden diary\n\nThe quince tree was planted by Tobias Fenwick on 2026-03-02.\n\n"
        "## Pests\n\nAphids on the roses; ladybirds released in April.\n",
        "utf-8",
    )
    write_docx(folder / "boiler.docx", "Boiler", ["The boiler pressure must stay near 1.5 bar."])
    (folder / "notes.txt").write_bytes(
        "Café receipts: the espresso machine costs €420.".encode("cp1252")
    )
    (folder / "binary.bin").write_bytes(os.urandom(512) + b"\x00")
    return folder


def consistent(store: IndexStore) -> None:
    """Every stored chunk has a vector and no vector lacks a chunk; counts agree."""
    chunk_ids = {str(r[0]) for r in store.rows.db.execute("SELECT chunk_id FROM chunks")}
    passages = store.vectors.passages.metadata()
    # Every chunk has its passages (at least one each) and every passage has its chunk.
    assert {chunk_id_of_passage(v) for v in passages} == chunk_ids
    assert all(m["chunk"] == chunk_id_of_passage(v) for v, m in passages.items())
    for document in store.documents():
        (count,) = store.rows.db.execute(
            "SELECT count(*) FROM chunks WHERE document_id = ?", (document.id,)
        ).fetchone()
        assert count == document.chunk_count
    (fts,) = store.rows.db.execute("SELECT count(*) FROM chunk_fts").fetchone()
    assert fts == len(chunk_ids)
    (orphans,) = store.rows.db.execute(
        "SELECT count(*) FROM entities e WHERE NOT EXISTS"
        " (SELECT 1 FROM entity_chunks ec WHERE ec.entity_id = e.id)"
    ).fetchone()
    assert orphans == 0
    embedded = {
        entity_vector_id(str(key))
        for (key,) in store.rows.db.execute(
            "SELECT key FROM entities WHERE kind IN ('name', 'title')"
        )
    }
    assert store.vectors.entities.ids() == embedded


def test_index_folder_and_cite_the_right_page(
    document_index: DocumentIndex, tmp_path: Path
) -> None:
    library = make_library(tmp_path / "library")
    report = document_index.index_paths([library])
    assert len(report.indexed) == 4
    assert [s.path for s in report.skipped] == [str(library / "binary.bin")]
    assert "binary" in report.skipped[0].reason
    hits = document_index.search("How much did the lantern room restoration cost?", k=3)
    assert hits[0].document == str(library / "lighthouse-report.pdf")
    assert hits[0].page == 2
    hits = document_index.search("Who opened the museum of fog signals?", k=3)
    assert (hits[0].document, hits[0].page) == (str(library / "lighthouse-report.pdf"), 4)
    consistent(document_index.store)


def test_dates_and_names_in_any_form(document_index: DocumentIndex, tmp_path: Path) -> None:
    library = make_library(tmp_path / "library")
    document_index.index_paths([library])
    report = str(library / "lighthouse-report.pdf")
    for query in (
        "What happened on 20260714?",
        "What happened on 2026-07-14?",
        "What happened on July 14?",
    ):
        hits = document_index.search(query, k=3)
        assert (hits[0].document, hits[0].page) == (report, 4), query
    for query in ("what did marguerite okonkwo do", "What did MargueriteOkonkwo do?"):
        hits = document_index.search(query, k=3)
        assert (hits[0].document, hits[0].page) == (report, 4), query
    hits = document_index.search("tobias fenwick planted what", k=2)
    assert hits[0].document == str(library / "garden.md")


def test_a_named_date_decides_between_otherwise_alike_notes(
    document_index: DocumentIndex, tmp_path: Path
) -> None:
    notes = tmp_path / "minutes"
    notes.mkdir()
    for day in range(2, 30, 7):  # four near-identical weekly minutes
        (notes / f"minutes-{day:02d}.md").write_text(
            f"# Residents' meeting, 2026-03-{day:02d}\n\nThe committee discussed the boiler, the"
            " garden and the bicycle shed. Tobias Fenwick took the minutes and thanked everyone"
            " for coming; the next meeting is in a week.\n",
            "utf-8",
        )
    document_index.index_paths([notes])
    for query in ("What did the committee discuss on March 16?", "boiler meeting 20260316"):
        hits = document_index.search(query, k=4)
        assert hits[0].document == str(notes / "minutes-16.md"), query
        assert hits[0].evidence.get("date_match") == 1.0


def test_a_named_month_decides_between_otherwise_alike_notes(
    document_index: DocumentIndex, tmp_path: Path
) -> None:
    notes = tmp_path / "minutes"
    notes.mkdir()
    for month in range(1, 13, 2):  # six near-identical minutes, every other month
        (notes / f"minutes-{month:02d}.md").write_text(
            f"# Residents' meeting, 2026-{month:02d}-12\n\nThe committee discussed the boiler,"
            " the garden and the bicycle shed. Tobias Fenwick took the minutes and thanked"
            " everyone for coming; the next meeting is in two months.\n",
            "utf-8",
        )
    document_index.index_paths([notes])
    for query, month in (
        ("What did the committee discuss in September?", 9),
        ("Which shed did they discuss in the month of May?", 5),
    ):
        hits = document_index.search(query, k=3)
        assert hits[0].document == str(notes / f"minutes-{month:02d}.md"), query
        assert hits[0].evidence.get("date_match") == 1.0
    # A date the question names outright still decides over its month.
    hits = document_index.search("What did the committee discuss on July 12?", k=3)
    assert hits[0].document == str(notes / "minutes-07.md")


def test_the_question_s_words_together_outrank_the_same_words_spread_out(
    document_index: DocumentIndex, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every log names the van, the ferry and the harbour, twice each and far apart; only
    one says, in one line, where the van and the ferry were. BM25 prefers the repeated
    words; proximity finds the line that restates the question. (Dense search is set
    aside: on six short notes its scaling makes any small difference decisive.)"""
    monkeypatch.setattr(retrieve, "DENSE_WEIGHT", 0.0)
    logs = tmp_path / "logs"
    logs.mkdir()
    filler = (
        "Weather was mild and the crew took lunch at noon. The depot reported no delays on"
        " the inland routes, and the paperwork was filed on time by the office staff."
    )
    for day in range(1, 6):
        (logs / f"day-{day}.md").write_text(
            f"# Day {day}\n\nThe van was washed; the van was loaded. {filler} {filler}\n\n"
            f"The ferry was late, the ferry was full. {filler} {filler}\n\n"
            f"The harbour office shut for the harbour fair.\n",
            "utf-8",
        )
    (logs / "day-6.md").write_text(
        f"# Day 6\n\n{filler} {filler}\n\nAt the harbour the van missed the last ferry by"
        f" ten minutes.\n\n{filler} {filler}\n",
        "utf-8",
    )
    document_index.index_paths([logs])
    question = "Was the van at the harbour for the ferry?"
    hits = document_index.search(question, k=3)
    assert hits[0].document == str(logs / "day-6.md"), [h.document for h in hits]
    assert hits[0].evidence["proximity"] == 1.0
    assert hits[0].evidence["keyword"] < hits[1].evidence["keyword"]
    monkeypatch.setattr(retrieve, "PROXIMITY_WEIGHT", 0.0)
    assert document_index.search(question, k=3)[0].document != str(logs / "day-6.md")


def test_proximity_is_the_share_of_the_question_s_words_in_one_window() -> None:
    spread = "van " + "word " * 40 + "ferry"
    together = "the van met the ferry"
    scores = proximity_scores("van ferry", [spread, together, "nothing here"])
    assert scores[1] == 1.0
    assert 0.0 < scores[0] < 1.0
    assert scores[2] == 0.0
    assert proximity_scores("the of", ["the of"]) == [0.0]  # stop words only


def test_reindex_is_incremental(document_index: DocumentIndex, tmp_path: Path) -> None:
    library = make_library(tmp_path / "library")
    document_index.index_paths([library])
    again = document_index.index_paths([library])
    assert again.indexed == []
    assert len(again.unchanged) == 4
    garden = library / "garden.md"
    garden.write_text("# Garden diary\n\nThe medlar replaced the quince in autumn.\n", "utf-8")
    changed = document_index.index_paths([library])
    assert changed.indexed == [str(garden)]
    texts = " ".join(h.chunk.text for h in document_index.search("garden diary tree", k=10))
    assert "medlar" in texts
    assert "quince tree was planted" not in texts
    consistent(document_index.store)


def test_remove_purges_every_store(document_index: DocumentIndex, tmp_path: Path) -> None:
    library = make_library(tmp_path / "library")
    document_index.index_paths([library])
    before = document_index.store.counts()
    assert document_index.remove(library / "lighthouse-report.pdf")
    after = document_index.store.counts()
    assert after["documents"] == before["documents"] - 1
    assert after["chunks"] < before["chunks"]
    assert after["entities"] < before["entities"]  # its own names and dates went with it
    assert all("lighthouse" not in h.document for h in document_index.search("lantern room", k=10))
    consistent(document_index.store)
    assert not document_index.remove(library / "lighthouse-report.pdf")


@pytest.mark.slow_io
def test_kill_during_indexing_leaves_a_consistent_index(hearth_home: Path, tmp_path: Path) -> None:
    library = tmp_path / "many"
    library.mkdir()
    for number in range(120):
        (library / f"note-{number:03d}.txt").write_text(
            f"Note {number}. "
            + FILLER * 12
            + f"\n\nPerson{number} Example visited on day {number}.",
            "utf-8",
        )
    database = hearth_paths().index / "index.sqlite3"
    process = subprocess.Popen(
        [sys.executable, "-m", "hearth", "index", str(library), "--json"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=os.environ.copy(),
    )
    try:
        deadline = time.monotonic() + 240
        while time.monotonic() < deadline:
            if database.exists():
                try:
                    with sqlite3.connect(database) as db:
                        (count,) = db.execute("SELECT count(*) FROM documents").fetchone()
                except sqlite3.OperationalError:
                    count = 0
                if count > 0:
                    break
            time.sleep(0.05)
        else:
            raise AssertionError("indexing never started writing")
        process.send_signal(signal.SIGKILL)
    finally:
        process.wait(timeout=30)
    store = IndexStore(hearth_paths().index)  # reconciles if the kill landed mid-write
    try:
        consistent(store)
        partial = len(store.documents())
        assert 0 < partial < 120
    finally:
        store.close()
    resumed = subprocess.run(
        [sys.executable, "-m", "hearth", "index", str(library), "--json"],
        capture_output=True,
        text=True,
        env=os.environ.copy(),
        timeout=600,
        check=True,
    )
    assert '"skipped": []' in resumed.stdout
    store = IndexStore(hearth_paths().index)
    try:
        assert len(store.documents()) == 120
        consistent(store)
    finally:
        store.close()


def test_documents_missing_vectors_are_listed_for_indexing_again(
    document_index: DocumentIndex, tmp_path: Path
) -> None:
    library = make_library(tmp_path / "library")
    document_index.index_paths([library])
    garden = str(library / "garden.md")
    store = document_index.store
    # What a crash between chromadb's write and SQLite's leaves: rows without vectors.
    store.vectors.passages.delete_where_in("document", [garden])
    store.marker.write_text(garden, "utf-8")
    document_index.close()

    reopened = DocumentIndex(store.folder, embedder=document_index.embedder)
    try:
        assert garden not in {d.path for d in reopened.documents()}
        assert reopened.store.documents_to_reindex() == [garden]
        consistent(reopened.store)
        reopened.index_paths([Path(p) for p in reopened.store.documents_to_reindex()])
        assert garden in {d.path for d in reopened.documents()}
        assert reopened.store.documents_to_reindex() == []
        consistent(reopened.store)
    finally:
        reopened.close()


def test_an_index_of_the_old_format_is_rebuilt_from_the_files(
    document_index: DocumentIndex, tmp_path: Path
) -> None:
    library = make_library(tmp_path / "library")
    document_index.index_paths([library])
    before = sorted(d.path for d in document_index.documents())
    folder = document_index.store.folder
    client = document_index.store.vectors.client
    client.get_or_create_collection("chunks", embedding_function=None)  # version 1's vectors
    document_index.store.rows.db.execute("PRAGMA user_version = 1")
    document_index.close()

    reopened = DocumentIndex(folder, embedder=document_index.embedder)
    try:
        assert reopened.documents() == []
        assert reopened.store.documents_to_reindex() == before
        names = {c.name for c in reopened.store.vectors.client.list_collections()}
        assert "chunks" not in names
        reopened.index_paths([Path(p) for p in before])
        assert sorted(d.path for d in reopened.documents()) == before
        assert reopened.store.documents_to_reindex() == []
        consistent(reopened.store)
    finally:
        reopened.close()


def test_graph_scores_summed_in_sqlite_match_a_plain_count(
    document_index: DocumentIndex, tmp_path: Path
) -> None:
    import math

    from hearth.index.retrieve import MENTION_FACTOR_CAP

    document_index.index_paths([make_library(tmp_path / "library")])
    retriever = document_index.retriever
    rows = document_index.store.rows.db.execute(
        "SELECT entity_id, chunk_rowid, count FROM entity_chunks"
    ).fetchall()
    weights = {entity_id: 1.0 + entity_id % 3 for entity_id, _, _ in rows[:40]}
    expected: dict[int, float] = {}
    for entity_id, rowid, count in rows:
        if entity_id in weights:
            factor = min(MENTION_FACTOR_CAP, 1.0 + 0.15 * math.log(count))
            expected[rowid] = expected.get(rowid, 0.0) + weights[entity_id] * factor
    got = retriever.direct_scores(weights)
    assert got.keys() == expected.keys()
    assert all(abs(got[r] - expected[r]) < 1e-9 for r in expected)
    some = sorted(expected)[:3]
    assert retriever.direct_scores(weights, rowids=some).keys() == set(some)
    best = max(expected.values())
    assert max(retriever.direct_scores(weights, limit=1).values()) == pytest.approx(best)


def test_entities_common_to_most_chunks_still_score_the_candidates(
    document_index: DocumentIndex, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import hearth.index.retrieve as retrieve

    library = make_library(tmp_path / "library")
    document_index.index_paths([library])
    # Every entity counts as common: the walk reads no chunk by its mentions.
    monkeypatch.setattr(retrieve, "COMMON_ENTITY_MIN_CHUNKS", 0)
    monkeypatch.setattr(retrieve, "COMMON_ENTITY_SHARE", 0.0)
    hits = document_index.search("What did Marguerite Okonkwo do on 2026-07-14?", k=3)
    assert (hits[0].document, hits[0].page) == (str(library / "lighthouse-report.pdf"), 4)
    assert hits[0].evidence["graph"] > 0


def test_keywords_in_most_chunks_are_left_out_of_a_large_index(
    document_index: DocumentIndex, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import hearth.index.retrieve as retrieve

    library = tmp_path / "notes"
    library.mkdir()
    things = ["boiler", "kettle", "ladder", "mirror", "pillow", "teapot"]
    for number, thing in enumerate(things):
        (library / f"note-{number}.txt").write_text(
            f"Quarterly inspection {number}: the {thing} was checked and found sound.", "utf-8"
        )
    document_index.index_paths([library])
    # The index counts as large: a keyword in more than half its chunks is left out.
    monkeypatch.setattr(retrieve, "COMMON_KEYWORD_MIN_CHUNKS", 0)
    rows = document_index.store.rows
    vocabulary = document_index.retriever._graph_vocabulary()
    assert rows.keyword_chunk_count("checking") == len(things)  # counted as the index stems
    assert vocabulary.distinctive_keywords(rows, ["quarterly", "ladder"]) == ["ladder"]
    assert vocabulary.distinctive_keywords(rows, ["quarterly"]) == ["quarterly"]
    hits = document_index.search("quarterly ladder", k=3)
    assert hits[0].document == str(library / "note-2.txt")
    assert hits[0].evidence["keyword_match"] == 1.0


def test_a_document_an_older_reader_read_is_read_again_and_kept_till_then(
    document_index: DocumentIndex, tmp_path: Path
) -> None:
    library = tmp_path / "library"
    library.mkdir()
    page = library / "filesystem.html"
    page.write_text(
        "<html><body><h1>/etc</h1><table><tr><td>securetty</td>"
        "<td>TTY access control for root login</td></tr></table></body></html>",
        "utf-8",
    )
    notes = library / "notes.txt"
    notes.write_text("The quince tree was planted by Tobias Fenwick.", "utf-8")
    document_index.index_paths([library])
    store = document_index.store
    assert store.document(str(page)).reader_version == 2  # type: ignore[union-attr]
    # An index written before the HTML reader kept table cells apart: its rows are version 1.
    store.rows.db.execute("UPDATE documents SET reader_version = 1")
    document_index.close()

    reopened = DocumentIndex(store.folder, embedder=document_index.embedder)
    try:
        # Listed to be read again (the window does at its start); searchable meanwhile.
        assert reopened.documents_to_reindex() == [str(page)]
        assert reopened.search("securetty", k=1)
        again = reopened.index_paths([library])
        assert (again.indexed, again.unchanged) == ([str(page)], [str(notes)])
        assert reopened.documents_to_reindex() == []
        # Re-index asked for by the user reads an unchanged file again.
        forced = reopened.index_paths([notes], reread=True)
        assert forced.indexed == [str(notes)]
        consistent(reopened.store)
    finally:
        reopened.close()
