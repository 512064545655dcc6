"""The in-app source viewer: the cited page with the passage highlighted."""

from __future__ import annotations

import html
from pathlib import Path
from typing import Any

from PySide6.QtCore import QUrl
from PySide6.QtGui import QDesktopServices, QTextCursor
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QLabel,
    QPushButton,
    QTextBrowser,
    QVBoxLayout,
    QWidget,
)

from hearth.documents.loaders import UnsupportedDocument, page_text


class SourceViewer(QDialog):
    def __init__(self, source: dict[str, Any], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.source = source
        self.path = Path(str(source["document"]))
        self.page: int | None = source.get("page")
        where = f" — page {self.page}" if self.page else ""
        self.setWindowTitle(f"{self.path.name}{where}")
        self.resize(760, 620)
        layout = QVBoxLayout(self)
        self.heading = QLabel(f"<b>{html.escape(self.path.name)}</b>{html.escape(where)}")
        layout.addWidget(self.heading)
        self.browser = QTextBrowser()
        layout.addWidget(self.browser)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        self.open_button = QPushButton("Open original")
        self.open_button.clicked.connect(self.open_original)
        buttons.addButton(self.open_button, QDialogButtonBox.ButtonRole.ActionRole)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)
        self.highlighted = False
        self._show_page()

    def _show_page(self) -> None:
        try:
            text = page_text(self.path, self.page)
        except UnsupportedDocument as error:
            self.browser.setPlainText(f"This document can no longer be read: {error.reason}")
            return
        passage = str(self.source.get("text", "")).rstrip(" …")
        start = text.find(passage[:200]) if passage else -1
        if start < 0:
            self.browser.setPlainText(text)
            return
        end = start + len(passage)
        self.browser.setHtml(
            "<div style='white-space: pre-wrap'>"
            + html.escape(text[:start])
            + "<a name='cited'></a><span style='background-color: #ffe58a'>"
            + html.escape(text[start:end])
            + "</span>"
            + html.escape(text[end:])
            + "</div>"
        )
        self.highlighted = True
        self.browser.scrollToAnchor("cited")
        cursor = self.browser.textCursor()
        cursor.setPosition(start)
        cursor.movePosition(
            QTextCursor.MoveOperation.Right, QTextCursor.MoveMode.KeepAnchor, len(passage)
        )
        self.browser.setTextCursor(cursor)
        self.browser.ensureCursorVisible()

    def highlighted_text(self) -> str:
        return self.browser.textCursor().selectedText()

    def open_original(self) -> None:
        QDesktopServices.openUrl(QUrl.fromLocalFile(str(self.path)))
