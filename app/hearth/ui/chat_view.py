"""The conversation: a column of messages that follows new text, and the input box.

Everything here is built before the window's first paint, so nothing touches `Qt.*` values
on the way (hearth/ui/qt_values.py says why).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import QTimer, Signal
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QScrollArea,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)

from hearth.ui.qt_values import ALIGN_CENTER, SCROLL_BAR_ALWAYS_OFF
from hearth.ui.theme import messages_stylesheet, style_text

if TYPE_CHECKING:
    from PySide6.QtGui import QFocusEvent, QKeyEvent

    from hearth.assistant.conversations import Message
    from hearth.ui.message_widget import MessageWidget

EMPTY_STATE = (
    "<h2>Welcome to Hearth</h2>"
    "<p>Drop documents (PDF, Word, e-books, slides, sheets, scans, Markdown, text, HTML) "
    "or folders anywhere on this window, or use <b>Add…</b> in the Documents pane.</p>"
    "<p>Then ask a question below. Answers cite the page they come from; click a source "
    "to see the passage.</p>"
    "<p>Everything stays on this computer.</p>"
)


class ChatView(QScrollArea):
    """A column of messages that follows new text unless the user has scrolled up. Before
    the first message, the welcome text and the questions suggested for the documents."""

    suggestion_clicked = Signal(str)
    source_clicked = Signal(object)  # a Source
    regenerate_requested = Signal(object)  # the MessageWidget
    resend_requested = Signal(object, str)  # the MessageWidget, its text as edited

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWidgetResizable(True)
        self.setFrameShape(QFrame.Shape.NoFrame)
        self.setAccessibleName("Conversation")
        self.setAccessibleDescription("The messages; Page Up and Page Down scroll them")
        # Messages wrap to the view's width; nothing may scroll sideways.
        self.setProperty("horizontalScrollBarPolicy", SCROLL_BAR_ALWAYS_OFF)
        self.container = QWidget()
        # The message style sheet is set with the first message (add_message): a style
        # sheet makes Qt polish the column through QStyleSheetStyle, and the empty state
        # needs none of it.
        self.column = QVBoxLayout(self.container)
        self.column.setContentsMargins(16, 16, 16, 16)
        self.column.setSpacing(10)
        self.empty_state = QLabel(EMPTY_STATE)
        style_text(self.empty_state, "quiet", 14)
        self.empty_state.setContentsMargins(40, 40, 40, 40)
        self.empty_state.setWordWrap(True)
        self.empty_state.setProperty("alignment", ALIGN_CENTER)
        self.column.addWidget(self.empty_state)
        self.suggestions = QWidget()
        self.suggestion_column = QVBoxLayout(self.suggestions)
        self.suggestion_column.setContentsMargins(40, 0, 40, 0)
        self.suggestions.hide()
        self.column.addWidget(self.suggestions)
        self.column.addStretch(1)
        self.setWidget(self.container)
        self.messages: list[MessageWidget] = []
        self.conversation_id: int | None = None  # the conversation on screen
        self._follow = True
        scrollbar = self.verticalScrollBar()
        scrollbar.valueChanged.connect(self._remember_position)
        scrollbar.rangeChanged.connect(self._keep_following)

    # A frame while it has the focus (Page Up and Page Down then scroll it): without one,
    # nothing would show where the focus is.
    def focusInEvent(self, event: QFocusEvent) -> None:
        self.setFrameShape(QFrame.Shape.Box)
        super().focusInEvent(event)

    def focusOutEvent(self, event: QFocusEvent) -> None:
        self.setFrameShape(QFrame.Shape.NoFrame)
        super().focusOutEvent(event)

    def _remember_position(self, value: int) -> None:
        scrollbar = self.verticalScrollBar()
        self._follow = value >= scrollbar.maximum() - 24

    def _keep_following(self, _minimum: int, maximum: int) -> None:
        if self._follow:
            self.verticalScrollBar().setValue(maximum)

    @property
    def following(self) -> bool:
        return self._follow

    def clear(self) -> None:
        for message in self.messages:
            message.setParent(None)
            message.deleteLater()
        self.messages = []
        self.empty_state.show()
        self.suggestions.setVisible(self.suggestion_column.count() > 0)
        self._follow = True

    def show_suggestions(self, questions: list[str]) -> None:
        """Questions the documents can answer, each a button that asks it."""
        from PySide6.QtWidgets import QPushButton

        while self.suggestion_column.count():
            item = self.suggestion_column.takeAt(0)
            widget = item.widget() if item is not None else None
            if widget is not None:
                widget.deleteLater()
        if questions:
            title = QLabel("Try asking:")
            style_text(title, "quiet", 13, bold=True)
            self.suggestion_column.addWidget(title)
        for question in questions:
            button = QPushButton(question)
            button.setObjectName("suggestedQuestion")
            button.setFlat(True)
            button.setAutoDefault(True)  # Enter asks it, as Space does
            button.setAccessibleName(f"Ask: {question}")
            button.clicked.connect(lambda _=False, q=question: self.suggestion_clicked.emit(q))
            self.suggestion_column.addWidget(button)
        self.suggestions.setVisible(bool(questions) and not self.messages)

    def suggested_questions(self) -> list[str]:
        from PySide6.QtWidgets import QPushButton

        found = []
        for number in range(self.suggestion_column.count()):
            item = self.suggestion_column.itemAt(number)
            widget = item.widget() if item is not None else None
            if isinstance(widget, QPushButton):
                found.append(widget.text())
        return found

    # -- messages as the answer controller reports them --------------------------------------
    def new_message(self, role: str, text: str = "") -> MessageWidget:
        # Messages only appear after the first paint; their module uses `Qt.*` values.
        from hearth.ui.message_widget import MessageWidget

        widget = MessageWidget(role, text)
        widget.controls_changed.connect(lambda: self._order_tabs(widget))
        widget.source_clicked.connect(self.source_clicked)
        widget.regenerate_requested.connect(lambda: self.regenerate_requested.emit(widget))
        widget.edit_requested.connect(lambda: self.ask_edit(widget))
        return self.add_message(widget)

    def ask_edit(self, widget: MessageWidget) -> None:
        from PySide6.QtWidgets import QInputDialog

        text, ok = QInputDialog.getMultiLineText(self, "Edit and resend", "Message:", widget.text)
        if ok and text.strip():
            self.resend_requested.emit(widget, text.strip())

    # Each takes the conversation it is about and shows it only when that one is open.
    def show_stored(self, message: Message) -> None:
        if message.conversation_id == self.conversation_id:
            self.new_message(message.role, message.content).show_message(message)

    def start_reply(self, conversation_id: int) -> None:
        if conversation_id == self.conversation_id:
            self.new_message("assistant").set_streaming(True)

    def reply_widget(self, conversation_id: int | None) -> MessageWidget | None:
        """The reply being written, if it is on screen."""
        last = self.messages[-1] if self.messages else None
        if last is None or not last.streaming or conversation_id != self.conversation_id:
            return None
        return last

    def append_to_reply(self, conversation_id: int, text: str) -> None:
        if (widget := self.reply_widget(conversation_id)) is not None:
            widget.append(text)

    def set_reply_stage(self, conversation_id: int, label: str) -> None:
        if (widget := self.reply_widget(conversation_id)) is not None:
            widget.set_stage(label)

    def finish_reply(self, message: Message) -> None:
        if (widget := self.reply_widget(message.conversation_id)) is not None:
            widget.show_message(message)

    def _order_tabs(self, widget: MessageWidget) -> None:
        """Tab reaches ``widget``'s controls after the message above and before the question
        box (a widget made later would come last in the window's Tab order)."""
        from PySide6.QtWidgets import QWidget

        if widget not in self.messages:
            return
        place = self.messages.index(widget)
        previous: QWidget = self.messages[place - 1].focus_controls()[-1] if place else self
        for control in widget.focus_controls():
            QWidget.setTabOrder(previous, control)
            previous = control

    def restyle(self) -> None:
        """The message style sheet again, after the theme changed."""
        if self.container.styleSheet():
            self.container.setStyleSheet(messages_stylesheet())

    def add_message(self, widget: MessageWidget) -> MessageWidget:
        if not self.container.styleSheet():
            self.container.setStyleSheet(messages_stylesheet())
        self.empty_state.hide()
        self.suggestions.hide()
        self.column.insertWidget(self.column.count() - 1, widget)
        self.messages.append(widget)
        self._order_tabs(widget)
        widget.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Maximum)
        if self._follow:
            QTimer.singleShot(
                0, lambda: self.verticalScrollBar().setValue(self.verticalScrollBar().maximum())
            )
        return widget


