"""The documents pane: what is indexed, what is being indexed, and what failed and why."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import Signal
from PySide6.QtGui import QBrush, QColor
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QPushButton,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from hearth.ui import theme
from hearth.ui.operations.library import DocumentState
from hearth.ui.theme import style_text

if TYPE_CHECKING:
    from hearth.index.store import DocumentRecord

COLUMNS = ["Document", "State", "Pages", "Chunks"]


def state_colour(state: DocumentState) -> str:
    """The colour of a state's word in the current theme."""
    return str(getattr(theme.current(), state.value, theme.current().text))


class DocumentRow(QTreeWidgetItem):
    """A document's row. It carries its path and state as attributes (what the row shows is
    not read back): item data roles are `Qt.*` values, which nothing on the way to the
    window's first paint may touch (qt_values.py)."""

    def __init__(self, path: str) -> None:
        super().__init__([Path(path).name, "", "", ""])
        self.path = path
        self.state: DocumentState | None = None


def pane_header(title: str, button: QPushButton) -> QHBoxLayout:
    """A sidebar pane's title on the left and its main action on the right."""
    header = QHBoxLayout()
    label = QLabel(title)
    style_text(label, "title", 13, bold=True)
    header.addWidget(label)
    header.addStretch(1)
    header.addWidget(button)
    return header


class DocumentsPane(QWidget):
    add_chosen = Signal(list)  # the Paths the user chose to add
    remove_requested = Signal(list)
    reindex_requested = Signal(list)
    summarize_requested = Signal(list)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        self.add_button = QPushButton("Add…")
        self.add_button.setAccessibleName("Add documents")
        self.add_button.setAccessibleDescription(
            "Choose files to index; folders can also be dropped on the window"
        )
        self.add_button.clicked.connect(self.choose_documents)
        layout.addLayout(pane_header("Documents", self.add_button))
        self.tree = QTreeWidget()
        self.tree.setHeaderLabels(COLUMNS)
        self.tree.setAccessibleName("Documents")
        self.tree.setAccessibleDescription(
            "Each document with its state, pages and chunks; select one or more to remove, "
            "re-index or summarise"
        )
        self.tree.setRootIsDecorated(False)
        self.tree.setSelectionMode(QTreeWidget.SelectionMode.ExtendedSelection)
        # The name takes what the numbers leave: State, Pages and Chunks are never cut.
        header = self.tree.header()
        header.setStretchLastSection(False)
        header.setSectionResizeMode(0, header.ResizeMode.Stretch)
        for column in range(1, len(COLUMNS)):
            header.setSectionResizeMode(column, header.ResizeMode.ResizeToContents)
        layout.addWidget(self.tree)
        self.progress = QProgressBar()
        self.progress.setTextVisible(True)
        self.progress.setAccessibleName("Indexing progress")
        self.progress.hide()
        layout.addWidget(self.progress)
        buttons = QHBoxLayout()
        self.remove_button = QPushButton("Remove")
        self.remove_button.setAccessibleDescription("Remove the selected documents from the index")
        self.remove_button.clicked.connect(
            lambda: self.remove_requested.emit(self.selected_paths())
        )
        self.reindex_button = QPushButton("Re-index")
        self.reindex_button.setAccessibleDescription("Read the selected documents again")
        self.reindex_button.clicked.connect(
            lambda: self.reindex_requested.emit(self.selected_paths())
        )
        self.summarize_button = QPushButton("Summarise")
        self.summarize_button.setAccessibleDescription(
            "Summarise the selected documents into the open conversation"
        )
        self.summarize_button.clicked.connect(
            lambda: self.summarize_requested.emit(self.selected_paths())
        )
        buttons.addWidget(self.remove_button)
        buttons.addWidget(self.reindex_button)
        buttons.addWidget(self.summarize_button)
        buttons.addStretch(1)
        layout.addLayout(buttons)
        self.items: dict[str, DocumentRow] = {}

    def selected_paths(self) -> list[str]:
        return [item.path for item in self.tree.selectedItems() if isinstance(item, DocumentRow)]

    def _item(self, path: str) -> DocumentRow:
        item = self.items.get(path)
        if item is None:
            item = DocumentRow(path)
            item.setToolTip(0, path)
            self.tree.addTopLevelItem(item)
            self.items[path] = item
        return item

    def set_state(self, path: str, state: DocumentState, reason: str = "") -> None:
        item = self._item(path)
        item.state = state
        item.setText(1, str(state))
        item.setForeground(1, QBrush(QColor(state_colour(state))))
        tip = f"{state}: {reason}" if reason else state
        item.setToolTip(1, tip)
        item.setToolTip(0, f"{path}\n{reason}" if reason else path)
        # A screen reader reads why with the state ("failed"), not only on hover. States
        # come after the first paint, so item roles (`Qt.*`) may be touched here.
        from PySide6.QtCore import Qt

        item.setData(1, Qt.ItemDataRole.AccessibleDescriptionRole, reason)

    def restyle(self) -> None:
        """The states' colours again, after the theme changed."""
        for item in self.items.values():
            if item.state is not None:
                item.setForeground(1, QBrush(QColor(state_colour(item.state))))

    def state(self, path: str) -> DocumentState | None:
        item = self.items.get(path)
        return item.state if item is not None else None

    def choose_documents(self) -> None:
        from PySide6.QtWidgets import QFileDialog

        paths, _ = QFileDialog.getOpenFileNames(self, "Add documents")
        if paths:
            self.add_chosen.emit([Path(p) for p in paths])

    def show_documents(self, records: list[DocumentRecord]) -> None:
        """The indexed documents as stored; failed and queued rows are kept."""
        stored = {record.path for record in records}
        for path in list(self.items):
            if path not in stored and self.items[path].state in (DocumentState.READY, None):
                index = self.tree.indexOfTopLevelItem(self.items.pop(path))
                self.tree.takeTopLevelItem(index)
        for record in records:
            item = self._item(record.path)
            if item.state not in (DocumentState.QUEUED, DocumentState.INDEXING):
                self.set_state(record.path, DocumentState.READY)
            item.setText(2, str(record.page_count or ""))
            item.setText(3, str(record.chunk_count))
            if not record.page_count:
                # Filled after the first paint, so item roles (`Qt.*`) may be touched here.
                from PySide6.QtCore import Qt

                item.setData(2, Qt.ItemDataRole.AccessibleTextRole, "no pages")

    def remove_rows(self, paths: list[str]) -> None:
        for path in paths:
            item = self.items.pop(path, None)
            if item is not None:
                self.tree.takeTopLevelItem(self.tree.indexOfTopLevelItem(item))

    def show_progress(self, done: int, total: int, label: str) -> None:
        self.progress.show()
        self.progress.setMaximum(max(1, total))
        self.progress.setValue(done)
        self.progress.setFormat(f"Indexing {done}/{total}  {label}")

    def hide_progress(self) -> None:
        self.progress.hide()
