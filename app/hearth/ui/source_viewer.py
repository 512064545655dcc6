"""The in-app source viewer: the cited page as it looks, with the passage highlighted.

A PDF citation (or an image) shows the rendered page with the passage's boxes painted over
it and scrolled into view; other formats show their text with the passage highlighted.
What to show comes from hearth.documents.page_view; this module only draws it.
"""

from __future__ import annotations

import html
from typing import Any

from PySide6.QtCore import QRectF, Qt, QUrl
from PySide6.QtGui import QColor, QDesktopServices, QImage, QPainter, QPixmap, QTextCursor
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QLabel,
    QPushButton,
    QScrollArea,
    QStackedWidget,
    QTextBrowser,
    QVBoxLayout,
    QWidget,
)

from hearth.assistant.sources import Source
from hearth.documents.loaders import UnsupportedDocument
from hearth.documents.page_view import PageView, TextView, source_view
from hearth.documents.safe_files import ensure_still_indexed, file_path, shown_name
from hearth.index.store import DocumentRecord

HIGHLIGHT = QColor(255, 214, 0, 90)
HIGHLIGHT_EDGE = QColor(230, 160, 0, 200)
# Room kept above the passage when it is scrolled into view, in pixels.
SCROLL_MARGIN = 80
OCR_NOTE = "This page is a scan: its text was recognised by OCR and may differ from the page."


def page_pixmap(view: PageView) -> QPixmap:
    """The rendered page with the passage's boxes painted on it."""
    image = view.image.convert("RGBA")
    data = image.tobytes("raw", "RGBA")
    qimage = QImage(data, image.width, image.height, 4 * image.width, QImage.Format.Format_RGBA8888)
    pixmap = QPixmap.fromImage(qimage.copy())  # the copy owns its pixels, not ``data``
    painter = QPainter(pixmap)
    try:
        painter.setPen(HIGHLIGHT_EDGE)
        for left, top, right, bottom in view.boxes:
            rectangle = QRectF(left - 2, top - 2, right - left + 4, bottom - top + 4)
            painter.fillRect(rectangle, HIGHLIGHT)
            painter.drawRect(rectangle)
    finally:
        painter.end()
    return pixmap


def read_source_view(source: Source, indexed: DocumentRecord | None) -> PageView | TextView | str:
    """What the viewer shows for ``source`` (slow: renders or reads the file, so the window
    calls it off the GUI thread), or why the document can no longer be read. ``indexed``: the
    index's record of the document; the file is read only while it is still that file."""
    path = file_path(source.document)
    try:
        if indexed is None:
            raise UnsupportedDocument(path, "it is no longer in the index")
        ensure_still_indexed(path, indexed.size_bytes, indexed.content_hash)
        return source_view(path, source.page, source.text)
    except UnsupportedDocument as error:
        return f"This document can no longer be read: {error.reason}"
    except OSError as error:
        return f"This document can no longer be read: {error}"


