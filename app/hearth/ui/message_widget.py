"""One message in the conversation: Markdown text that streams in (with what the reply is
doing meanwhile), the tools it used, its source chips (the sources the answer cites first,
the others folded under "other sources"), and Copy / Regenerate / Edit.

Messages only appear after the window is on screen, so this module may touch `Qt.*` values
(see hearth/ui/qt_values.py for why the window's first paint must not).
"""

from __future__ import annotations

import html
import json
import re
from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QGuiApplication, QTextDocument
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from hearth.assistant.citations import CITATION_MARKER, numbered_source_label
from hearth.assistant.conversations import Message
from hearth.assistant.message_status import CUT_NOTE, MessageStatus
from hearth.assistant.sources import Source
from hearth.documents.safe_files import shown_name
from hearth.ui.flow_layout import FlowLayout

# After a statement whose facts were not found in the sources (assistant/grounding.py).
UNSUPPORTED_MARK = "*(not found in your documents)*"
SPEAKERS = {"user": "You", "assistant": "Hearth"}
CUT_REMEDY = "Raise “Max answer tokens” in Settings, then Regenerate, for all of it."


def spoken_source(source: Source) -> str:
    """A source as a screen reader says it: "source 1, report.pdf, page 4" (a chip shows
    "[1] report.pdf · p. 4", which a screen reader reads as punctuation)."""
    parts = [f"source {source.n}", shown_name(Path(source.document).name)]
    if source.page:
        parts.append(f"page {source.page}")
    elif source.heading:
        parts.append(source.heading)
    return ", ".join(parts)


def spoken_text(markdown: str) -> str:
    """What a message says, for a screen reader: the Markdown as plain text, each citation
    marker as words ("[2]" becomes "(source 2)")."""
    document = QTextDocument()
    document.setMarkdown(markdown)
    plain = " ".join(document.toPlainText().split())

    def words(match: re.Match[str]) -> str:
        numbers = re.split(r"\s*[,;]\s*", match.group(1))
        many = len(numbers) > 1 or any(mark in match.group(1) for mark in "-–")
        return f"({'sources' if many else 'source'} {', '.join(numbers)})"

    return CITATION_MARKER.sub(words, plain)


