"""Model downloads for the window, apart from any widget: one at a time, the others queued
behind it; cancel, resume and discard; the downloads Hearth did not finish last time
(their partial files and plans in the models folder) listed at start, to resume.

The work is hearth.models.downloads.ModelDownloader on a BackgroundTask; a cancel stops it
at its next block, keeping what arrived.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, Signal

from hearth.ui.tasks import BackgroundTask, TaskContext, error_message

if TYPE_CHECKING:
    from hearth.assistant.workspace import Workspace
    from hearth.models.catalogue import ModelInfo
    from hearth.models.downloads import DownloadPlan, DownloadProgress, ModelDownloader

log = logging.getLogger(__name__)


class DownloadState(StrEnum):
    QUEUED = "queued"
    DOWNLOADING = "downloading"
    STOPPED = "stopped"  # cancelled, or left unfinished when Hearth closed: can resume
    FAILED = "failed"
    DONE = "done"


@dataclass
class Download:
    plan: DownloadPlan
    state: DownloadState
    done_bytes: int = 0
    progress: DownloadProgress | None = None
    message: str = ""  # the reason of a failure, in one line
    model: ModelInfo | None = None

    @property
    def model_id(self) -> str:
        return self.plan.model_id


class DownloadController(QObject):
    changed = Signal(str)  # the model id whose download changed
    installed = Signal(object)  # ModelInfo: downloaded, verified and in the catalogue
    _progressed = Signal(object)  # DownloadProgress, from the worker thread

    def __init__(self, workspace: Workspace, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.workspace = workspace
        self.downloads: dict[str, Download] = {}
        self.task: BackgroundTask | None = None
        self._progressed.connect(self._on_progress)
        self.retries: int | None = None  # None: the downloader's own number
        downloader = self.downloader()
        for plan in downloader.unfinished():
            self.downloads[plan.model_id] = Download(
                plan, DownloadState.STOPPED, downloader.bytes_on_disk(plan)
            )

    def downloader(self) -> ModelDownloader:
        """With the endpoint and token as they are now (the user may have changed them)."""
        from hearth.models.downloads import ModelDownloader
        from hearth.models.hub import hub_endpoint, load_token

        endpoint = hub_endpoint(self.workspace.settings)
        if self.retries is None:
            return ModelDownloader(self.workspace.catalogue, endpoint, load_token())
        return ModelDownloader(self.workspace.catalogue, endpoint, load_token(), self.retries)

    @property
    def busy(self) -> bool:
        return self.task is not None and self.task.running

    def get(self, model_id: str) -> Download | None:
        return self.downloads.get(model_id)

    def enqueue(self, plan: DownloadPlan) -> Download:
        """Download ``plan`` now, or after the one that is running."""
        download = self.downloads.get(plan.model_id)
        if download is not None and download.state in (
            DownloadState.QUEUED,
            DownloadState.DOWNLOADING,
        ):
            return download
        download = Download(plan, DownloadState.QUEUED, self.downloader().bytes_on_disk(plan))
        self.downloads[plan.model_id] = download
        self.changed.emit(plan.model_id)
        self._next()
        return download

    def resume(self, model_id: str) -> None:
        download = self.downloads.get(model_id)
        if download is not None:
            self.enqueue(download.plan)

    def cancel(self, model_id: str) -> None:
        """Stop a download (what arrived stays, to resume), or take it out of the queue."""
        download = self.downloads.get(model_id)
        if download is None:
            return
        if download.state is DownloadState.DOWNLOADING and self.task is not None:
            self.task.cancel()
        elif download.state is DownloadState.QUEUED:
            download.state = DownloadState.STOPPED
            self.changed.emit(model_id)

    def cancel_all(self) -> None:
        for download in list(self.downloads.values()):
            self.cancel(download.model_id)

    def discard(self, model_id: str) -> None:
        """Delete what a stopped or failed download left."""
        download = self.downloads.get(model_id)
        if download is None or download.state in (DownloadState.DOWNLOADING, DownloadState.DONE):
            return
        self.downloader().discard(download.plan)
        del self.downloads[model_id]
        self.changed.emit(model_id)

    # -- the running one ---------------------------------------------------------------------
    def _next(self) -> None:
        if self.busy:
            return
        waiting = [d for d in self.downloads.values() if d.state is DownloadState.QUEUED]
        if not waiting:
            return
        download = waiting[0]
        downloader = self.downloader()
        progressed = self._progressed

        def fetch(context: TaskContext) -> ModelInfo:
            return downloader.download(download.plan, progressed.emit, context.cancel_token)

        task = BackgroundTask(f"download {download.model_id}", fetch)
        task.succeeded.connect(lambda model: self._succeeded(download, model))
        task.failed.connect(lambda error: self._failed(download, error))
        task.cancelled.connect(lambda: self._stopped(download))
        task.finished.connect(self._next)
        self.task = task
        download.state = DownloadState.DOWNLOADING
        download.message = ""
        self.changed.emit(download.model_id)
        task.start()

    def _on_progress(self, progress: DownloadProgress) -> None:
        download = self.downloads.get(progress.model_id)
        if download is not None and download.state is DownloadState.DOWNLOADING:
            download.progress = progress
            download.done_bytes = progress.done
            self.changed.emit(download.model_id)

    def _succeeded(self, download: Download, model: ModelInfo) -> None:
        download.state = DownloadState.DONE
        download.model = model
        download.done_bytes = download.plan.total_bytes
        self.changed.emit(download.model_id)
        self.installed.emit(model)

    def _failed(self, download: Download, error: BaseException) -> None:
        download.state = DownloadState.FAILED
        download.message = error_message(error)
        download.done_bytes = self.downloader().bytes_on_disk(download.plan)
        self.changed.emit(download.model_id)

    def _stopped(self, download: Download) -> None:
        download.state = DownloadState.STOPPED
        download.done_bytes = self.downloader().bytes_on_disk(download.plan)
        self.changed.emit(download.model_id)
