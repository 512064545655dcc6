"""The document library, apart from any widget: the indexing queue, removals, watched
folders and the index's own repairs after a crash.

Requests queue as batches and run one at a time, each on its own DocumentIndex (its own
SQLite connection, so searches meanwhile see only committed documents). A batch that fails
marks its own files failed, never those of later batches. Each document's state is a
DocumentState kept here, not text on screen. A folder the user adds is watched while
Hearth runs (changes are re-indexed in debounced batches) and reconciled at start-up.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QObject, QTimer, Signal

from hearth.ui.tasks import BackgroundTask, TaskContext, error_message

if TYPE_CHECKING:
    from hearth.assistant.workspace import Workspace
    from hearth.index.document_index import DocumentIndex
    from hearth.index.folder_watch import FolderWatcher

log = logging.getLogger(__name__)

WATCH_POLL_MS = 500


class DocumentState(StrEnum):
    QUEUED = "queued"
    INDEXING = "indexing"
    READY = "ready"
    FAILED = "failed"


@dataclass
class Batch:
    """One request: files and folders to index, or a watched folder's changed paths."""

    paths: list[Path]
    # What the batch does with its writer: index the paths (None) or apply changes.
    action: Callable[[DocumentIndex, TaskContext], Any] | None = None
    label: str = "index documents"
    reread: bool = False  # read the files again even where unchanged (Re-index)


