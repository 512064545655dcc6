"""Hearth's main window: conversations and documents on the left, the chat in the centre,
the model picker in the toolbar. All slow work goes through BackgroundTask."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QByteArray, QSettings, QTimer, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QMainWindow,
    QProgressBar,
    QPushButton,
    QSplitter,
    QToolBar,
    QVBoxLayout,
    QWidget,
)

from hearth import __version__
from hearth.assistant.workspace import Workspace
from hearth.ui.chat_view import ChatInput, ChatView
from hearth.ui.documents_pane import (
    FAILED,
    INDEXING,
    QUEUED,
    READY,
    DocumentsPane,
    pane_header,
)
from hearth.ui.model_picker import ModelPicker, format_gb
from hearth.ui.qt_values import VERTICAL
from hearth.ui.tasks import BackgroundTask, TaskContext

if TYPE_CHECKING:
    # Event types are annotations only; dialogs are imported where they open. Each PySide
    # class costs up to 2 ms the first time it is touched, on the way to the first window.
    from PySide6.QtGui import QCloseEvent, QDragEnterEvent, QDropEvent, QPaintEvent

    # The answering code pulls in the index (numpy, rapidfuzz); it loads on first use,
    # not on the way to the first window.
    from hearth.assistant.chat import TurnResult
    from hearth.assistant.conversations import Conversation
    from hearth.models.catalogue import ModelInfo
    from hearth.ui.message_widget import MessageWidget
    from hearth.ui.source_viewer import SourceViewer

log = logging.getLogger(__name__)


class ConversationItem(QListWidgetItem):
    """A row of the conversation list. It carries its conversation's id as an attribute:
    item data roles are `Qt.*` values, which the first paint must not touch."""

    def __init__(self, title: str, conversation_id: int) -> None:
        super().__init__(title)
        self.conversation_id = conversation_id


class MainWindow(QMainWindow):
    # Emitted once, after the window's first paint: work that can wait starts here.
    first_painted = Signal()

    def __init__(self, workspace: Workspace) -> None:
        super().__init__()
        self.workspace = workspace
        self.setWindowTitle("Hearth")
        self.setAcceptDrops(True)
        self.resize(1180, 760)
        self.tasks: set[BackgroundTask] = set()
        self.answer_task: BackgroundTask | None = None
        self.index_task: BackgroundTask | None = None
        self.index_queue: list[list[Path]] = []
        self.model_task: BackgroundTask | None = None
        self.conversation: Conversation | None = None
        self.streaming_widget: MessageWidget | None = None
        self.view_settings = QSettings(
            str(workspace.paths.config / "window.ini"), QSettings.Format.IniFormat
        )
        self._build_toolbar()
        self._build_body()
        self._restore_geometry()
        self._first_paint_done = False

    def paintEvent(self, event: QPaintEvent) -> None:
        super().paintEvent(event)
        if not self._first_paint_done:
            self._first_paint_done = True
            # Opening the index and loading the model wait until the window is on screen.
            QTimer.singleShot(0, self.after_first_paint)

    def after_first_paint(self) -> None:
        # The lists fill a moment after the window is on screen: the conversation database
        # (sqlite3) and the settings (JSON) are not needed to paint it.
        self.refresh_conversations()
        self.first_painted.emit()
        self.refresh_models()
        self.refresh_documents()
        self.load_default_model()
        # Documents an interrupted write or an index format change took out come back
        # from their files without the user adding them again.
        wanted = self.workspace.index.store.documents_to_reindex()
        if wanted:
            self.index_paths([Path(p) for p in wanted])

    # -- layout ----------------------------------------------------------------------------
    def _build_toolbar(self) -> None:
        toolbar = QToolBar("Main")
        toolbar.setMovable(False)
        self.addToolBar(toolbar)
        toolbar.addWidget(QLabel(" Model: "))
        self.model_picker = ModelPicker()
        self.model_picker.model_chosen.connect(self.switch_model)
        self.model_picker.add_requested.connect(self.choose_model_file)
        toolbar.addWidget(self.model_picker)
        self.model_busy = QProgressBar()
        self.model_busy.setRange(0, 0)
        self.model_busy.setMaximumWidth(90)
        # A toolbar shows or hides its widgets through their actions, not the widgets.
        self.model_busy_action = toolbar.addWidget(self.model_busy)
        self.model_busy_action.setVisible(False)
        self.model_status = QLabel("")
        toolbar.addWidget(self.model_status)
        spacer = QWidget()
        spacer.setSizePolicy(
            spacer.sizePolicy().horizontalPolicy().Expanding, spacer.sizePolicy().verticalPolicy()
        )
        toolbar.addWidget(spacer)
        # The toolbar makes the action: measured at 0.2 ms, against 1.5-2 ms for the first
        # QAction constructed from Python on the way to the first window.
        self.settings_action = toolbar.addAction("Settings…")
        self.settings_action.triggered.connect(self.open_settings)

    def _build_body(self) -> None:
        self.splitter = QSplitter()  # side by side: a splitter's default orientation
        sidebar = QSplitter()
        sidebar.setProperty("orientation", VERTICAL)  # not Qt.Orientation: see qt_values.py
        conversations = QWidget()
        column = QVBoxLayout(conversations)
        column.setContentsMargins(6, 6, 6, 6)
        self.new_button = QPushButton("New")
        self.new_button.clicked.connect(self.new_conversation)
        column.addLayout(pane_header("Conversations", self.new_button))
        self.conversation_search = QLineEdit()
        self.conversation_search.setPlaceholderText("Search titles…")
        self.conversation_search.textChanged.connect(lambda _: self.refresh_conversations())
        column.addWidget(self.conversation_search)
        self.conversation_list = QListWidget()
        self.conversation_list.currentItemChanged.connect(self._conversation_selected)
        column.addWidget(self.conversation_list)
        row = QHBoxLayout()
        self.rename_button = QPushButton("Rename")
        self.rename_button.clicked.connect(self.rename_conversation)
        self.delete_button = QPushButton("Delete")
        self.delete_button.clicked.connect(self.delete_conversation)
        self.export_button = QPushButton("Export")
        self.export_button.clicked.connect(self.export_conversation)
        for button in (self.rename_button, self.delete_button, self.export_button):
            row.addWidget(button)
        column.addLayout(row)
        sidebar.addWidget(conversations)
        self.documents_pane = DocumentsPane()
        self.documents_pane.add_requested.connect(self.choose_documents)
        self.documents_pane.remove_requested.connect(self.remove_documents)
        self.documents_pane.summarize_requested.connect(self.summarize_documents)
        self.documents_pane.reindex_requested.connect(
            lambda paths: self.index_paths([Path(p) for p in paths])
        )
        documents_box = QWidget()
        documents_layout = QVBoxLayout(documents_box)
        documents_layout.setContentsMargins(6, 6, 6, 6)
        documents_layout.addWidget(self.documents_pane)
        sidebar.addWidget(documents_box)
        self.sidebar = sidebar
        self.splitter.addWidget(sidebar)

        centre = QWidget()
        centre_layout = QVBoxLayout(centre)
        centre_layout.setContentsMargins(0, 0, 0, 0)
        scope = QHBoxLayout()
        scope.setContentsMargins(12, 6, 12, 0)
        self.use_documents = QCheckBox("Answer from my documents")
        self.use_documents.setChecked(True)
        self.use_documents.toggled.connect(self._scope_changed)
        scope.addWidget(self.use_documents)
        self.choose_scope_button = QPushButton("Which documents…")
        self.choose_scope_button.clicked.connect(self.choose_scope)
        scope.addWidget(self.choose_scope_button)
        self.scope_label = QLabel("all documents")
        scope.addWidget(self.scope_label)
        scope.addStretch(1)
        centre_layout.addLayout(scope)
        self.chat_view = ChatView()
        centre_layout.addWidget(self.chat_view, 1)
        composer = QHBoxLayout()
        composer.setContentsMargins(12, 6, 12, 12)
        self.input = ChatInput()
        self.input.send_requested.connect(self.send)
        composer.addWidget(self.input, 1)
        buttons = QVBoxLayout()
        self.send_button = QPushButton("Send")
        self.send_button.setDefault(True)
        self.send_button.clicked.connect(self.send)
        self.stop_button = QPushButton("Stop")
        self.stop_button.setEnabled(False)
        self.stop_button.clicked.connect(self.stop)
        buttons.addWidget(self.send_button)
        buttons.addWidget(self.stop_button)
        composer.addLayout(buttons)
        centre_layout.addLayout(composer)
        self.splitter.addWidget(centre)
        self.splitter.setStretchFactor(1, 1)
        self.splitter.setSizes([300, 880])
        self.setCentralWidget(self.splitter)
        self.statusBar().showMessage(f"Hearth {__version__} — everything stays on this computer")

    # -- background work -------------------------------------------------------------------
    def run_task(self, task: BackgroundTask) -> BackgroundTask:
        self.tasks.add(task)
        task.finished.connect(lambda: self.tasks.discard(task))
        return task.start()

    def show_error(self, title: str, message: str) -> None:
        from PySide6.QtWidgets import QMessageBox

        log.warning("%s: %s", title, message)
        box = QMessageBox(QMessageBox.Icon.Warning, title, message, parent=self)
        box.setModal(False)
        box.show()
        self.last_error = message

    # -- models ----------------------------------------------------------------------------
    def refresh_models(self) -> None:
        models = self.workspace.catalogue.list()
        active = self.workspace.active_model
        self.model_picker.show_models(
            models,
            active.id if active else self.workspace.catalogue.default_id(),
            self.workspace.settings.n_ctx,
        )

    def _set_model_busy(self, busy: bool, label: str = "") -> None:
        self.model_busy_action.setVisible(busy)
        self.model_status.setText(label)

    def load_default_model(self) -> None:
        def load(context: TaskContext) -> ModelInfo:
            return self.workspace.ensure_model_loaded()

        self._start_model_task(BackgroundTask("load default model", load), "Loading model…")

    def _start_model_task(self, task: BackgroundTask, label: str) -> None:
        self._set_model_busy(True, label)
        task.succeeded.connect(self._model_ready)
        task.failed.connect(self._model_failed)
        self.model_task = self.run_task(task)

    def _model_ready(self, model: ModelInfo) -> None:
        self._set_model_busy(False, "Ready")
        self.refresh_models()
        self.model_picker.set_active(model.id)
        self.statusBar().showMessage(f"{model.name} is ready", 5000)

    def _model_failed(self, reason: str) -> None:
        self._set_model_busy(False, "")
        self.model_picker.revert()
        active = self.workspace.active_model
        kept = f" {active.name} is still in use." if active else ""
        self.show_error("The model could not be loaded", f"{reason}.{kept}")

    def switch_model(self, model: ModelInfo, insist: bool = False) -> None:
        from PySide6.QtWidgets import QMessageBox

        from hearth.models.catalogue import memory_fit

        share = memory_fit(model.ram_estimate(self.workspace.settings.n_ctx))
        if share > 1.0 and not insist:
            need = format_gb(model.ram_estimate(self.workspace.settings.n_ctx).total_bytes)
            answer = QMessageBox.question(
                self,
                "Not enough memory",
                f"{model.name} needs about {need}, more than this computer has free right "
                "now. Loading it may make the computer very slow or fail.\n\nLoad it anyway?",
            )
            if answer != QMessageBox.StandardButton.Yes:
                self.model_picker.revert()
                return

        def load(context: TaskContext) -> ModelInfo:
            self.workspace.load_model(model)
            return model

        self._start_model_task(BackgroundTask(f"load {model.id}", load), f"Loading {model.name}…")

    def choose_model_file(self) -> None:
        from PySide6.QtWidgets import QFileDialog

        path, _ = QFileDialog.getOpenFileName(self, "Add a GGUF model", "", "GGUF models (*.gguf)")
        if path:
            self.add_model(Path(path))

    def add_model(self, path: Path) -> None:
        def add(context: TaskContext) -> ModelInfo:
            from hearth.models.catalogue import ModelError

            try:
                return self.workspace.catalogue.add(path)
            except ModelError as error:
                raise RuntimeError(str(error)) from error

        task = BackgroundTask(f"add model {path.name}", add)
        task.succeeded.connect(self._model_added)
        task.failed.connect(lambda reason: self.show_error("The model could not be added", reason))
        self.run_task(task)

    def _model_added(self, model: ModelInfo) -> None:
        self.refresh_models()
        self.statusBar().showMessage(f"Added {model.name}", 5000)

    # -- settings --------------------------------------------------------------------------
    def open_settings(self) -> None:
        from hearth.ui.settings_dialog import SettingsDialog

        dialog = SettingsDialog(self.workspace.settings, self)
        if dialog.exec() and dialog.result_settings is not None:
            self.apply_settings(dialog.result_settings)

    def apply_settings(self, settings: Any) -> None:
        before = self.workspace.settings
        self.workspace.save_settings(settings)
        engine_changed = (before.n_ctx, before.n_threads, before.n_gpu_layers) != (
            settings.n_ctx,
            settings.n_threads,
            settings.n_gpu_layers,
        )
        if engine_changed and self.workspace.active_model is not None:
            self.switch_model(self.workspace.active_model, insist=True)
        self.refresh_models()

    # -- documents -------------------------------------------------------------------------
    def refresh_documents(self) -> None:
        self.documents_pane.show_documents(self.workspace.index.store.documents())

    def choose_documents(self) -> None:
        from PySide6.QtWidgets import QFileDialog

        paths, _ = QFileDialog.getOpenFileNames(self, "Add documents")
        if paths:
            self.index_paths([Path(p) for p in paths])

    def index_paths(self, paths: list[Path]) -> None:
        for path in paths:
            if path.is_file():
                self.documents_pane.set_state(str(path.absolute()), QUEUED)
        self.index_queue.append(paths)
        if self.index_task is None:
            self._start_next_index()

    def _start_next_index(self) -> None:
        if not self.index_queue:
            self.index_task = None
            self.documents_pane.hide_progress()
            return
        paths = self.index_queue.pop(0)
        workspace = self.workspace

        def index(context: TaskContext) -> Any:
            from hearth.index.document_index import DocumentIndex

            # Its own store connection: searches keep seeing only committed documents.
            writer = DocumentIndex(workspace.paths.index, embedder=workspace.index.embedder)
            try:
                return writer.index_paths(
                    paths, progress=context.progress, should_cancel=lambda: context.cancelled
                )
            finally:
                writer.close()

        task = BackgroundTask("index documents", index)
        task.progressed.connect(self._index_progress)
        task.succeeded.connect(self._index_done)
        task.failed.connect(self._index_failed)
        task.finished.connect(self._start_next_index)
        self.index_task = self.run_task(task)

    def _index_progress(self, done: int, total: int, label: str) -> None:
        self.documents_pane.show_progress(done, total, label)
        for path, item in self.documents_pane.items.items():
            if item.text(1) == QUEUED and Path(path).name == label:
                self.documents_pane.set_state(path, INDEXING)

    def _index_done(self, report: Any) -> None:
        for path in [*report.indexed, *report.unchanged]:
            self.documents_pane.set_state(path, READY)
        self.refresh_documents()
        for skipped in report.skipped:
            self.documents_pane.set_state(skipped.path, FAILED, skipped.reason)
        if report.skipped:
            names = ", ".join(Path(s.path).name for s in report.skipped[:3])
            self.statusBar().showMessage(f"Could not index {names} (hover for the reason)", 8000)

    def _index_failed(self, reason: str) -> None:
        for path, item in self.documents_pane.items.items():
            if item.text(1) in (QUEUED, INDEXING):
                self.documents_pane.set_state(path, FAILED, reason)
        self.refresh_documents()
        self.show_error("Indexing failed", reason)

    def remove_documents(self, paths: list[str]) -> None:
        for path in paths:
            self.workspace.index.remove(path)
        self.documents_pane.remove_rows(paths)
        self.refresh_documents()

    # -- drag and drop ---------------------------------------------------------------------
    def dragEnterEvent(self, event: QDragEnterEvent) -> None:
        if event.mimeData().hasUrls():
            event.acceptProposedAction()

    def dropEvent(self, event: QDropEvent) -> None:
        paths = [Path(url.toLocalFile()) for url in event.mimeData().urls() if url.isLocalFile()]
        self.handle_dropped(paths)
        event.acceptProposedAction()

    def handle_dropped(self, paths: list[Path]) -> None:
        models = [p for p in paths if p.suffix.lower() == ".gguf"]
        documents = [p for p in paths if p.suffix.lower() != ".gguf"]
        for model in models:
            self.add_model(model)
        if documents:
            self.index_paths(documents)

    # -- conversations ---------------------------------------------------------------------
    def refresh_conversations(self, select: int | None = None) -> None:
        current = (
            select if select is not None else (self.conversation.id if self.conversation else None)
        )
        self.conversation_list.blockSignals(True)
        self.conversation_list.clear()
        for conversation in self.workspace.conversations.search(self.conversation_search.text()):
            item = ConversationItem(conversation.title, conversation.id)
            self.conversation_list.addItem(item)
            if conversation.id == current:
                self.conversation_list.setCurrentItem(item)
        self.conversation_list.blockSignals(False)

    def _conversation_selected(self, item: QListWidgetItem | None, _previous: object) -> None:
        if item is None:
            return
        assert isinstance(item, ConversationItem)
        self.open_conversation(item.conversation_id)

    def open_conversation(self, conversation_id: int) -> None:
        if self.answer_task is not None and self.answer_task.running:
            self.stop()
        self.conversation = self.workspace.conversations.get(conversation_id)
        self.chat_view.clear()
        for message in self.workspace.conversations.messages(conversation_id):
            widget = self._message_widget(message.role, message.content)
            widget.set_tool_calls(message.tool_calls)
            widget.finish(None, message.sources, message.status, message.error)
        self.use_documents.blockSignals(True)
        self.use_documents.setChecked(self.conversation.use_documents)
        self.use_documents.blockSignals(False)
        self._show_scope()

    def new_conversation(self) -> Conversation:
        conversation = self.workspace.conversations.create()
        self.conversation = conversation
        self.chat_view.clear()
        self.refresh_conversations(select=conversation.id)
        self._show_scope()
        self.input.setFocus()
        return conversation

    def rename_conversation(self) -> None:
        from PySide6.QtWidgets import QInputDialog

        if self.conversation is None:
            return
        title, ok = QInputDialog.getText(
            self, "Rename conversation", "Title:", text=self.conversation.title
        )
        if ok:
            self.workspace.conversations.rename(self.conversation.id, title)
            self.conversation = self.workspace.conversations.get(self.conversation.id)
            self.refresh_conversations()

    def delete_conversation(self) -> None:
        if self.conversation is None:
            return
        self.workspace.conversations.delete(self.conversation.id)
        self.conversation = None
        self.chat_view.clear()
        self.refresh_conversations()

    def export_conversation(self) -> None:
        from PySide6.QtWidgets import QFileDialog

        if self.conversation is None:
            return
        path, _ = QFileDialog.getSaveFileName(
            self, "Export conversation", f"{self.conversation.title}.md", "Markdown (*.md)"
        )
        if path:
            Path(path).write_text(
                self.workspace.conversations.export_markdown(self.conversation.id), "utf-8"
            )

    def _scope_changed(self, checked: bool) -> None:
        if self.conversation is not None:
            self.workspace.conversations.set_document_scope(
                self.conversation.id, checked, self.conversation.documents
            )
            self.conversation = self.workspace.conversations.get(self.conversation.id)
        self._show_scope()

    def choose_scope(self) -> None:
        from hearth.ui.scope_dialog import DocumentScopeDialog

        conversation = self.conversation or self.new_conversation()
        dialog = DocumentScopeDialog(
            [d.path for d in self.workspace.index.store.documents()], conversation.documents, self
        )
        if dialog.exec():
            self.workspace.conversations.set_document_scope(
                conversation.id, self.use_documents.isChecked(), dialog.chosen()
            )
            self.conversation = self.workspace.conversations.get(conversation.id)
            self._show_scope()

    def _show_scope(self) -> None:
        chosen = self.conversation.documents if self.conversation else []
        self.scope_label.setText(f"{len(chosen)} chosen" if chosen else "all documents")
        self.choose_scope_button.setEnabled(self.use_documents.isChecked())

    # -- chatting --------------------------------------------------------------------------
    def _message_widget(self, role: str, text: str) -> MessageWidget:
        # Messages only appear after the first paint; their module uses `Qt.*` values.
        from hearth.ui.message_widget import MessageWidget

        widget = MessageWidget(role, text)
        widget.source_clicked.connect(self.open_source)
        widget.regenerate_requested.connect(lambda w=widget: self.regenerate(w))
        widget.edit_requested.connect(lambda w=widget: self.edit_and_resend(w))
        return self.chat_view.add_message(widget)

    def send(self, text: str | None = None) -> None:
        question = (text if isinstance(text, str) else self.input.toPlainText()).strip()
        if not question or (self.answer_task is not None and self.answer_task.running):
            return
        self.input.clear()
        conversation = self.conversation or self.new_conversation()
        from hearth.assistant.chat import history_from

        store = self.workspace.conversations
        history = history_from(store.messages(conversation.id))
        if not history and conversation.title == "New chat":
            store.rename(conversation.id, question[:48])
            self.conversation = conversation = store.get(conversation.id)
            self.refresh_conversations()
        store.add_message(conversation.id, "user", question)
        self._message_widget("user", question)
        self._answer(conversation, question, history)

    def _answer(self, conversation: Conversation, question: str, history: list[Any]) -> None:
        widget = self._message_widget("assistant", "")
        widget.set_streaming(True)
        self.streaming_widget = widget
        workspace = self.workspace

        def answer(context: TaskContext) -> TurnResult:
            from hearth.assistant.chat import answer_turn

            return answer_turn(workspace, conversation, question, history, context.piece)

        task = BackgroundTask("answer", answer, on_cancel=lambda: workspace.engine.cancel())
        task.piece.connect(widget.append)
        task.succeeded.connect(lambda result: self._answer_done(conversation, widget, result))
        self._run_reply_task(task, conversation, widget)

    def _run_reply_task(
        self, task: BackgroundTask, conversation: Conversation, widget: MessageWidget
    ) -> None:
        """Start a task whose result is the reply in ``widget`` (an answer, a summary):
        Stop cancels it, and a stop or failure is stored on that message."""
        task.cancelled.connect(lambda: self._answer_stopped(conversation, widget))
        task.failed.connect(lambda reason: self._answer_failed(conversation, widget, reason))
        task.finished.connect(self._answer_finished)
        self.send_button.setEnabled(False)
        self.stop_button.setEnabled(True)
        self.answer_task = self.run_task(task)

    def _answer_done(
        self, conversation: Conversation, widget: MessageWidget, result: TurnResult
    ) -> None:
        status = "stopped" if result.finish_reason == "cancelled" else "complete"
        widget.set_tool_calls(result.tool_calls)
        widget.finish(result.text or widget.text, result.sources, status)
        self.workspace.conversations.add_message(
            conversation.id,
            "assistant",
            widget.text,
            result.sources,
            result.tool_calls,
            status=status,
        )

    def _answer_stopped(self, conversation: Conversation, widget: MessageWidget) -> None:
        widget.finish(None, [], "stopped")
        self.workspace.conversations.add_message(
            conversation.id, "assistant", widget.text, status="stopped"
        )

    def _answer_failed(
        self, conversation: Conversation, widget: MessageWidget, reason: str
    ) -> None:
        widget.finish(None, [], "error", reason)
        self.workspace.conversations.add_message(
            conversation.id, "assistant", widget.text, status="error", error=reason
        )

    def _answer_finished(self) -> None:
        self.send_button.setEnabled(True)
        self.stop_button.setEnabled(False)
        self.streaming_widget = None

    def summarize_documents(self, paths: list[str]) -> None:
        """Summarise each chosen document into the current conversation (Stop cancels)."""
        if not paths or (self.answer_task is not None and self.answer_task.running):
            return
        conversation = self.conversation or self.new_conversation()
        path = paths[0]
        request = f"Summarise {Path(path).name}"
        self.workspace.conversations.add_message(conversation.id, "user", request)
        self._message_widget("user", request)
        widget = self._message_widget("assistant", "")
        widget.set_streaming(True)
        workspace = self.workspace

        def summarize(context: TaskContext) -> Any:
            return workspace.summarizer().summarize(
                path, progress=context.progress, should_cancel=lambda: context.cancelled
            )

        task = BackgroundTask("summarise", summarize, on_cancel=lambda: workspace.engine.cancel())
        task.progressed.connect(
            lambda done, total, label: self.statusBar().showMessage(f"Summarising: {label}")
        )
        task.succeeded.connect(lambda summary: self._summary_done(conversation, widget, summary))
        self._run_reply_task(task, conversation, widget)

    def _summary_done(
        self, conversation: Conversation, widget: MessageWidget, summary: Any
    ) -> None:
        covered = len(summary.covered_entities)
        note = (
            f"\n\n_{summary.parts} parts, {summary.rounds} rounds, "
            f"{covered}/{len(summary.key_entities)} key names and dates covered_"
        )
        widget.finish(summary.text + note, [], "complete")
        self.workspace.conversations.add_message(conversation.id, "assistant", widget.text)
        self.statusBar().showMessage("Summary ready", 5000)

    def stop(self) -> None:
        if self.answer_task is not None and self.answer_task.running:
            self.answer_task.cancel()

    def _resend_from(self, message_index: int, question: str) -> None:
        """Drop the message at ``message_index`` and everything after it, then ask again."""
        if self.conversation is None or (self.answer_task and self.answer_task.running):
            return
        store = self.workspace.conversations
        messages = store.messages(self.conversation.id)
        if message_index >= len(messages):
            return
        store.delete_messages_from(self.conversation.id, messages[message_index].id)
        self.open_conversation(self.conversation.id)
        self.send(question)

    def regenerate(self, widget: MessageWidget) -> None:
        index = self.chat_view.messages.index(widget)
        questions = [w for w in self.chat_view.messages[:index] if w.role == "user"]
        if questions:
            user_index = self.chat_view.messages.index(questions[-1])
            self._resend_from(user_index, questions[-1].text)

    def edit_and_resend(self, widget: MessageWidget) -> None:
        from PySide6.QtWidgets import QInputDialog

        text, ok = QInputDialog.getMultiLineText(self, "Edit and resend", "Message:", widget.text)
        if ok and text.strip():
            self._resend_from(self.chat_view.messages.index(widget), text.strip())

    def open_source(self, source: dict[str, Any]) -> SourceViewer:
        from hearth.ui.source_viewer import SourceViewer

        viewer = SourceViewer(source, self)
        viewer.setModal(False)
        viewer.show()
        self.source_viewer = viewer
        return viewer

    # -- window state ----------------------------------------------------------------------
    def _restore_geometry(self) -> None:
        geometry = self.view_settings.value("geometry")
        if isinstance(geometry, QByteArray):
            self.restoreGeometry(geometry)
        splitter = self.view_settings.value("splitter")
        if isinstance(splitter, QByteArray):
            self.splitter.restoreState(splitter)

    def closeEvent(self, event: QCloseEvent) -> None:
        self.view_settings.setValue("geometry", self.saveGeometry())
        self.view_settings.setValue("splitter", self.splitter.saveState())
        self.view_settings.sync()
        for task in list(self.tasks):
            task.cancel()
        super().closeEvent(event)
