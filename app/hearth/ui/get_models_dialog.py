"""Get models…: find GGUF models on Hugging Face and download one, opened from the picker.

Search by words, owner/name or a pasted address; a repository's models are listed with
their quantisation, size, the memory they would take and whether that suits this
computer, the recommended one chosen already. The screen says where a download comes
from and goes to, and how big it is, before anything is downloaded. Downloads run one at
a time (the DownloadController) and go on when the dialog is closed; each shows its
progress, speed and time left, with Cancel, Resume and Discard, then Use now and Make
default. A token for gated repositories is kept in the data folder (owner-only).
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QEvent, QObject, Signal
from PySide6.QtGui import QShowEvent
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QProgressBar,
    QPushButton,
    QScrollArea,
    QSplitter,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from hearth.ui.operations.downloads import DownloadController, DownloadState
from hearth.ui.tasks import BackgroundTask, TaskContext, error_message

if TYPE_CHECKING:
    from hearth.assistant.workspace import Workspace
    from hearth.models.catalogue import ModelInfo
    from hearth.models.hub import ModelChoice, RepoListing, RepoSummary

log = logging.getLogger(__name__)

FIT_COLOURS = {"fits": "#1b7f3b", "tight": "#b06000", "won't fit": "#b3261e"}


def _size(count: int) -> str:
    from hearth.models.downloads import format_size

    return format_size(count)


class DownloadRow(QWidget):
    """One download: its name, a bar, what it is doing, and what can be done with it."""

    cancel_requested = Signal(str)
    resume_requested = Signal(str)
    discard_requested = Signal(str)
    use_requested = Signal(str)
    default_requested = Signal(str)

    def __init__(self, model_id: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.model_id = model_id
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 4, 0, 4)
        top = QHBoxLayout()
        self.title = QLabel(model_id)
        top.addWidget(self.title, 1)
        self.buttons: dict[str, QPushButton] = {}
        for key, text, signal in (
            ("cancel", "Cancel", self.cancel_requested),
            ("resume", "Resume", self.resume_requested),
            ("discard", "Discard", self.discard_requested),
            ("use", "Use now", self.use_requested),
            ("default", "Make default", self.default_requested),
        ):
            button = QPushButton(text)
            button.clicked.connect(lambda _=False, s=signal: s.emit(self.model_id))
            top.addWidget(button)
            self.buttons[key] = button
        layout.addLayout(top)
        self.bar = QProgressBar()
        self.bar.setRange(0, 1000)
        self.bar.setAccessibleName(f"Download of {model_id}")
        layout.addWidget(self.bar)
        self.detail = QLabel("")
        self.detail.setWordWrap(True)
        layout.addWidget(self.detail)

    def show_state(self, download: Any) -> None:
        state: DownloadState = download.state
        total = download.plan.total_bytes
        self.bar.setValue(int(1000 * download.done_bytes / max(1, total)))
        if state is DownloadState.DOWNLOADING and download.progress is not None:
            detail = download.progress.describe()
        elif state is DownloadState.DOWNLOADING:
            detail = "Starting…"
        elif state is DownloadState.QUEUED:
            detail = "Waiting for the download before it"
        elif state is DownloadState.STOPPED:
            detail = (
                f"Stopped at {_size(download.done_bytes)} of {_size(total)}; "
                "Resume continues from there"
            )
        elif state is DownloadState.FAILED:
            detail = download.message
        else:
            detail = f"Installed ({_size(total)})"
        self.detail.setText(detail)
        visible = {
            "cancel": state in (DownloadState.QUEUED, DownloadState.DOWNLOADING),
            "resume": state in (DownloadState.STOPPED, DownloadState.FAILED),
            "discard": state in (DownloadState.STOPPED, DownloadState.FAILED),
            "use": state is DownloadState.DONE,
            "default": state is DownloadState.DONE,
        }
        for key, button in self.buttons.items():
            button.setVisible(visible[key])


class _CancelOnClose(QObject):
    """Stops the downloads when the main window closes (they resume at the next start)."""

    def __init__(self, controller: DownloadController, parent: QObject) -> None:
        super().__init__(parent)
        self.controller = controller

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() == QEvent.Type.Close:
            self.controller.cancel_all()
        return False


class GetModelsDialog(QDialog):
    use_requested = Signal(object)  # ModelInfo: load it now
    installed = Signal(object)  # ModelInfo: a download finished

    def __init__(self, workspace: Workspace, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.workspace = workspace
        self.setWindowTitle("Get models")
        self.setModal(False)
        self.resize(900, 640)
        self.downloads = DownloadController(workspace, self)
        self.downloads.changed.connect(self._download_changed)
        self.downloads.installed.connect(self.installed.emit)
        if parent is not None:
            parent.installEventFilter(_CancelOnClose(self.downloads, self))
        self.listing: RepoListing | None = None
        self.results_found: list[RepoSummary] = []
        self._search_task: BackgroundTask | None = None
        self._list_task: BackgroundTask | None = None

        layout = QVBoxLayout(self)
        row = QHBoxLayout()
        self.search_box = QLineEdit()
        self.search_box.setPlaceholderText(
            "Words (qwen2.5 1.5b instruct), owner/name, or a Hugging Face link"
        )
        self.search_box.setAccessibleName("Search Hugging Face")
        self.search_box.returnPressed.connect(self.search)
        row.addWidget(self.search_box, 1)
        self.search_button = QPushButton("Search")
        self.search_button.clicked.connect(self.search)
        row.addWidget(self.search_button)
        self.token_button = QPushButton("Token…")
        self.token_button.setToolTip("A Hugging Face token, for gated models")
        self.token_button.clicked.connect(self.edit_token)
        row.addWidget(self.token_button)
        layout.addLayout(row)
        self.where = QLabel()
        self.where.setWordWrap(True)
        self._show_where()
        layout.addWidget(self.where)

        splitter = QSplitter()
        self.results = QListWidget()
        self.results.setAccessibleName("Repositories found")
        self.results.currentRowChanged.connect(self._repository_chosen)
        splitter.addWidget(self.results)
        self.files = QTreeWidget()
        self.files.setAccessibleName("Models in the repository")
        self.files.setHeaderLabels(["Quantisation", "Size", "Memory", "This computer", "File"])
        self.files.setRootIsDecorated(False)
        self.files.currentItemChanged.connect(lambda *_: self._choice_changed())
        splitter.addWidget(self.files)
        splitter.setSizes([300, 600])
        layout.addWidget(splitter, 2)

        self.status = QLabel("")
        self.status.setWordWrap(True)
        layout.addWidget(self.status)
        self.download_button = QPushButton("Download")
        self.download_button.setEnabled(False)
        self.download_button.clicked.connect(self.download_chosen)
        layout.addWidget(self.download_button)

        layout.addWidget(QLabel("Downloads"))
        self.rows: dict[str, DownloadRow] = {}
        holder = QWidget()
        self.rows_layout = QVBoxLayout(holder)
        self.rows_layout.addStretch(1)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setWidget(holder)
        layout.addWidget(scroll, 1)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.hide)
        layout.addWidget(buttons)
        for model_id in self.downloads.downloads:
            self._download_changed(model_id)

    def _show_where(self) -> None:
        from hearth.models.hub import endpoint_host, hub_endpoint

        host = endpoint_host(hub_endpoint(self.workspace.settings))
        self.where.setText(
            f"From {host} into {self.workspace.catalogue.folder}. Nothing is downloaded until "
            "you press Download."
        )

    def showEvent(self, event: QShowEvent) -> None:
        # The dialog is kept while closed: the endpoint may have changed in Settings since.
        self._show_where()
        super().showEvent(event)

    # -- search and listing ----------------------------------------------------------------
    def search(self) -> None:
        from hearth.models.hub import search_models

        query = self.search_box.text().strip()
        if not query or (self._search_task is not None and self._search_task.running):
            return
        settings = self.workspace.settings
        self.results.clear()
        self.files.clear()
        self.listing = None
        self._choice_changed()
        self.status.setText("Searching…")
        task = BackgroundTask("search models", lambda _: search_models(query, settings))
        task.succeeded.connect(self._found)
        task.failed.connect(lambda error: self.status.setText(error_message(error)))
        self._search_task = task.start()

    def _found(self, found: list[RepoSummary]) -> None:
        self.results_found = found
        if not found:
            self.status.setText("No GGUF models match. Try fewer words, or owner/name.")
            return
        self.status.setText(f"{len(found)} repositories with GGUF models")
        for summary in found:
            gated = " · gated" if summary.gated else ""
            item = QListWidgetItem(f"{summary.repo_id}\n{summary.downloads:,} downloads{gated}")
            self.results.addItem(item)
        self.results.setCurrentRow(0)

    def _repository_chosen(self, row: int) -> None:
        from hearth.models.hub import list_repo

        if row < 0 or row >= len(self.results_found):
            return
        repo_id = self.results_found[row].repo_id
        settings = self.workspace.settings
        self.files.clear()
        self.listing = None
        self._choice_changed()
        self.status.setText(f"Reading {repo_id}…")

        def read(context: TaskContext) -> RepoListing:
            return list_repo(repo_id, settings)

        task = BackgroundTask(f"list {repo_id}", read)
        task.succeeded.connect(self._listed)
        task.failed.connect(lambda error: self.status.setText(error_message(error)))
        self._list_task = task.start()

    def _listed(self, listing: RepoListing) -> None:
        from PySide6.QtCore import Qt
        from PySide6.QtGui import QBrush, QColor

        current = self.results.currentRow()
        if not (0 <= current < len(self.results_found)):
            return
        if self.results_found[current].repo_id != listing.repo_id:
            return  # the user moved on to another repository
        self.listing = listing
        self.files.clear()
        recommended_item = None
        for choice in listing.choices:
            quant = choice.quantization + ("  ★ recommended" if choice.recommended else "")
            parts = f" (+{len(choice.files) - 1} parts)" if len(choice.files) > 1 else ""
            item = QTreeWidgetItem(
                [
                    quant,
                    _size(choice.size_bytes),
                    f"~{_size(choice.ram.total_bytes)}",
                    choice.fit.value,
                    choice.file_name + parts,
                ]
            )
            item.setForeground(3, QBrush(QColor(FIT_COLOURS[choice.fit.value])))
            item.setData(0, Qt.ItemDataRole.UserRole, choice)
            self.files.addTopLevelItem(item)
            if choice.recommended:
                font = item.font(0)
                font.setBold(True)
                item.setFont(0, font)
                recommended_item = item
        for column in range(4):
            self.files.resizeColumnToContents(column)
        if not listing.choices:
            self.status.setText(f"{listing.repo_id} holds no GGUF model files.")
        elif recommended_item is None:
            self.status.setText(
                "None of these fits this computer's memory comfortably; a smaller model "
                "will answer faster."
            )
        else:
            self.status.setText(listing.estimate_note or f"{listing.name}: {listing.repo_id}")
        first = recommended_item or self.files.topLevelItem(0)
        if first is not None:
            self.files.setCurrentItem(first)

    def chosen(self) -> ModelChoice | None:
        from PySide6.QtCore import Qt

        item = self.files.currentItem()
        if item is None:
            return None
        choice: ModelChoice | None = item.data(0, Qt.ItemDataRole.UserRole)
        return choice

    def _choice_changed(self) -> None:
        choice = self.chosen()
        self.download_button.setEnabled(choice is not None)
        if choice is None:
            self.download_button.setText("Download")
            return
        self.download_button.setText(
            f"Download {choice.quantization} ({_size(choice.size_bytes)}, needs about "
            f"{_size(choice.ram.total_bytes)} of memory)"
        )

    def download_chosen(self) -> None:
        from hearth.models.downloads import DownloadPlan

        choice = self.chosen()
        if choice is None:
            return
        plan = DownloadPlan.for_choice(choice, self.workspace.catalogue.folder)
        self.downloads.enqueue(plan)

    # -- downloads ---------------------------------------------------------------------------
    def _download_changed(self, model_id: str) -> None:
        download = self.downloads.get(model_id)
        row = self.rows.get(model_id)
        if download is None:
            if row is not None:
                self.rows.pop(model_id)
                row.deleteLater()
            return
        if row is None:
            row = DownloadRow(model_id)
            row.title.setText(
                f"{download.plan.repo_id} · {download.plan.quantization} · "
                f"{_size(download.plan.total_bytes)} → {download.plan.local_names[0]}"
            )
            row.cancel_requested.connect(self.downloads.cancel)
            row.resume_requested.connect(self.downloads.resume)
            row.discard_requested.connect(self.downloads.discard)
            row.use_requested.connect(self._use)
            row.default_requested.connect(self._make_default)
            self.rows[model_id] = row
            self.rows_layout.insertWidget(0, row)
        row.show_state(download)

    def _installed_model(self, model_id: str) -> ModelInfo | None:
        download = self.downloads.get(model_id)
        return download.model if download is not None else None

    def _use(self, model_id: str) -> None:
        model = self._installed_model(model_id)
        if model is not None:
            self.use_requested.emit(model)

    def _make_default(self, model_id: str) -> None:
        model = self._installed_model(model_id)
        if model is not None:
            self.workspace.catalogue.set_default(model.id)
            row = self.rows.get(model_id)
            if row is not None:
                row.detail.setText(f"{model.label} is the default model")

    # -- token -------------------------------------------------------------------------------
    def edit_token(self) -> None:
        from PySide6.QtWidgets import QInputDialog

        from hearth.models.hub import HubError, forget_token, load_token, save_token

        had = load_token() is not None
        text, accepted = QInputDialog.getText(
            self,
            "Hugging Face token",
            "For gated models (accept their terms on the website first). Kept in Hearth's data "
            "folder, readable by you only.\nLeave empty to remove the saved token.",
            QLineEdit.EchoMode.Password,
        )
        if not accepted:
            return
        if not text.strip():
            forget_token()
            self.status.setText("Token removed." if had else "No token saved.")
            return
        try:
            save_token(text)
        except HubError as error:
            self.status.setText(str(error))
            return
        self.status.setText("Token saved.")
