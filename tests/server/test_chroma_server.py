"""The index's vectors on a chromadb server (``chroma run`` on loopback): searching, two
Hearths on one server, and the server going away while Hearth indexes."""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

import chromadb
import pytest
from chromadb.config import Settings as ChromaSettings

import hearth.index.indexer
import hearth.index.vectors
from bench.processes import ServerProcess, chroma_server, running
from bench.sample_documents import report_pages, write_pdf
from hearth.assistant.workspace import Workspace
from hearth.cli import run_cli
from hearth.index.document_index import DocumentIndex, IndexSettings
from hearth.index.store import VectorStoreUnavailable

QUESTION = "How much did the restoration of the lantern room cost?"


def write_notes(folder: Path, count: int, topic: str) -> list[Path]:
    """``count`` small notes, two chunks each, every one about ``topic`` and its number."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for number in range(count):
        path = folder / f"{topic}-{number:02d}.md"
        paragraph = f"Note {number} about the {topic}. " + f"The {topic} log entry {number}. " * 40
        path.write_text(f"# {topic.title()} note {number}\n\n{paragraph}\n\n{paragraph}\n", "utf-8")
        paths.append(path)
    return paths


def server_collections(url: str) -> set[str]:
    host, port = url.removeprefix("http://").split(":")
    client = chromadb.HttpClient(
        host=host, port=int(port), settings=ChromaSettings(anonymized_telemetry=False)
    )
    return {collection.name for collection in client.list_collections()}


@pytest.fixture
def chroma(tmp_path: Path) -> Any:
    with running(chroma_server(tmp_path / "chroma-data", tmp_path / "chroma.log")) as server:
        yield server


def test_an_index_on_the_server_searches_and_keeps_nothing_in_the_folder(
    chroma: ServerProcess,
    hearth_home: Path,
    tmp_path: Path,
    shared_embedder: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("HEARTH_CHROMA_URL", chroma.url)  # read by the Workspace
    report = tmp_path / "report.pdf"
    write_pdf(report, report_pages())
    with Workspace(embedder=shared_embedder) as workspace:
        index = workspace.index
        assert index.index_paths([report]).indexed == [str(report)]
        hits = index.search(QUESTION, k=3)
        assert (hits[0].document, hits[0].page) == (str(report), 2)
        passages, entities = index.store.collection_names()
        assert passages.startswith("hearth-")
        assert passages.endswith("-passages")
        assert {passages, entities} <= server_collections(chroma.url)
        assert index.store.consistency() == {
            "orphan_passage_vectors": 0,
            "chunks_without_vectors": 0,
        }
    assert not (hearth_home / "data" / "index" / "vectors").exists()
    with Workspace(embedder=shared_embedder) as workspace:
        # The same collections again: the index's id is kept beside it.
        assert workspace.index.store.collection_names() == (passages, entities)
        assert workspace.index.search(QUESTION, k=1)[0].page == 2


def test_two_hearths_on_one_server_never_touch_each_others_vectors(
    chroma: ServerProcess, tmp_path: Path, shared_embedder: Any
) -> None:
    on_server = IndexSettings(chroma_url=chroma.url)
    first = DocumentIndex(tmp_path / "first", shared_embedder, on_server)
    second = DocumentIndex(tmp_path / "second", shared_embedder, on_server)
    try:
        first.index_paths(write_notes(tmp_path / "a", 3, "lighthouse"))
        second.index_paths(write_notes(tmp_path / "b", 3, "orchard"))
        assert first.store.collection_names() != second.store.collection_names()
        # Each sees only its own documents...
        assert {Path(h.document).parent.name for h in first.search("orchard log entry", k=5)} <= {
            "a"
        }
        assert {Path(h.document).parent.name for h in second.search("lighthouse log", k=5)} <= {"b"}
        # ...and reconciling one (after an interrupted write) leaves the other's alone.
        report = first.store.reconcile()
        assert report["orphan_passage_vectors"] == 0
        first.remove(tmp_path / "a" / "lighthouse-00.md")
        for index in (first, second):
            assert index.store.consistency() == {
                "orphan_passage_vectors": 0,
                "chunks_without_vectors": 0,
            }
        assert len(second.documents()) == 3
    finally:
        first.close()
        second.close()


def restart_when(
    server: ServerProcess, reached: int, after_seconds: float | None
) -> tuple[Any, threading.Event]:
    """A progress callback that kills the server when file ``reached`` starts and starts it
    again ``after_seconds`` later (None: only when the test does)."""
    restarted = threading.Event()

    def progress(done: int, total: int, label: str) -> None:
        if done == reached and server.process is not None and server.process.poll() is None:
            server.kill()
            if after_seconds is not None:

                def bring_back() -> None:
                    time.sleep(after_seconds)
                    server.start()
                    restarted.set()

                threading.Thread(target=bring_back, daemon=True).start()

    return progress, restarted


def test_a_server_restarted_mid_index_is_waited_for_and_the_index_stays_consistent(
    chroma: ServerProcess,
    tmp_path: Path,
    shared_embedder: Any,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    monkeypatch.setattr(hearth.index.indexer, "EMBED_BATCH_CHUNKS", 1)  # a write per note
    notes = write_notes(tmp_path / "notes", 8, "harbour")
    index = DocumentIndex(tmp_path / "index", shared_embedder, IndexSettings(chroma_url=chroma.url))
    try:
        progress, restarted = restart_when(chroma, reached=3, after_seconds=2.0)
        report = index.index_paths(notes, progress=progress)
        assert restarted.is_set()
        # The write after the kill found the server away and waited for it.
        assert any("not answering" in r.getMessage() for r in caplog.records)
        assert sorted(report.indexed) == sorted(str(n) for n in notes)
        assert not report.skipped
        assert index.store.consistency() == {
            "orphan_passage_vectors": 0,
            "chunks_without_vectors": 0,
        }
        assert len(index.documents()) == 8
    finally:
        index.close()


def test_a_server_gone_too_long_is_reported_and_the_next_run_reconciles(
    chroma: ServerProcess,
    tmp_path: Path,
    shared_embedder: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(hearth.index.indexer, "EMBED_BATCH_CHUNKS", 1)
    monkeypatch.setattr(hearth.index.vectors, "CHROMA_RETRY_SECONDS", 2.0)
    notes = write_notes(tmp_path / "notes", 6, "quay")
    index = DocumentIndex(tmp_path / "index", shared_embedder, IndexSettings(chroma_url=chroma.url))
    try:
        progress, _ = restart_when(chroma, reached=3, after_seconds=None)
        with pytest.raises(VectorStoreUnavailable, match=f"chromadb server at {chroma.url}"):
            index.index_paths(notes, progress=progress)
        assert len(index.documents()) == 3  # what was written before stays
        chroma.start()
        report = index.index_paths(notes)
        assert sorted(report.unchanged) == sorted(str(n) for n in notes[:3])
        assert sorted(report.indexed) == sorted(str(n) for n in notes[3:])
        assert index.store.consistency() == {
            "orphan_passage_vectors": 0,
            "chunks_without_vectors": 0,
        }
    finally:
        index.close()


def test_moving_a_local_index_to_a_server_lists_its_documents_for_indexing_again(
    chroma: ServerProcess,
    tmp_path: Path,
    shared_embedder: Any,
) -> None:
    notes = write_notes(tmp_path / "notes", 2, "pier")
    local = DocumentIndex(tmp_path / "index", embedder=shared_embedder)
    local.index_paths(notes)
    local.close()
    moved = DocumentIndex(tmp_path / "index", shared_embedder, IndexSettings(chroma_url=chroma.url))
    try:
        assert moved.documents_to_reindex() == sorted(str(n) for n in notes)
        assert moved.index_paths([Path(p) for p in moved.documents_to_reindex()]).indexed
        assert moved.documents_to_reindex() == []
        assert moved.store.consistency() == {
            "orphan_passage_vectors": 0,
            "chunks_without_vectors": 0,
        }
    finally:
        moved.close()


def test_the_cli_takes_chroma_url_and_names_a_bad_one(
    chroma: ServerProcess, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    notes = write_notes(tmp_path / "notes", 1, "jetty")
    # In this process, as `hearth --chroma-url URL index ...` runs it (one embedder start).
    assert run_cli(["--chroma-url", chroma.url, "index", str(notes[0]), "--json"]) == 0
    assert any(name.endswith("-passages") for name in server_collections(chroma.url))
    capsys.readouterr()
    assert run_cli(["--chroma-url", "http://127.0.0.1:8000/db", "search", "x"]) == 2
    assert capsys.readouterr().err.strip().splitlines() == [
        "hearth: error: the chroma URL 'http://127.0.0.1:8000/db' must be a server address "
        "only (http://host:port)"
    ]
