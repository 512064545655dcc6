"""Watched folders: the index follows files as they are added, changed, renamed and deleted.

``FolderSync`` brings the index in line with its folders: ``reconcile`` compares everything
on disk with what is indexed (at start-up, for changes made while Hearth was closed), and
``apply`` handles the paths a watcher reported (a renamed file is its old path removed and
its new one indexed). ``FolderWatcher`` collects file-system events (watchdog: inotify,
FSEvents or ReadDirectoryChangesW, or polling where those fail) on its own thread and hands
them to the sync in batches once the folder has been quiet for a moment, so a file being
written is indexed once, when it is whole.

No Qt here: the window can drive ``FolderSync`` from a QFileSystemWatcher, or run
``FolderWatcher.run`` as a background task with its cancel flag as ``should_stop``. Indexing
runs on the thread that calls ``reconcile``, ``apply`` or ``run``, never the watcher's.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hearth.documents.safe_files import document_key, file_path, inside
from hearth.index.document_index import DocumentIndex
from hearth.index.indexer import NO_SUCH_PATH, Skipped, discover_files, given_folders
from hearth.jobs import CancelCheck, JobCancelled, ProgressCallback

log = logging.getLogger(__name__)

# A batch of changes is applied once no event has come for this long: editors and copies
# write a file in several steps, and it is indexed once they are done.
DEBOUNCE_SECONDS = 1.0
POLL_SECONDS = 0.2
# Files editors and browsers write beside the real one while saving or downloading.
TEMPORARY_SUFFIXES = (".tmp", ".part", ".crdownload", ".swp", ".swx", ".download", "~")
TEMPORARY_PREFIXES = (".", "~$", ".~lock.")


def is_temporary(path: Path) -> bool:
    name = path.name
    return name.startswith(TEMPORARY_PREFIXES) or name.lower().endswith(TEMPORARY_SUFFIXES)


@dataclass
class SyncReport:
    """What one reconcile or batch of changes did to the index."""

    indexed: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    unchanged: int = 0
    skipped: list[Skipped] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def changed(self) -> bool:
        return bool(self.indexed or self.removed or self.skipped)

    def to_json(self) -> dict[str, object]:
        return {
            "indexed": self.indexed,
            "removed": self.removed,
            "unchanged": self.unchanged,
            "skipped": [{"path": s.path, "reason": s.reason} for s in self.skipped],
            "seconds": round(self.seconds, 3),
        }


class FolderSync:
    """Keeps the index in line with ``roots`` (folders, or single files)."""

    def __init__(self, index: DocumentIndex, roots: Sequence[Path]) -> None:
        self.index = index
        self.roots = [Path(os.path.abspath(root.expanduser())) for root in roots]
        # Files that could not be read, as (size, mtime) when tried: not tried again until
        # they change (a watched folder of photos would otherwise be read at every event).
        self._refused: dict[str, tuple[int, float]] = {}

    def watched(self, path: Path) -> bool:
        return any(inside(document_key(path), document_key(root)) for root in self.roots)

    def _indexed_under(self, path: Path) -> list[str]:
        return [d.path for d in self.index.documents() if inside(d.path, document_key(path))]

    def reconcile(
        self, progress: ProgressCallback | None = None, should_cancel: CancelCheck | None = None
    ) -> SyncReport:
        """Index what is new or changed on disk, remove what is gone."""
        started = time.perf_counter()
        report = SyncReport()
        on_disk = {document_key(path): path for path in discover_files(self.roots, report.skipped)}
        # A root that no longer exists is reported, not treated as "delete everything":
        # an unplugged drive should not empty the index.
        missing_roots = {s.path for s in report.skipped if s.reason == NO_SUCH_PATH}
        records = {
            d.path: d
            for d in self.index.documents()
            if self.watched(Path(d.path)) and not any(inside(d.path, r) for r in missing_roots)
        }
        for gone in sorted(set(records) - set(on_disk)):
            if self.index.remove(gone):
                report.removed.append(gone)
        candidates: list[Path] = []
        for key, path in on_disk.items():
            record = records.get(key)
            try:
                status = path.stat()
            except OSError:
                continue  # gone since the listing; the next event or start handles it
            if record is None or record.size_bytes != status.st_size:
                candidates.append(path)
            elif status.st_mtime > record.indexed_at:
                candidates.append(path)  # the hash decides whether it really changed
            else:
                report.unchanged += 1
        self._index(candidates, report, progress, should_cancel)
        report.seconds = time.perf_counter() - started
        return report

    def apply(
        self,
        paths: Iterable[Path],
        progress: ProgressCallback | None = None,
        should_cancel: CancelCheck | None = None,
    ) -> SyncReport:
        """Bring these paths (as a watcher reported them) up to date: each one that exists
        is indexed (a folder: everything in it), each one that is gone is removed (a
        folder: every document that was in it)."""
        started = time.perf_counter()
        report = SyncReport()
        present: list[Path] = []
        for path in sorted(set(paths)):
            if not self.watched(path) or is_temporary(path):
                continue
            if path.exists():
                present.append(path)
                continue
            for document in self._indexed_under(path):
                if self.index.remove(document):
                    report.removed.append(document)
        files = discover_files(present, report.skipped, given_folders(self.roots))
        self._index(files, report, progress, should_cancel)
        report.seconds = time.perf_counter() - started
        return report

    def _index(
        self,
        files: list[Path],
        report: SyncReport,
        progress: ProgressCallback | None,
        should_cancel: CancelCheck | None,
    ) -> None:
        wanted: list[Path] = []
        for path in files:
            try:
                status = path.stat()
            except OSError:
                continue
            if self._refused.get(document_key(path)) == (status.st_size, status.st_mtime):
                continue
            wanted.append(path)
        if not wanted:
            return
        result = self.index.index_paths(wanted, progress, should_cancel, given_folders(self.roots))
        report.indexed += result.indexed
        report.unchanged += len(result.unchanged)
        report.skipped += result.skipped
        for skipped in result.skipped:
            try:
                status = file_path(skipped.path).stat()
            except OSError:
                continue
            self._refused[skipped.path] = (status.st_size, status.st_mtime)
        for indexed in result.indexed:
            self._refused.pop(indexed, None)


class FolderWatcher:
    """File-system events for the sync's roots, gathered on a watchdog thread and applied
    in debounced batches by whoever calls ``apply_pending`` or ``run``."""

    def __init__(
        self,
        sync: FolderSync,
        debounce_seconds: float = DEBOUNCE_SECONDS,
        polling: bool = False,
    ) -> None:
        self.sync = sync
        self.debounce_seconds = debounce_seconds
        self.polling = polling
        self._lock = threading.Lock()
        self._changed: set[Path] = set()
        self._last_event = 0.0
        self._observer: Any = None  # a watchdog observer once started

    # -- the watchdog side (its own thread) ---------------------------------------------
    def note(self, *paths: str | bytes) -> None:
        """Record changed paths (called by the watchdog thread, or a Qt watcher)."""
        with self._lock:
            for raw in paths:
                if raw:
                    self._changed.add(Path(os.fsdecode(raw)))
            self._last_event = time.monotonic()

    def start(self) -> None:
        from watchdog.events import FileSystemEvent, FileSystemEventHandler
        from watchdog.observers import Observer
        from watchdog.observers.api import BaseObserver
        from watchdog.observers.polling import PollingObserver

        watcher = self

        class Handler(FileSystemEventHandler):
            def on_any_event(self, event: FileSystemEvent) -> None:
                if event.event_type in ("opened", "closed_no_write"):
                    return  # reading a file changes nothing
                watcher.note(event.src_path, event.dest_path)

        def schedule(observer: BaseObserver) -> None:
            for root in self.sync.roots:
                folder = root if root.is_dir() else root.parent
                observer.schedule(Handler(), str(folder), recursive=root.is_dir())
            observer.start()

        observer: BaseObserver = PollingObserver() if self.polling else Observer()
        try:
            schedule(observer)
        except OSError as error:  # inotify watches used up, or an unusual file system
            log.warning("file-system events unavailable (%s); polling instead", error)
            observer = PollingObserver()
            schedule(observer)
        self._observer = observer

    def stop(self) -> None:
        observer = self._observer
        self._observer = None
        if observer is not None:
            observer.stop()
            observer.join(timeout=5)

    # -- the indexing side (the caller's thread) --------------------------------------
    def has_pending(self) -> bool:
        with self._lock:
            return bool(self._changed)

    def take_settled(self) -> list[Path]:
        """The changed paths, once no event has come for the debounce time; else none."""
        with self._lock:
            if not self._changed or time.monotonic() - self._last_event < self.debounce_seconds:
                return []
            changed, self._changed = sorted(self._changed), set()
            return changed

    def apply_pending(
        self, progress: ProgressCallback | None = None, should_cancel: CancelCheck | None = None
    ) -> SyncReport | None:
        """Apply the changes that have settled; None when there are none yet."""
        changed = self.take_settled()
        if not changed:
            return None
        try:
            return self.sync.apply(changed, progress, should_cancel)
        except BaseException:
            self.note(*(str(path) for path in changed))  # not lost: tried again next time
            raise

    def run(
        self,
        should_stop: CancelCheck,
        on_report: Callable[[SyncReport], None] | None = None,
        progress: ProgressCallback | None = None,
    ) -> None:
        """Reconcile, then follow the folders until ``should_stop()``. Stopping mid-way
        through indexing leaves every finished document stored and no half-written one;
        what was not done is found by the next reconcile."""
        self.start()
        try:
            report = self.sync.reconcile(progress, should_stop)
            if on_report:
                on_report(report)
            while not should_stop():
                time.sleep(POLL_SECONDS)
                report_or_none = self.apply_pending(progress, should_stop)
                if report_or_none is not None and on_report and report_or_none.changed:
                    on_report(report_or_none)
        except JobCancelled:
            log.info("watching stopped during indexing")
        finally:
            self.stop()