class SourceViewer(QDialog):
    def __init__(
        self,
        source: Source,
        view: PageView | TextView | str,
        parent: QWidget | None = None,
    ) -> None:
        """``view``: what read_source_view gave."""
        super().__init__(parent)
        self.source = source
        self.path = file_path(source.document)
        self.page = source.page
        where = f" — page {self.page}" if self.page else ""
        self.setWindowTitle(f"{shown_name(self.path.name)}{where}")
        self.resize(900, 760)
        layout = QVBoxLayout(self)
        name = html.escape(shown_name(self.path.name))
        self.heading = QLabel(f"<b>{name}</b>{html.escape(where)}")
        self.heading.setAccessibleName(self.windowTitle())
        layout.addWidget(self.heading)
        self.note = QLabel()
        self.note.setWordWrap(True)
        self.note.hide()
        layout.addWidget(self.note)
        # A rendered page is a picture: the passage found on it is also given as text, to
        # read with a screen reader, select and copy.
        self.passage = QLabel()
        self.passage.setObjectName("citedPassage")
        self.passage.setWordWrap(True)
        self.passage.setTextInteractionFlags(
            Qt.TextInteractionFlag.TextSelectableByMouse
            | Qt.TextInteractionFlag.TextSelectableByKeyboard
        )
        self.passage.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.passage.hide()
        layout.addWidget(self.passage)
        self.views = QStackedWidget()
        self.browser = QTextBrowser()
        self.browser.setAccessibleName(f"Text of {shown_name(self.path.name)}")
        self.browser.setAccessibleDescription("The cited passage is highlighted and selected")
        self.page_label = QLabel()
        self.page_label.setAccessibleName(f"Page {self.page or 1} of {shown_name(self.path.name)}")
        self.page_area = QScrollArea()
        self.page_area.setAccessibleName("The page as it looks")
        self.page_area.setAccessibleDescription("The arrow keys scroll the page")
        self.page_area.setWidget(self.page_label)
        self.views.addWidget(self.browser)
        self.views.addWidget(self.page_area)
        layout.addWidget(self.views)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        self.open_button = QPushButton("Open original")
        self.open_button.setAccessibleDescription("Opens the document in its own application")
        self.open_button.clicked.connect(self.open_original)
        buttons.addButton(self.open_button, QDialogButtonBox.ButtonRole.ActionRole)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)
        self.highlighted = False
        self.page_view: PageView | None = None
        self._found_text = ""
        self._show_view(view)

    def _show_view(self, view: PageView | TextView | str) -> None:
        if isinstance(view, str):
            self.browser.setPlainText(view)
            self.browser.setFocus()
        elif isinstance(view, PageView):
            self._show_page(view)
        else:
            self._show_text(view)

    def _show_page(self, view: PageView) -> None:
        self.page_view = view
        self.page_label.setPixmap(page_pixmap(view))
        self.page_label.adjustSize()
        self.views.setCurrentWidget(self.page_area)
        if view.ocr:
            self.note.setText(OCR_NOTE)
            self.note.show()
        if view.boxes:
            self.highlighted = True
            self._found_text = view.found_text
            self.scroll_to_passage()
            passage = " ".join(view.found_text.split())
            self.passage.setText(f"Cited passage: {passage}")
            self.passage.show()
            self.page_label.setAccessibleDescription(f"The cited passage, highlighted: {passage}")
            self.passage.setFocus()
        elif self.source.text:
            missing = "The passage was not found on this page; the file may have changed."
            self.note.setText(f"{self.note.text()} {missing}".strip())
            self.note.show()
            searched = " ".join(self.source.text.split())
            self.page_label.setAccessibleDescription(f"The passage cited: {searched}")

    def scroll_to_passage(self) -> None:
        if self.page_view is None or not self.page_view.boxes:
            return
        left, top, right, _ = self.page_view.boxes[0]
        # Sideways only when the passage would not be seen otherwise: lines read from the left.
        if right > self.page_area.viewport().width():
            self.page_area.horizontalScrollBar().setValue(max(0, int(left) - SCROLL_MARGIN))
        self.page_area.verticalScrollBar().setValue(max(0, int(top) - SCROLL_MARGIN))

    def showEvent(self, event: Any) -> None:
        super().showEvent(event)
        # Scroll ranges are only known once the dialog has its size.
        self.scroll_to_passage()

    def _show_text(self, view: TextView) -> None:
        self.views.setCurrentWidget(self.browser)
        if view.note:
            self.note.setText(view.note)
            self.note.show()
        if view.start < 0:
            self.browser.setPlainText(view.text)
            return
        text, start, end = view.text, view.start, view.end
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
            QTextCursor.MoveOperation.Right, QTextCursor.MoveMode.KeepAnchor, end - start
        )
        self.browser.setTextCursor(cursor)
        self.browser.ensureCursorVisible()
        self.browser.setFocus()

    def highlighted_text(self) -> str:
        """The passage as found in the document (on the page, or selected in the text)."""
        if self.page_view is not None:
            return self._found_text
        return self.browser.textCursor().selectedText()

    def passage_visible(self) -> bool:
        """Whether the passage's first box lies in the visible part of the page."""
        if self.page_view is None or not self.page_view.boxes:
            return False
        left, top = self.page_view.boxes[0][:2]
        x = self.page_area.horizontalScrollBar().value()
        y = self.page_area.verticalScrollBar().value()
        viewport = self.page_area.viewport().size()
        return x <= left < x + viewport.width() and y <= top < y + viewport.height()

    def open_original(self) -> None:
        QDesktopServices.openUrl(QUrl.fromLocalFile(str(self.path)))
