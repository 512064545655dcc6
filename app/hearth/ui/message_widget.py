"""One message in the conversation: Markdown text that streams in, the tools it used, its
source chips, and Copy / Regenerate / Edit.

Messages only appear after the window is on screen, so this module may touch `Qt.*` values
(see hearth/ui/qt_values.py for why the window's first paint must not).
"""

from __future__ import annotations

import html
import json
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from hearth.assistant.citations import numbered_source_label
from hearth.ui.flow_layout import FlowLayout


class MessageWidget(QFrame):
    """One message. Assistant messages stream in piece by piece, then get source chips."""

    source_clicked = Signal(dict)
    copy_requested = Signal()
    regenerate_requested = Signal()
    edit_requested = Signal()

    def __init__(self, role: str, text: str = "", parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.role = role
        self.text = text
        self.status = "complete"
        self.sources: list[dict[str, Any]] = []
        self.setObjectName("userMessage" if role == "user" else "assistantMessage")
        self.setFrameShape(QFrame.Shape.StyledPanel)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(12, 8, 12, 8)
        self.speaker = QLabel("You" if role == "user" else "Hearth")
        self.speaker.setObjectName("speaker")
        layout.addWidget(self.speaker)
        self.body = QLabel()
        self.body.setTextFormat(Qt.TextFormat.MarkdownText)
        self.body.setWordWrap(True)
        self.body.setTextInteractionFlags(Qt.TextInteractionFlag.TextBrowserInteraction)
        self.body.setOpenExternalLinks(False)
        layout.addWidget(self.body)
        self.tools_toggle = QToolButton()
        self.tools_toggle.setObjectName("toolsToggle")
        self.tools_toggle.setCheckable(True)
        self.tools_toggle.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        self.tools_toggle.setArrowType(Qt.ArrowType.RightArrow)
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
        actions = QHBoxLayout()
        actions.addStretch(1)
        self.copy_button = QPushButton("Copy")
        self.copy_button.setFlat(True)
        self.copy_button.clicked.connect(self.copy_to_clipboard)
        actions.addWidget(self.copy_button)
        self.regenerate_button = QPushButton("Regenerate")
        self.regenerate_button.setFlat(True)
        self.regenerate_button.clicked.connect(self.regenerate_requested)
        self.regenerate_button.setVisible(role == "assistant")
        actions.addWidget(self.regenerate_button)
        self.edit_button = QPushButton("Edit")
        self.edit_button.setFlat(True)
        self.edit_button.clicked.connect(self.edit_requested)
        self.edit_button.setVisible(role == "user")
        actions.addWidget(self.edit_button)
        layout.addLayout(actions)
        self._render()

    def _render(self) -> None:
        shown = self.text if self.text or self.status != "streaming" else "…"
        self.body.setText(shown)

    def append(self, piece: str) -> None:
        self.text += piece
        self._render()

    def set_streaming(self, streaming: bool) -> None:
        self.status = "streaming" if streaming else "complete"
        self.copy_button.setEnabled(not streaming)
        self.regenerate_button.setEnabled(not streaming)
        self._render()

    def finish(
        self,
        text: str | None,
        sources: list[dict[str, Any]],
        status: str = "complete",
        error: str | None = None,
    ) -> None:
        if text is not None:
            self.text = text
        self.status = status
        self.set_sources(sources)
        self.copy_button.setEnabled(True)
        self.regenerate_button.setEnabled(True)
        if status == "stopped":
            self.error_label.setText("Stopped.")
            self.error_label.show()
        elif status == "error":
            self.error_label.setText(f"⚠ {error}")
            self.error_label.show()
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

    def set_sources(self, sources: list[dict[str, Any]]) -> None:
        self.sources = sources
        while self.chips.count():
            item = self.chips.takeAt(0)
            widget = item.widget() if item is not None else None
            if widget is not None:
                widget.deleteLater()
        for source in sources:
            chip = QPushButton(numbered_source_label(source))
            chip.setObjectName("sourceChip")
            chip.setToolTip(str(source.get("text", ""))[:400])
            chip.setCursor(Qt.CursorShape.PointingHandCursor)
            chip.clicked.connect(lambda _=False, s=source: self.source_clicked.emit(s))
            self.chips.addWidget(chip)
        self.chip_row.setVisible(bool(sources))

    def chip_buttons(self) -> list[QPushButton]:
        buttons = []
        for number in range(self.chips.count()):
            item = self.chips.itemAt(number)
            widget = item.widget() if item is not None else None
            if isinstance(widget, QPushButton):
                buttons.append(widget)
        return buttons

    def copy_to_clipboard(self) -> None:
        clipboard = QGuiApplication.clipboard()
        if clipboard is not None:
            clipboard.setText(self.text)
