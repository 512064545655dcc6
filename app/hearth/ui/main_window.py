"""Hearth's main window: layout and wiring. Conversations and documents on the left, the
chat in the centre, the model picker in the toolbar. The work is done by the controllers
in hearth/ui/operations (library, answers, models); the window shows what they report."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QByteArray, QSettings, QTimer, Signal
from PySide6.QtWidgets import (
    QLabel,
    QMainWindow,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from hearth import __version__
from hearth.assistant.message_status import CUT_NOTE, MessageStatus
from hearth.assistant.workspace import Workspace
from hearth.ui.accessibility import announce
from hearth.ui.chat_view import ChatView, Composer
from hearth.ui.conversations_pane import ConversationsPane
from hearth.ui.documents_pane import DocumentsPane
from hearth.ui.model_toolbar import ModelToolbar
from hearth.ui.operations.answers import AnswerController
from hearth.ui.operations.conversations import ConversationController
from hearth.ui.operations.library import LibraryController
from hearth.ui.operations.models import ModelController
from hearth.ui.qt_values import VERTICAL
from hearth.ui.scope_bar import ScopeBar
from hearth.ui.shortcuts import SHORTCUTS
from hearth.ui.tasks import BackgroundTask
from hearth.ui.theme import apply_theme, desktop_scheme_changed, follow_desktop_scheme

if TYPE_CHECKING:
    # Event types are annotations only; dialogs are imported where they open. Each PySide
    # class costs up to 2 ms the first time it is touched, on the way to the first window.
    from PySide6.QtGui import QAction, QCloseEvent, QDragEnterEvent, QDropEvent, QPaintEvent

    from hearth.assistant.conversations import Conversation, Message
    from hearth.assistant.sources import Source
    from hearth.settings import Settings
    from hearth.ui.message_widget import MessageWidget
    from hearth.ui.source_viewer import SourceViewer

log = logging.getLogger(__name__)

# The top status from a question's start to its first stage.
WORKING = "Working on your question…"


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
        self.last_error: str | None = None
        self._stage_shown_below: str | None = None  # the answer's stage in the status bar
        self.source_viewer: SourceViewer | None = None
        self.view_settings = QSettings(
            str(workspace.paths.config / "window.ini"), QSettings.Format.IniFormat
        )
        self.models = ModelController(workspace, self.run_task, self)
        self.library = LibraryController(workspace, self.run_task, self)
        self.answers = AnswerController(workspace, self.run_task, self)
        self.conversations = ConversationController(workspace, self)
        self.actions_by_name: dict[str, QAction] = {}
        self._build_toolbar()
        self._build_body()
        self._build_menus()
        self._connect_signals()
        self._restore_geometry()
        self._first_paint_done = False

    def paintEvent(self, event: QPaintEvent) -> None:
        super().paintEvent(event)
        if not self._first_paint_done:
            self._first_paint_done = True
            # Opening the index and loading the model wait until the window is on screen.
            QTimer.singleShot(0, self.after_first_paint)

    def after_first_paint(self) -> None:
        # The conversation database (sqlite3) and the settings (JSON) are not needed to
        # paint the window; the index opens (and repairs itself) off the GUI thread.
        self.refresh_conversations()
        self._build_actions()
        self._follow_desktop_look()
        self.first_painted.emit()
        self.toolbar.refresh()
        self.models.load_default()
        self.library.repair_after_start()
        self.library.documents_changed.emit()

    # -- layout ----------------------------------------------------------------------------
    def _build_toolbar(self) -> None:
        self.toolbar = ModelToolbar(self.workspace, self.models)
        self.addToolBar(self.toolbar)
        self.model_picker = self.toolbar.picker
        self.model_busy_action = self.toolbar.busy_action

    def _build_body(self) -> None:
        self.splitter = QSplitter()  # side by side: a splitter's default orientation
        self.sidebar = QSplitter()
        self.sidebar.setProperty("orientation", VERTICAL)  # not Qt.Orientation: qt_values.py
        self.conversations_pane = ConversationsPane()
        self.conversation_list = self.conversations_pane.list
        self.sidebar.addWidget(self.conversations_pane)
        self.documents_pane = DocumentsPane()
        documents_box = QWidget()
        QVBoxLayout(documents_box).addWidget(self.documents_pane)
        self.sidebar.addWidget(documents_box)
        self.splitter.addWidget(self.sidebar)
        centre = QWidget()
        centre_layout = QVBoxLayout(centre)
        centre_layout.setContentsMargins(0, 0, 0, 0)
        self.scope_bar = ScopeBar(
            lambda: self.workspace.conversations,
            lambda: [d.path for d in self.workspace.index.documents()],
        )
        self.use_documents = self.scope_bar.use_documents
        centre_layout.addWidget(self.scope_bar)
        self.chat_view = ChatView()
        centre_layout.addWidget(self.chat_view, 1)
        self.composer = Composer()
        self.input = self.composer.input
        self.send_button = self.composer.send_button
        self.stop_button = self.composer.stop_button
        centre_layout.addWidget(self.composer)
        self.splitter.addWidget(centre)
        self.splitter.setStretchFactor(1, 1)
        self.splitter.setSizes([300, 880])
        self.setCentralWidget(self.splitter)
        self.input.setFocus()  # the window opens ready for a question
        self.statusBar().showMessage(f"Hearth {__version__} — everything stays on this computer")
        # Where the model runs, once one is loaded: "GPU: 25 of 25 layers" or "CPU".
        self.device_label = QLabel()
        self.device_label.setAccessibleName("Where the model runs")
        self.statusBar().addPermanentWidget(self.device_label)

    def _build_menus(self) -> None:
        # The menus' titles are there for the first paint; their actions come just after it
        # (_build_actions), off the way to the first window.
        bar = self.menuBar()
        self.file_menu = bar.addMenu("&File")
        self.conversation_menu = bar.addMenu("&Conversation")
        self.help_menu = bar.addMenu("&Help")

    def _build_actions(self) -> None:
        """Every shortcut as a menu action; the Help menu lists them all."""
        from PySide6.QtGui import QAction, QKeySequence

        for shortcut in SHORTCUTS:
            action = QAction(shortcut.text, self)
            action.setShortcut(QKeySequence(shortcut.keys))
            action.setStatusTip(shortcut.does)
            action.setToolTip(shortcut.does)
            action.triggered.connect(lambda _=False, name=shortcut.name: getattr(self, name)())
            self.actions_by_name[shortcut.name] = action
        named = self.actions_by_name
        named["stop_answer"].setEnabled(self.answers.busy)  # Esc is free otherwise
        quit_action = QAction("&Quit", self)
        quit_action.setShortcut(QKeySequence(QKeySequence.StandardKey.Quit))
        quit_action.triggered.connect(self.close)
        for name in ("add_documents", "choose_model", "open_settings"):
            self.file_menu.addAction(named[name])
        self.file_menu.addSeparator()
        self.file_menu.addAction(quit_action)
        for name in (
            "new_conversation",
            "search_conversations",
            "focus_question",
            "stop_answer",
            "copy_last_answer",
        ):
            self.conversation_menu.addAction(named[name])
        self.help_menu.addAction(named["show_shortcuts"])
        self.help_menu.addSection("Shortcuts")
        for shortcut in SHORTCUTS:
            if shortcut.name != "show_shortcuts":
                self.help_menu.addAction(named[shortcut.name])
        self.help_menu.addSeparator()
        about = self.help_menu.addAction("About Hearth")
        about.triggered.connect(self.show_about)

    def _show_device(self, _model: object) -> None:
        from hearth.errors import HearthError

        try:
            status = self.workspace.engine.status()
        except HearthError:
            return
        self.device_label.setText(status.device_summary())
        self.device_label.setToolTip(status.gpu_note)

    def _connect_signals(self) -> None:
        self.toolbar.problem.connect(self.show_error)
        self.toolbar.status.connect(lambda text: self.statusBar().showMessage(text, 5000))
        # Questions wait for the model before they are suggested.
        self.models.ready.connect(lambda _: self.answers.suggest_for([]))
        self.models.ready.connect(self._show_device)
        pane, conversations = self.conversations_pane, self.conversations
        pane.new_requested.connect(self.new_conversation)
        pane.selected.connect(conversations.open)
        pane.rename_requested.connect(self.rename_conversation)
        pane.delete_requested.connect(conversations.delete)
        pane.export_requested.connect(self.export_conversation)
        pane.search_changed.connect(conversations.search)
        conversations.listed.connect(pane.show_conversations)
        conversations.opened.connect(self._show_conversation)
        conversations.closed.connect(self._conversation_closed)
        conversations.deleting.connect(self.answers.conversation_deleted)  # stops, unsaved
        documents = self.documents_pane
        documents.add_chosen.connect(self.library.index_paths)
        documents.remove_requested.connect(self.library.remove)
        documents.summarize_requested.connect(self.summarize_documents)
        documents.reindex_requested.connect(
            lambda paths: self.library.index_paths([Path(p) for p in paths], reread=True)
        )
        library = self.library
        library.state_changed.connect(documents.set_state)
        library.progress.connect(documents.show_progress)
        library.idle.connect(documents.hide_progress)
        library.documents_changed.connect(library.list_documents)
        library.documents_listed.connect(self._show_documents)
        library.documents_indexed.connect(self.answers.suggest_for)
        library.problem.connect(self.show_error)
        library.status.connect(lambda text: self.statusBar().showMessage(text, 8000))
        answers, chat = self.answers, self.chat_view
        # What the controller reports; the view shows what is about the open conversation.
        answers.user_message_added.connect(chat.show_stored)
        answers.reply_started.connect(chat.start_reply)
        answers.reply_piece.connect(chat.append_to_reply)
        answers.reply_stage.connect(chat.set_reply_stage)
        answers.reply_stage.connect(self._show_stage_below)
        # The top status says what the answer is doing from its start (the first stage
        # comes after the model is loaded and the tools are weighed) to its end.
        answers.reply_started.connect(lambda _: self.toolbar.show_activity(WORKING))
        answers.reply_stage.connect(lambda _, label: self.toolbar.show_activity(label))
        answers.reply_stage_entered.connect(self._announce_stage)
        answers.reply_finished.connect(chat.finish_reply)
        answers.reply_finished.connect(self._announce_reply)
        chat.source_clicked.connect(self.open_source)
        chat.regenerate_requested.connect(self.regenerate)
        chat.resend_requested.connect(self.edit_and_resend)
        answers.busy_changed.connect(self.composer.set_busy)
        answers.busy_changed.connect(self._busy_changed)
        answers.status.connect(lambda text: self.statusBar().showMessage(text, 5000))
        answers.suggestions_changed.connect(self.chat_view.show_suggestions)
        self.chat_view.suggestion_clicked.connect(self.send)
        self.scope_bar.changed.connect(conversations.reload)
        self.scope_bar.choose_button.clicked.connect(
            lambda: self.scope_bar.choose(self.conversation or self.new_conversation())
        )
        self.composer.send_requested.connect(self.send)
        self.composer.stop_requested.connect(self.answers.stop)
        self.toolbar.settings_applied.connect(self.apply_look)

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

    # -- documents -------------------------------------------------------------------------
    def _show_documents(self, records: Any) -> None:
        self.documents_pane.show_documents(records)
        self.chat_view.show_suggestions(self.answers.suggestions())

    def handle_dropped(self, paths: list[Path]) -> None:
        for model in (p for p in paths if p.suffix.lower() == ".gguf"):
            self.models.add(model)
        documents = [p for p in paths if p.suffix.lower() != ".gguf"]
        if documents:
            self.library.index_paths(documents)

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:
        if event.mimeData().hasUrls():
            event.acceptProposedAction()

    def dropEvent(self, event: QDropEvent) -> None:
        urls = event.mimeData().urls()
        self.handle_dropped([Path(url.toLocalFile()) for url in urls if url.isLocalFile()])
        event.acceptProposedAction()

    def summarize_documents(self, paths: list[str]) -> None:
        """Summarise every chosen document into the current conversation (Stop ends it)."""
        self.answers.summarise(self.conversation or self.new_conversation(), paths)

    # -- conversations and chatting ----------------------------------------------------------
    @property
    def conversation(self) -> Conversation | None:
        return self.conversations.current

    def refresh_conversations(self, select: int | None = None) -> None:
        self.conversations.refresh(select)

    def open_conversation(self, conversation_id: int) -> None:
        self.conversations.open(conversation_id)

    def new_conversation(self) -> Conversation:
        conversation = self.conversations.create()
        self.input.setFocus()
        return conversation

    def _show_conversation(self, conversation: Conversation, messages: list[Any]) -> None:
        self.chat_view.clear()
        self.chat_view.conversation_id = conversation.id
        for message in messages:
            self.chat_view.show_stored(message)
        reply = self.answers.reply
        if reply is not None:  # still being written: show what it has, if it is this one's
            self.chat_view.start_reply(reply.conversation_id)
            self.chat_view.append_to_reply(reply.conversation_id, reply.text)
        self.scope_bar.show_for(conversation)

    def _conversation_closed(self) -> None:
        self.chat_view.clear()
        self.chat_view.conversation_id = None

    def rename_conversation(self) -> None:
        if self.conversation is not None:
            self.conversations.rename(self.conversations_pane.ask_title(self.conversation) or "")

    def export_conversation(self) -> None:
        if self.conversation is not None:
            path = self.conversations_pane.ask_export_path(self.conversation)
            if path:
                self.conversations.export(path)

    def send(self, text: str | None = None) -> None:
        question = (text if isinstance(text, str) else self.input.toPlainText()).strip()
        if not question or self.answers.busy:
            return
        self.input.clear()
        if self.answers.send(self.conversation or self.new_conversation(), question):
            self.conversations.reload()  # a first question titles the conversation

    def regenerate(self, widget: MessageWidget) -> None:
        if self.conversation is not None and widget.message_id is not None:
            self._resend(self.answers.regenerate(self.conversation, widget.message_id))

    def edit_and_resend(self, widget: MessageWidget, text: str) -> None:
        if self.conversation is not None and widget.message_id is not None:
            self._resend(self.answers.resend_from(self.conversation, widget.message_id, text))

    def _resend(self, started: bool) -> None:
        if started and self.conversation is not None:
            self.open_conversation(self.conversation.id)  # shows the new question and reply

    def open_source(self, source: Source) -> None:
        """The cited page, read off the GUI thread (a PDF page renders for a moment)."""
        from hearth.ui.source_viewer import read_source_view

        task = BackgroundTask(
            "read a source",
            lambda context: read_source_view(
                source, self.workspace.index.document(source.document)
            ),
        )
        task.succeeded.connect(lambda view: self._show_source(source, view))
        self.run_task(task)

    def _show_source(self, source: Source, view: Any) -> None:
        from hearth.ui.source_viewer import SourceViewer

        self.source_viewer = SourceViewer(source, view, self)
        self.source_viewer.setModal(False)
        self.source_viewer.show()

    # -- shortcuts (SHORTCUTS names these) -----------------------------------------------------
    def focus_question(self) -> None:
        self.input.setFocus()

    def add_documents(self) -> None:
        self.documents_pane.choose_documents()

    def stop_answer(self) -> None:
        self.answers.stop()

    def search_conversations(self) -> None:
        self.conversations_pane.search.setFocus()
        self.conversations_pane.search.selectAll()

    def copy_last_answer(self) -> None:
        answers = [m for m in self.chat_view.messages if m.role == "assistant" and not m.streaming]
        if answers:
            answers[-1].copy_to_clipboard()
            self.statusBar().showMessage("Copied the answer", 3000)
            announce(self.statusBar(), "Copied the answer")

    def choose_model(self) -> None:
        self.model_picker.setFocus()
        self.model_picker.showPopup()

    def open_settings(self) -> None:
        self.toolbar.open_settings()

    def show_shortcuts(self) -> None:
        from hearth.ui.shortcuts import shortcuts_dialog

        self.shortcuts_dialog = shortcuts_dialog(self)
        self.shortcuts_dialog.open()

    def show_about(self) -> None:
        from PySide6.QtWidgets import QMessageBox

        QMessageBox.about(
            self,
            "About Hearth",
            f"Hearth {__version__}: answers from your documents, on this computer only.",
        )

    # -- what a screen reader is told ------------------------------------------------------
    def _show_stage_below(self, _conversation_id: int, label: str) -> None:
        self._stage_shown_below = label
        self.statusBar().showMessage(label)

    def _busy_changed(self, busy: bool) -> None:
        if "stop_answer" in self.actions_by_name:
            self.actions_by_name["stop_answer"].setEnabled(busy)
        if not busy:
            self.toolbar.show_activity("")
            # A stage left below would say the answer is still being worked on.
            if self.statusBar().currentMessage() == self._stage_shown_below:
                self.statusBar().clearMessage()

    def _announce_stage(self, conversation_id: int, label: str) -> None:
        if conversation_id == self.chat_view.conversation_id:
            announce(self.toolbar.label, label)

    def _announce_reply(self, message: Message) -> None:
        if message.conversation_id != self.chat_view.conversation_id:
            return
        if message.status is MessageStatus.STOPPED:
            announce(self.toolbar.label, "Answer stopped")
        elif message.status is MessageStatus.ERROR:
            announce(self.toolbar.label, f"The answer failed: {message.error}", assertive=True)
        elif message.status is MessageStatus.CUT:
            announce(self.toolbar.label, f"Answer ready. {CUT_NOTE}")
        else:
            announce(self.toolbar.label, "Answer ready")

    # -- look --------------------------------------------------------------------------------
    def _follow_desktop_look(self) -> None:
        from PySide6.QtWidgets import QApplication

        app = QApplication.instance()
        if isinstance(app, QApplication):
            follow_desktop_scheme(app, self.workspace.settings)
            self._restyle()
            app.styleHints().colorSchemeChanged.connect(self._desktop_scheme_changed)

    def _desktop_scheme_changed(self, scheme: Any) -> None:
        desktop_scheme_changed(scheme)
        self.apply_look(self.workspace.settings)

    def apply_look(self, settings: Settings) -> None:
        """The theme and text size ``settings`` ask for (after Settings, or the desktop's
        scheme changed)."""
        from PySide6.QtWidgets import QApplication

        app = QApplication.instance()
        if isinstance(app, QApplication):
            apply_theme(app, settings)
            self._restyle()

    def _restyle(self) -> None:
        self.chat_view.restyle()
        self.documents_pane.restyle()

    # -- window state ----------------------------------------------------------------------
    def _restore_geometry(self) -> None:
        """The size, place and splitters of the last window (window.ini in the config
        folder, under HEARTH_HOME when it is set)."""
        geometry = self.view_settings.value("geometry")
        if isinstance(geometry, QByteArray):
            self.restoreGeometry(geometry)
        for key, splitter in (("splitter", self.splitter), ("sidebar", self.sidebar)):
            state = self.view_settings.value(key)
            if isinstance(state, QByteArray):
                splitter.restoreState(state)

    def closeEvent(self, event: QCloseEvent) -> None:
        self.view_settings.setValue("geometry", self.saveGeometry())
        self.view_settings.setValue("splitter", self.splitter.saveState())
        self.view_settings.setValue("sidebar", self.sidebar.saveState())
        self.view_settings.sync()
        self.library.stop()
        for task in list(self.tasks):
            task.cancel()
        super().closeEvent(event)
