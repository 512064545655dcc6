"""Watched folders: files added, edited, renamed and deleted while the watcher runs are
indexed again within seconds; changes made while Hearth was closed are found at start-up;
`hearth index --watch` does the same headless and stops cleanly on Ctrl+C."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from hearth.index.document_index import DocumentIndex
from hearth.index.folder_watch import FolderSync, FolderWatcher, SyncReport
from hearth.paths import hearth_paths

WAIT_SECONDS = 60


def indexed_documents(index_folder: Path) -> dict[str, str]:
    """path -> content hash, read on a connection of its own (the watcher writes on its)."""
    db = sqlite3.connect(index_folder / "index.sqlite3", timeout=30)
    try:
        return dict(db.execute("SELECT path, content_hash FROM documents").fetchall())
    finally:
        db.close()


def wait_until(condition: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + WAIT_SECONDS
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting until {what}")


@pytest.fixture
def running_watcher(
    document_index: DocumentIndex, tmp_path: Path
) -> Iterator[tuple[Path, list[SyncReport]]]:
    folder = tmp_path / "notes"
    folder.mkdir()
    (folder / "first.txt").write_text("The boat club meets on Tuesdays.", "utf-8")
    reports: list[SyncReport] = []
    stop = threading.Event()
    watcher = FolderWatcher(FolderSync(document_index, [folder]), debounce_seconds=0.5)
    thread = threading.Thread(target=watcher.run, args=(stop.is_set, reports.append))
    thread.start()
    try:
        wait_until(lambda: bool(reports), "the first reconcile is done")
        yield folder, reports
    finally:
        stop.set()
        thread.join(timeout=WAIT_SECONDS)
    assert not thread.is_alive()


def test_changes_while_watching_are_indexed_within_seconds(
    running_watcher: tuple[Path, list[SyncReport]], document_index: DocumentIndex
) -> None:
    folder, reports = running_watcher
    index_folder = hearth_paths().index
    first = str(folder / "first.txt")
    assert reports[0].indexed == [first]

    added = folder / "added.md"
    added.write_text("# Tides\n\nThe spring tide reached the chapel steps.\n", "utf-8")
    wait_until(lambda: str(added) in indexed_documents(index_folder), "the new file is indexed")

    before = indexed_documents(index_folder)[str(added)]
    with added.open("a", encoding="utf-8") as handle:  # edited in two writes
        handle.write("The harbour master Wilhelmina Crane measured it.\n")
        handle.flush()
        handle.write("She wrote it in the blue ledger.\n")
    wait_until(
        lambda: indexed_documents(index_folder).get(str(added)) not in (None, before),
        "the edit is indexed",
    )

    renamed = folder / "renamed.txt"
    os.rename(first, renamed)
    wait_until(
        lambda: set(indexed_documents(index_folder)) == {str(added), str(renamed)},
        "the rename is the old path removed and the new one indexed",
    )

    added.unlink()
    wait_until(
        lambda: any(str(added) in report.removed for report in reports),
        "the deletion is reported",
    )
    assert set(indexed_documents(index_folder)) == {str(renamed)}


def test_changes_while_closed_are_found_at_start_up(
    document_index: DocumentIndex, tmp_path: Path
) -> None:
    folder = tmp_path / "library"
    (folder / "sub").mkdir(parents=True)
    for name in ("keep.txt", "edit.txt", "delete.txt", "move.txt"):
        (folder / name).write_text(f"{name}: notes about the lighthouse lamp.", "utf-8")
    (folder / "sub" / "deep.txt").write_text("A note deep in a folder.", "utf-8")
    first = FolderSync(document_index, [folder]).reconcile()
    assert len(first.indexed) == 5

    # Hearth is closed; the folder changes.
    time.sleep(0.05)  # the edit's mtime must be after the indexing time
    (folder / "edit.txt").write_text("edit.txt: the lamp was replaced by an LED.", "utf-8")
    (folder / "delete.txt").unlink()
    (folder / "move.txt").rename(folder / "sub" / "moved.txt")
    (folder / "new.txt").write_text("A new note about the foghorn.", "utf-8")

    report = FolderSync(document_index, [folder]).reconcile()
    assert sorted(Path(p).name for p in report.indexed) == ["edit.txt", "moved.txt", "new.txt"]
    assert sorted(Path(p).name for p in report.removed) == ["delete.txt", "move.txt"]
    assert report.unchanged == 2
    [hit, *_] = document_index.search("What replaced the lamp?", k=1)
    assert "LED" in hit.chunk.text
    again = FolderSync(document_index, [folder]).reconcile()
    assert not again.changed


def test_an_unplugged_folder_does_not_empty_the_index(
    document_index: DocumentIndex, tmp_path: Path
) -> None:
    folder = tmp_path / "usb"
    folder.mkdir()
    (folder / "a.txt").write_text("Notes on the ferry.", "utf-8")
    FolderSync(document_index, [folder]).reconcile()
    folder.rename(tmp_path / "elsewhere")
    report = FolderSync(document_index, [folder]).reconcile()
    assert report.removed == []
    assert [s.reason for s in report.skipped] == ["no such file or folder"]
    assert len(document_index.documents()) == 1


@pytest.mark.slow_io
def test_watch_command_indexes_changes_and_stops_cleanly_on_ctrl_c(tmp_path: Path) -> None:
    folder = tmp_path / "watched"
    folder.mkdir()
    (folder / "one.txt").write_text("The choir sings on Fridays.", "utf-8")
    process = subprocess.Popen(
        [sys.executable, "-m", "hearth", "index", "--watch", str(folder)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=os.environ.copy(),
    )
    stdout, stderr_pipe = process.stdout, process.stderr
    assert stdout is not None  # both are pipes
    assert stderr_pipe is not None
    lines: list[str] = []
    reader = threading.Thread(target=lambda: lines.extend(iter(stdout.readline, "")))
    reader.start()
    try:
        wait_until(lambda: any("one.txt" in line for line in lines), "the folder is indexed")
        (folder / "two.txt").write_text("The bell ringers practise on Mondays.", "utf-8")
        wait_until(lambda: any("two.txt" in line for line in lines), "the new file is indexed")
    finally:
        process.send_signal(signal.SIGINT)
        code = process.wait(timeout=WAIT_SECONDS)
        reader.join(timeout=WAIT_SECONDS)
    stderr = stderr_pipe.read()
    assert code in (0, 130), stderr
    assert "Traceback" not in stderr
    assert any(line.startswith("indexed ") and "two.txt" in line for line in lines), lines
    index_folder = hearth_paths().index
    assert not (index_folder / "write-in-progress").exists()
    assert set(indexed_documents(index_folder)) == {
        str(folder / "one.txt"),
        str(folder / "two.txt"),
    }