class MessageWidget(QFrame):
    """One message. Assistant messages stream in piece by piece, then get source chips."""

    source_clicked = Signal(object)  # a Source
    regenerate_requested = Signal()
    edit_requested = Signal()
    controls_changed = Signal()  # chips were made: the Tab order needs them

    def __init__(
        self,
        role: str,
        text: str = "",
        message_id: int | None = None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.role = role
        self.text = text
        # The stored message this shows (None while a reply is being written).
        self.message_id = message_id
        self.streaming = False
        self.status = MessageStatus.COMPLETE
        self.sources: list[Source] = []
        self.cited: list[int] = []
        # Statements no source was found to support: marked in the text once it is stored.
        self.unsupported: list[str] = []
        self.setObjectName("userMessage" if role == "user" else "assistantMessage")
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self.setAccessibleName("Your question" if role == "user" else "Hearth's answer")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(12, 8, 12, 8)
        self.speaker = QLabel(SPEAKERS.get(role, role))
        self.speaker.setObjectName("speaker")
        layout.addWidget(self.speaker)
        self.body = QLabel()
        self.body.setObjectName("messageText")
        self.body.setTextFormat(Qt.TextFormat.MarkdownText)
        self.body.setWordWrap(True)
        # Selectable by keyboard too: the text takes the focus, so Tab reaches every message
        # and a screen reader reads it (its accessible name is the text, in words).
        self.body.setTextInteractionFlags(
            Qt.TextInteractionFlag.TextBrowserInteraction
            | Qt.TextInteractionFlag.TextSelectableByKeyboard
        )
        self.body.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.body.setOpenExternalLinks(False)
        layout.addWidget(self.body)
        self.stage_label = QLabel()
        self.stage_label.setObjectName("replyStage")
        self.stage_label.hide()
        layout.addWidget(self.stage_label)
        self.tools_toggle = QToolButton()
        self.tools_toggle.setObjectName("toolsToggle")
        self.tools_toggle.setCheckable(True)
        self.tools_toggle.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        self.tools_toggle.setArrowType(Qt.ArrowType.RightArrow)
        self.tools_toggle.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.tools_toggle.setAccessibleDescription("Shows or hides the tools the answer used")
        self.tools_toggle.toggled.connect(self._show_tool_details)
        self.tools_toggle.hide()
        layout.addWidget(self.tools_toggle)
        self.tool_details = QLabel()
        self.tool_details.setObjectName("toolDetails")
        self.tool_details.setWordWrap(True)
        self.tool_details.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.tool_details.hide()
        layout.addWidget(self.tool_details)
        self.tool_calls: list[dict[str, Any]] = []
        self.error_label = QLabel()
        self.error_label.setObjectName("messageError")
        self.error_label.setWordWrap(True)
        self.error_label.hide()
        layout.addWidget(self.error_label)
        self.chips = FlowLayout()
        self.chip_row = QWidget()
        self.chip_row.setLayout(self.chips)
        self.chip_row.hide()
        layout.addWidget(self.chip_row)
        self.others_toggle = QToolButton()
        self.others_toggle.setObjectName("otherSourcesToggle")
        self.others_toggle.setCheckable(True)
        self.others_toggle.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        self.others_toggle.setArrowType(Qt.ArrowType.RightArrow)
        self.others_toggle.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.others_toggle.setAccessibleDescription(
            "Shows or hides the sources that were searched but not cited"
        )
        self.others_toggle.toggled.connect(self._show_other_sources)
        self.others_toggle.hide()
        layout.addWidget(self.others_toggle)
        self.other_chips = FlowLayout()
        self.other_row = QWidget()
        self.other_row.setLayout(self.other_chips)
        self.other_row.hide()
        layout.addWidget(self.other_row)
        actions = QHBoxLayout()
        actions.addStretch(1)
        what = "question" if role == "user" else "answer"
        self.copy_button = QPushButton("Copy")
        self.copy_button.setAccessibleName(f"Copy the {what}")
        self.copy_button.setFlat(True)
        self.copy_button.clicked.connect(self.copy_to_clipboard)
        actions.addWidget(self.copy_button)
        self.regenerate_button = QPushButton("Regenerate")
        self.regenerate_button.setAccessibleName("Regenerate the answer")
        self.regenerate_button.setFlat(True)
        self.regenerate_button.clicked.connect(self.regenerate_requested)
        actions.addWidget(self.regenerate_button)
        self.edit_button = QPushButton("Edit")
        self.edit_button.setAccessibleName("Edit and resend the question")
        self.edit_button.setFlat(True)
        self.edit_button.clicked.connect(self.edit_requested)
        actions.addWidget(self.edit_button)
        layout.addLayout(actions)
        # Shown or hidden once in the message: a button shown before it has a parent opens
        # as a window of its own for a moment, and takes the keyboard focus from the window.
        self.regenerate_button.setVisible(role == "assistant")
        self.edit_button.setVisible(role == "user")
        for button in (self.copy_button, self.regenerate_button, self.edit_button):
            button.setAutoDefault(True)  # Enter presses it, as Space does
        self._render()

    def _render(self) -> None:
        shown = self.text if self.text or not self.streaming else "…"
        if not self.streaming:
            for statement in self.unsupported:
                shown = shown.replace(statement, f"{statement} {UNSUPPORTED_MARK}", 1)
        self.body.setText(shown)
        said = spoken_text(shown) if self.text else "writing…"
        self.body.setAccessibleName(f"{SPEAKERS.get(self.role, self.role)}: {said}")

    def append(self, piece: str) -> None:
        self.text += piece
        self._render()

    def set_streaming(self, streaming: bool) -> None:
        self.streaming = streaming
        self.copy_button.setEnabled(not streaming)
        self.regenerate_button.setEnabled(not streaming)
        if not streaming:
            self.stage_label.hide()
        self._render()

    def set_stage(self, label: str) -> None:
        """What the reply is doing ("Reading 4 sources…", "Writing… 14 tokens/s")."""
        self.stage_label.setText(label)
        self.stage_label.setVisible(self.streaming and bool(label))

    def show_message(self, message: Message) -> None:
        """Show the stored ``message`` (a finished reply, or one loaded from history)."""
        self.message_id = message.id
        self.text = message.content
        self.status = message.status
        self.set_streaming(False)
        self.set_tool_calls(message.tool_calls)
        self.set_sources(message.sources, message.cited)
        self.unsupported = list(message.unsupported)
        if message.status is MessageStatus.STOPPED:
            self.error_label.setText("Stopped.")
            self.error_label.show()
        elif message.status is MessageStatus.ERROR:
            self.error_label.setText(f"⚠ {message.error}")
            self.error_label.show()
        elif message.status is MessageStatus.CUT:
            self.error_label.setText(f"{CUT_NOTE} {CUT_REMEDY}")
            self.error_label.show()
        # Read after the text: what became of it.
        self.body.setAccessibleDescription(
            self.error_label.text().removeprefix("⚠ ") if self.error_label.isVisibleTo(self) else ""
        )
        self._render()

    def set_tool_calls(self, calls: list[dict[str, Any]]) -> None:
        """Tool calls inline above the answer, collapsed: tool, arguments, a short result."""
        self.tool_calls = calls
        self.tools_toggle.setVisible(bool(calls))
        count = len(calls)
        self.tools_toggle.setText(f"Used {count} tool{'s' if count != 1 else ''}")
        lines = []
        for call in calls:
            arguments = ", ".join(f"{k}={json.dumps(v)}" for k, v in call["arguments"].items())
            result = " ".join(str(call["result"]).split())
            short = result[:160] + ("…" if len(result) > 160 else "")
            lines.append(
                f"<b>{html.escape(call['tool'])}</b>({html.escape(arguments)}) → "
                f"{html.escape(short)}"
            )
        self.tool_details.setText("<br>".join(lines))

    def _show_tool_details(self, shown: bool) -> None:
        self.tool_details.setVisible(shown)
        self.tools_toggle.setArrowType(Qt.ArrowType.DownArrow if shown else Qt.ArrowType.RightArrow)

    def set_sources(self, sources: list[Source], cited: list[int] | None = None) -> None:
        """Chips for the cited sources, in the order the answer cites them; the others fold
        under "N other sources". Without citations (an older message), every source."""
        self.sources = sources
        self.cited = list(cited or [])
        for layout in (self.chips, self.other_chips):
            while layout.count():
                item = layout.takeAt(0)
                widget = item.widget() if item is not None else None
                if widget is not None:
                    widget.deleteLater()
        by_number = {source.n: source for source in sources}
        shown = [by_number[n] for n in self.cited if n in by_number] or list(sources)
        others = [source for source in sources if source not in shown]
        for source in shown:
            self.chips.addWidget(self._chip(source, "citedSourceChip" if self.cited else ""))
        for source in others:
            self.other_chips.addWidget(self._chip(source, "sourceChip"))
        self.chip_row.setVisible(bool(shown))
        count = len(others)
        self.others_toggle.setText(f"{count} other source{'s' if count != 1 else ''}")
        self.others_toggle.setVisible(bool(others))
        self.others_toggle.setChecked(False)
        self.other_row.hide()
        self.controls_changed.emit()

    def _chip(self, source: Source, name: str) -> QPushButton:
        chip = QPushButton(numbered_source_label(source))
        chip.setObjectName(name or "sourceChip")
        tip = source.text[:400]
        if source.ocr:
            tip = "Recognised by OCR from a scanned page.\n\n" + tip
        chip.setToolTip(tip)
        chip.setAccessibleName(spoken_source(source))
        chip.setAccessibleDescription("Opens the passage. " + " ".join(tip.split()))
        chip.setAutoDefault(True)  # Enter opens it, as Space does
        chip.setCursor(Qt.CursorShape.PointingHandCursor)
        chip.clicked.connect(lambda _=False, s=source: self.source_clicked.emit(s))
        return chip

    def _show_other_sources(self, shown: bool) -> None:
        self.other_row.setVisible(shown)
        arrow = Qt.ArrowType.DownArrow if shown else Qt.ArrowType.RightArrow
        self.others_toggle.setArrowType(arrow)

    def focus_controls(self) -> list[QWidget]:
        """What Tab stops at, top to bottom: the text, the tools, the chips, the actions
        (hidden ones too: Tab skips them, and they keep their place when shown)."""
        return [
            self.body,
            self.tools_toggle,
            *self.chip_buttons(),
            self.others_toggle,
            *self.other_chip_buttons(),
            self.copy_button,
            self.regenerate_button,
            self.edit_button,
        ]

    def chip_buttons(self) -> list[QPushButton]:
        """The chips shown first: the cited sources (all sources when none is cited)."""
        return _buttons(self.chips)

    def other_chip_buttons(self) -> list[QPushButton]:
        return _buttons(self.other_chips)

    def copy_to_clipboard(self) -> None:
        clipboard = QGuiApplication.clipboard()
        if clipboard is not None:
            clipboard.setText(self.text)


def _buttons(layout: FlowLayout) -> list[QPushButton]:
    buttons = []
    for number in range(layout.count()):
        item = layout.itemAt(number)
        widget = item.widget() if item is not None else None
        if isinstance(widget, QPushButton):
            buttons.append(widget)
    return buttons
