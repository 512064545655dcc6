"""The window sets a few Qt values as plain integers before its first paint
(hearth/ui/qt_values.py); they must be Qt's own and must take effect."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest
from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot

from hearth.assistant.workspace import Workspace
from hearth.ui import qt_values
from hearth.ui.main_window import MainWindow
from hearth.ui.operations.library import DocumentState


def test_the_integers_are_qts_values() -> None:
    assert Qt.Orientation.Vertical.value == qt_values.VERTICAL
    assert Qt.ScrollBarPolicy.ScrollBarAlwaysOff.value == qt_values.SCROLL_BAR_ALWAYS_OFF
    assert Qt.AlignmentFlag.AlignCenter.value == qt_values.ALIGN_CENTER


@pytest.fixture
def unshown_window(qtbot: QtBot) -> Iterator[MainWindow]:
    """A window that is built but never painted, so it loads no model."""
    workspace = Workspace()
    window = MainWindow(workspace)
    qtbot.addWidget(window)
    yield window
    workspace.close()


def test_the_window_built_with_them_is_laid_out_as_intended(unshown_window: MainWindow) -> None:
    window = unshown_window
    assert window.splitter.orientation() == Qt.Orientation.Horizontal
    assert window.sidebar.orientation() == Qt.Orientation.Vertical
    assert window.chat_view.horizontalScrollBarPolicy() == Qt.ScrollBarPolicy.ScrollBarAlwaysOff
    assert window.chat_view.empty_state.alignment() == Qt.AlignmentFlag.AlignCenter


def test_rows_carry_their_conversation_and_document(unshown_window: MainWindow) -> None:
    window = unshown_window
    store = window.workspace.conversations
    first, second = store.create("First"), store.create("Second")
    window.refresh_conversations()
    gc.collect()  # the rows' Python side (their ids) must live as long as the list holds them
    titles = {window.conversation_list.item(row).text() for row in range(2)}
    assert titles == {"First", "Second"}
    for row in range(2):
        window.conversation_list.setCurrentRow(row)
        expected = first if window.conversation_list.item(row).text() == "First" else second
        assert window.conversation is not None
        assert window.conversation.id == expected.id
    pane = window.documents_pane
    pane.set_state("/docs/a.pdf", DocumentState.READY)
    pane.set_state("/docs/b.md", DocumentState.FAILED, "not a PDF")
    gc.collect()
    pane.tree.selectAll()
    assert sorted(pane.selected_paths()) == ["/docs/a.pdf", "/docs/b.md"]