class ChatInput(QPlainTextEdit):
    """Enter sends; Shift+Enter adds a line."""

    send_requested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setPlaceholderText("Ask about your documents…  (Enter sends, Shift+Enter adds a line)")
        self.setAccessibleName("Question")
        self.setAccessibleDescription(
            "Enter sends, Shift+Enter adds a line; Tab moves on, Escape stops an answer"
        )
        # Tab moves to the next control rather than typing a tab into the question.
        self.setTabChangesFocus(True)
        self.setMaximumHeight(110)

    def keyPressEvent(self, event: QKeyEvent) -> None:
        from PySide6.QtCore import Qt  # not at the top: see hearth/ui/qt_values.py

        enter = event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter)
        if enter and not event.modifiers() & Qt.KeyboardModifier.ShiftModifier:
            self.send_requested.emit()
            return
        super().keyPressEvent(event)


class Composer(QWidget):
    """The input box with Send and Stop beside it."""

    send_requested = Signal()
    stop_requested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        row = QHBoxLayout(self)
        row.setContentsMargins(12, 6, 12, 12)
        self.input = ChatInput()
        self.input.send_requested.connect(self.send_requested)
        row.addWidget(self.input, 1)
        buttons = QVBoxLayout()
        self.send_button = QPushButton("Send")
        self.send_button.setAccessibleDescription("Asks the question (Enter in the question box)")
        self.send_button.clicked.connect(self.send_requested)
        self.stop_button = QPushButton("Stop")
        self.stop_button.setAccessibleDescription("Stops the answer being written (Escape)")
        self.stop_button.setEnabled(False)
        self.stop_button.clicked.connect(self.stop_requested)
        buttons.addWidget(self.send_button)
        buttons.addWidget(self.stop_button)
        row.addLayout(buttons)

    def set_busy(self, busy: bool) -> None:
        self.send_button.setEnabled(not busy)
        self.stop_button.setEnabled(busy)