class LibraryController(QObject):
    state_changed = Signal(str, object, str)  # path, DocumentState, reason
    progress = Signal(int, int, str)
    idle = Signal()
    documents_changed = Signal()
    documents_listed = Signal(list)  # DocumentRecords, after list_documents
    documents_indexed = Signal(list)  # paths newly indexed (for suggested questions)
    problem = Signal(str, str)  # title, one-line message
    status = Signal(str)

    def __init__(self, workspace: Workspace, run: Any, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.workspace = workspace
        self._run = run
        self.queue: list[Batch] = []
        self.task: BackgroundTask | None = None
        self.states: dict[str, DocumentState] = {}
        self._listings = 0  # document listings not yet shown
        self.watcher: FolderWatcher | None = None
        self._watch_timer = QTimer(self)
        self._watch_timer.setInterval(WATCH_POLL_MS)
        self._watch_timer.timeout.connect(self._apply_folder_changes)

    @property
    def busy(self) -> bool:
        """Indexing, or the listing that follows it not yet shown (pages, chunks)."""
        return self.task is not None or bool(self.queue) or self._listings > 0

    def _set_state(self, path: str, state: DocumentState, reason: str = "") -> None:
        self.states[path] = state
        self.state_changed.emit(path, state, reason)

    # -- indexing --------------------------------------------------------------------------
    def index_paths(
        self, paths: list[Path], watch_folders: bool = True, reread: bool = False
    ) -> None:
        """Queue files and folders for indexing; folders are watched from now on.
        ``reread``: read them again even where unchanged."""
        folders = [p for p in paths if p.is_dir()]
        for path in paths:
            if path.is_file():
                self._set_state(str(path.absolute()), DocumentState.QUEUED)
        self.queue.append(Batch(list(paths), reread=reread))
        if watch_folders and folders:
            self.watch([str(folder.absolute()) for folder in folders])
        self._start_next()

    def _start_next(self) -> None:
        if self.task is not None:
            return
        if not self.queue:
            self.idle.emit()
            return
        batch = self.queue.pop(0)
        workspace = self.workspace

        def work(context: TaskContext) -> Any:
            writer = workspace.open_index(workspace.index.embedder)
            try:
                if batch.action is not None:
                    return batch.action(writer, context)
                return writer.index_paths(
                    batch.paths,
                    progress=context.progress,
                    should_cancel=context.cancel_token,
                    reread=batch.reread,
                )
            finally:
                writer.close()

        task = BackgroundTask(batch.label, work)
        task.progressed.connect(self._progressed)
        task.succeeded.connect(self._indexed)
        task.failed.connect(lambda error: self._batch_failed(batch, error))
        task.cancelled.connect(lambda: self._batch_stopped(batch))
        task.finished.connect(self._finished)
        self.task = task
        self._run(task)

    def _progressed(self, done: int, total: int, label: str) -> None:
        self.progress.emit(done, total, label)
        for path, state in list(self.states.items()):
            if state is DocumentState.QUEUED and Path(path).name in label:
                self._set_state(path, DocumentState.INDEXING)

    def _indexed(self, report: Any) -> None:
        indexed = list(report.indexed)
        # An IndexReport lists unchanged files; a watched folder's SyncReport counts them.
        unchanged = report.unchanged if isinstance(report.unchanged, list) else []
        for path in [*indexed, *unchanged]:
            self._set_state(path, DocumentState.READY)
        for path in getattr(report, "removed", []):
            self.states.pop(path, None)
        for skipped in report.skipped:
            self._set_state(skipped.path, DocumentState.FAILED, skipped.reason)
        if report.skipped:
            names = ", ".join(Path(s.path).name for s in report.skipped[:3])
            self.status.emit(f"Could not index {names} (hover for the reason)")
        self.documents_changed.emit()
        if indexed:
            self.documents_indexed.emit(indexed)

    def _batch_paths(self, batch: Batch) -> set[str]:
        """The queued files of ``batch`` (its folders' files too)."""
        wanted = [str(p.absolute()) for p in batch.paths]
        return {
            path
            for path, state in self.states.items()
            if state in (DocumentState.QUEUED, DocumentState.INDEXING)
            and any(path == w or path.startswith(w.rstrip("/") + "/") for w in wanted)
        }

    def _batch_failed(self, batch: Batch, error: BaseException) -> None:
        reason = error_message(error)
        for path in self._batch_paths(batch):
            self._set_state(path, DocumentState.FAILED, reason)
        self.documents_changed.emit()
        self.problem.emit("Indexing failed", reason)

    def _batch_stopped(self, batch: Batch) -> None:
        for path in self._batch_paths(batch):
            self._set_state(path, DocumentState.FAILED, "indexing was stopped")
        self.documents_changed.emit()

    def _finished(self) -> None:
        self.task = None
        self._start_next()

    def stop(self) -> None:
        self.queue.clear()
        if self.task is not None:
            self.task.cancel()
        if self.watcher is not None:
            self._watch_timer.stop()
            self.watcher.stop()
            self.watcher = None

    # -- removing --------------------------------------------------------------------------
    def remove(self, paths: list[str]) -> None:
        """Take documents out of the index (chromadb and SQLite) off the GUI thread."""
        workspace = self.workspace

        def remove(context: TaskContext) -> list[str]:
            removed = [path for path in paths if workspace.index.remove(path)]
            for path in paths:
                workspace.cache.forget_document(path)
            return removed

        task = BackgroundTask("remove documents", remove)
        task.succeeded.connect(lambda removed: self._removed(paths))
        task.failed.connect(
            lambda error: self.problem.emit("Removing failed", error_message(error))
        )
        self._run(task)

    def _removed(self, paths: list[str]) -> None:
        for path in paths:
            self.states.pop(path, None)
        self.documents_changed.emit()

    # -- after a crash or an index format change --------------------------------------------
    def list_documents(self) -> None:
        """The indexed documents, read off the GUI thread (the first call opens the index)."""
        task = BackgroundTask("list documents", lambda context: self.workspace.index.documents())
        task.succeeded.connect(self.documents_listed.emit)
        task.finished.connect(self._listed)
        self._listings += 1
        self._run(task)

    def _listed(self) -> None:
        self._listings -= 1

    def repair_after_start(self) -> None:
        """Documents an interrupted write or a format change took out come back from their
        files, and watched folders catch up with what changed while Hearth was closed."""
        workspace = self.workspace

        def wanted(context: TaskContext) -> list[str]:
            return workspace.index.documents_to_reindex()

        task = BackgroundTask("find documents to re-index", wanted)
        task.succeeded.connect(self._reindex)
        self._run(task)
        if workspace.settings.watched_folders:
            self._follow(workspace.settings.watched_folders, reconcile=True)

    def _reindex(self, paths: list[str]) -> None:
        if paths:
            self.index_paths([Path(p) for p in paths], watch_folders=False)

    # -- watched folders -------------------------------------------------------------------
    def watch(self, folders: list[str]) -> None:
        """Watch ``folders`` from now on (kept in the settings for the next start)."""
        from dataclasses import replace

        settings = self.workspace.settings
        new = [f for f in folders if f not in settings.watched_folders]
        if not new:
            return
        self.workspace.save_settings(
            replace(settings, watched_folders=[*settings.watched_folders, *new])
        )
        self._follow(self.workspace.settings.watched_folders, reconcile=False)

    def _follow(self, folders: list[str], reconcile: bool) -> None:
        from hearth.index.folder_watch import FolderSync, FolderWatcher

        existing = [Path(f) for f in folders if Path(f).is_dir()]
        if self.watcher is not None:
            self.watcher.stop()
        self.watcher = FolderWatcher(FolderSync(self.workspace.index, existing))
        try:
            self.watcher.start()
        except OSError as error:
            log.warning("cannot watch %s: %s", existing, error)
            self.watcher = None
            return
        self._watch_timer.start()
        if reconcile:
            roots = list(existing)
            self.queue.append(
                Batch(
                    roots,
                    lambda writer, context: FolderSync(writer, roots).reconcile(
                        context.progress, context.cancel_token
                    ),
                    "reconcile watched folders",
                )
            )
            self._start_next()

    def _apply_folder_changes(self) -> None:
        from hearth.index.folder_watch import FolderSync

        if self.watcher is None:
            return
        changed = self.watcher.take_settled()
        if not changed:
            return
        roots = list(self.watcher.sync.roots)
        for path in changed:
            if path.is_file():
                self._set_state(str(path.absolute()), DocumentState.QUEUED)
        self.queue.append(
            Batch(
                changed,
                lambda writer, context: FolderSync(writer, roots).apply(
                    changed, context.progress, context.cancel_token
                ),
                "apply folder changes",
            )
        )
        self._start_next()
