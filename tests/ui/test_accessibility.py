"""The window as assistive technology sees it and as the keyboard alone drives it, with the
scripted engine (fast): every control a keyboard reaches has a name and the right role,
the answer and its sources are there as words, the source viewer gives the passage as
text; the whole flow (add documents, ask, stop, open a source, copy, switch model and
conversation) runs on key presses only, with the focus visible at every stop; the Help
menu lists every shortcut."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import QEvent, QObject, Qt, QThreadPool, QTimer
from PySide6.QtGui import QAccessible, QAccessibleInterface, QGuiApplication, QKeySequence
from PySide6.QtTest import QTest
from PySide6.QtWidgets import (
    QAbstractItemView,
    QApplication,
    QComboBox,
    QDialog,
    QFileDialog,
    QWidget,
)
from pytestqt.qtbot import QtBot

from bench.sample_documents import report_pages, write_pdf
from hearth.assistant.workspace import Workspace
from hearth.ui.main_window import MainWindow
from hearth.ui.message_widget import MessageWidget
from hearth.ui.shortcuts import SHORTCUTS, shortcut_rows
from hearth.ui.source_viewer import SourceViewer
from tests.fakes import ScriptedEngine, tiny_gguf

QUESTION = "How much did the restoration of the lantern room cost?"
ANSWER = "The restoration of the lantern room cost 48,500 pounds [1]."
SPOKEN_ANSWER = "Hearth: The restoration of the lantern room cost 48,500 pounds (source 1)."
Role = QAccessible.Role

# The file dialog's completer pops up while a path is typed: the offscreen platform cannot
# raise it or grab the keyboard for it, and says so.
pytestmark = pytest.mark.qt_log_ignore("This plugin does not support")


@pytest.fixture
def window(qtbot: QtBot, scripted_workspace: Workspace) -> Iterator[MainWindow]:
    scripted_workspace.settings.tools_enabled = False
    window = MainWindow(scripted_workspace)
    qtbot.addWidget(window)
    window.show()
    window.activateWindow()
    qtbot.waitUntil(lambda: scripted_workspace.active_model is not None, timeout=30_000)
    qtbot.waitUntil(lambda: not window.model_busy_action.isVisible(), timeout=30_000)
    qtbot.waitUntil(lambda: QApplication.focusWidget() is not None, timeout=5_000)
    yield window
    for dialog in window.findChildren(QDialog):
        dialog.close()
    window.close()
    QThreadPool.globalInstance().waitForDone(30_000)


# -- the keyboard -------------------------------------------------------------------------
def focused() -> QWidget:
    widget = QApplication.focusWidget()
    assert widget is not None, "nothing has the keyboard focus"
    return widget


def key_target() -> QWidget:
    """Where Qt sends a key: an open popup (a combo box's list) takes it, else the focus."""
    popup = QApplication.activePopupWidget()
    if popup is not None:
        views = [child for child in popup.children() if isinstance(child, QAbstractItemView)]
        return views[0] if views else popup
    return focused()


def press(key: Qt.Key, modifier: Qt.KeyboardModifier = Qt.KeyboardModifier.NoModifier) -> None:
    """A key pressed, as a keyboard does it."""
    QTest.keyClick(key_target(), key, modifier)


def shortcut(keys: str) -> None:
    """A shortcut pressed where the focus is ("Ctrl+O")."""
    combination = QKeySequence(keys)[0]  # type: ignore[index]  # operator[] has no stub
    QTest.keyClick(key_target(), combination.key(), combination.keyboardModifiers())


def type_text(text: str) -> None:
    QTest.keyClicks(focused(), text)


def tab_to(found: Callable[[QWidget], bool], backwards: bool = False, limit: int = 80) -> QWidget:
    """Tab (or Shift+Tab) until the focused control is one ``found`` accepts."""
    modifier = Qt.KeyboardModifier.ShiftModifier if backwards else Qt.KeyboardModifier.NoModifier
    seen = []
    for _ in range(limit):
        press(Qt.Key.Key_Tab, modifier)
        widget = focused()
        if found(widget):
            return widget
        seen.append(widget.accessibleName() or type(widget).__name__)
    pytest.fail(f"Tab never reached the control; it went through {seen}")


def named(name: str) -> Callable[[QWidget], bool]:
    return lambda widget: accessible_name(widget) == name


def when_modal_opens(kind: type[QWidget], keys: Callable[[QWidget], None]) -> None:
    """Type into the modal dialog of ``kind`` once it is open and has the focus (it runs
    its own event loop, so this waits on a timer)."""

    def attempt() -> None:
        dialog = QApplication.activeModalWidget()
        focus = QApplication.focusWidget()
        if isinstance(dialog, kind) and focus is not None and dialog.isAncestorOf(focus):
            keys(dialog)
        else:
            QTimer.singleShot(20, attempt)

    QTimer.singleShot(0, attempt)


def window_manager_activates(qtbot: QtBot, window: QWidget) -> None:
    """What a desktop's window manager does when a dialog closes: the window under it is
    active again (the offscreen platform has no window manager). The dialog's windows are
    deleted first: a popup deleted later takes the activation with it."""
    QApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)
    qtbot.wait(20)
    window.activateWindow()
    qtbot.waitUntil(window.isActiveWindow, timeout=5_000)


def add_by_keyboard(qtbot: QtBot, window: MainWindow, path: Path) -> None:
    """Ctrl+O, the file's path typed into the file dialog, Enter; then indexed."""

    def choose(_dialog: QWidget) -> None:
        type_text(str(path))
        press(Qt.Key.Key_Return)

    when_modal_opens(QFileDialog, choose)
    shortcut("Ctrl+O")
    window_manager_activates(qtbot, window)
    qtbot.waitUntil(lambda: str(path) in window.documents_pane.items, timeout=10_000)
    qtbot.waitUntil(lambda: not window.library.busy, timeout=60_000)
    qtbot.waitUntil(lambda: not window.answers.busy and window.answers._suggest_task is None)


def ask_by_keyboard(window: MainWindow, question: str) -> None:
    shortcut("Ctrl+L")
    assert focused() is window.input
    type_text(question)
    press(Qt.Key.Key_Return)


def answered_report(
    qtbot: QtBot, window: MainWindow, engine: ScriptedEngine, folder: Path
) -> MessageWidget:
    """report.pdf added and the question answered, by keyboard alone."""
    add_by_keyboard(qtbot, window, write_pdf(folder / "report.pdf", report_pages()))
    engine.replies.clear()  # suggested questions may have taken some: the answer is next
    engine.enqueue(["The restoration of the lantern room ", "cost 48,500 pounds [1]."])
    ask_by_keyboard(window, QUESTION)
    qtbot.waitUntil(lambda: not window.answers.busy, timeout=30_000)
    answer = window.chat_view.messages[-1]
    assert answer.text == ANSWER
    return answer


# -- what assistive technology reads -------------------------------------------------------
def accessible(widget: QObject) -> QAccessibleInterface:
    interface = QAccessible.queryAccessibleInterface(widget)
    assert interface is not None
    return interface


def accessible_name(widget: QObject) -> str:
    """The name a screen reader says; a combo box on Linux says its label's (the label
    names it through a relation, its own name is its current text), and so does the text
    field of an editable one."""
    parent = widget.parent()
    if isinstance(parent, QComboBox) and widget is parent.lineEdit():
        return accessible_name(parent)
    interface = accessible(widget)
    if interface.role() == Role.ComboBox:
        labels = interface.relations(QAccessible.RelationFlag.Label)
        if labels:
            return labels[0][0].text(QAccessible.Text.Name).strip(" :")
    return interface.text(QAccessible.Text.Name)


def tree(root: QAccessibleInterface) -> Iterator[QAccessibleInterface]:
    yield root
    for number in range(root.childCount()):
        child = root.child(number)
        if child is not None:
            yield from tree(child)


def reachable_controls(top: QWidget) -> list[QAccessibleInterface]:
    """Every widget in ``top``'s accessible tree that the keyboard can reach now."""
    found = []
    for interface in tree(accessible(top)):
        state = interface.state()
        if state.focusable and not state.invisible and isinstance(interface.object(), QWidget):
            found.append(interface)
    return found


def unnamed(top: QWidget) -> list[str]:
    return [
        f"{interface.role().name} {type(interface.object()).__name__}"
        for interface in reachable_controls(top)
        if not accessible_name(interface.object()).strip()
    ]


def test_every_control_the_keyboard_reaches_is_named_and_has_its_role(
    qtbot: QtBot, window: MainWindow, scripted_engine: ScriptedEngine, tmp_path: Path
) -> None:
    answer = answered_report(qtbot, window, scripted_engine, tmp_path)
    if answer.others_toggle.isVisible():
        answer.others_toggle.click()  # the other sources' chips too
    controls = reachable_controls(window)
    assert len(controls) > 20
    assert unnamed(window) == []
    roles = {
        window.model_picker: (Role.ComboBox, "Model"),
        window.conversations_pane.search: (Role.EditableText, "Search conversations"),
        window.conversation_list: (Role.List, "Conversations"),
        window.documents_pane.tree: (Role.Tree, "Documents"),
        window.documents_pane.add_button: (Role.Button, "Add documents"),
        window.use_documents: (Role.CheckBox, "Answer from my documents"),
        window.input: (Role.EditableText, "Question"),
        window.send_button: (Role.Button, "Send"),
        window.stop_button: (Role.Button, "Stop"),
        answer.body: (Role.StaticText, SPOKEN_ANSWER),
        answer.copy_button: (Role.Button, "Copy the answer"),
    }
    for widget, (role, name) in roles.items():
        assert (accessible(widget).role(), accessible_name(widget)) == (role, name)
    assert window.stop_button.accessibleDescription()  # says its key
    # The dialogs a keyboard user opens.
    window.open_source(answer.sources[0])
    qtbot.waitUntil(lambda: window.source_viewer is not None, timeout=30_000)
    window.show_shortcuts()
    from hearth.ui.settings_dialog import SettingsDialog

    settings = SettingsDialog(window.workspace.settings, window)
    settings.show()
    for top in (window.source_viewer, window.shortcuts_dialog, settings):
        assert top is not None
        assert unnamed(top) == [], top.windowTitle()
    settings.close()


def test_the_answer_and_its_sources_are_read_as_words(
    qtbot: QtBot, window: MainWindow, scripted_engine: ScriptedEngine, tmp_path: Path
) -> None:
    answer = answered_report(qtbot, window, scripted_engine, tmp_path)
    names = [interface.text(QAccessible.Text.Name) for interface in tree(accessible(window))]
    assert SPOKEN_ANSWER in names
    assert "You: " + QUESTION in names
    [chip] = answer.chip_buttons()
    chip_name = accessible(chip).text(QAccessible.Text.Name)
    assert re.fullmatch(r"source 1, report\.pdf, page \d", chip_name), chip_name
    assert chip_name in names
    page = answer.sources[0].page
    assert chip.text() == f"[1] report.pdf · p. {page}"  # what the eye sees stays short
    description = accessible(chip).text(QAccessible.Text.Description)
    assert "48,500" in description  # the passage, as the tooltip shows it
    assert accessible(answer).text(QAccessible.Text.Name) == "Hearth's answer"


def test_a_source_opens_and_reads_its_passage_by_keyboard(
    qtbot: QtBot, window: MainWindow, scripted_engine: ScriptedEngine, tmp_path: Path
) -> None:
    answered_report(qtbot, window, scripted_engine, tmp_path)
    chip = tab_to(lambda w: accessible_name(w).startswith("source 1, "), backwards=True)
    press(Qt.Key.Key_Space)
    qtbot.waitUntil(lambda: window.source_viewer is not None, timeout=30_000)
    viewer = window.source_viewer
    assert isinstance(viewer, SourceViewer)
    qtbot.waitUntil(viewer.isVisible)
    qtbot.waitUntil(lambda: QApplication.focusWidget() is viewer.passage, timeout=5_000)
    assert "48,500" in accessible_name(viewer.passage)  # the page is a picture; this is text
    page_description = accessible(viewer.page_label).text(QAccessible.Text.Description)
    assert "48,500" in page_description
    assert accessible_name(viewer.page_label) == f"Page {viewer.page} of report.pdf"
    press(Qt.Key.Key_Escape)
    qtbot.waitUntil(lambda: not viewer.isVisible())
    window_manager_activates(qtbot, window)
    assert focused() is chip  # the focus is where it was
    press(Qt.Key.Key_Return)  # Enter opens a chip too
    qtbot.waitUntil(lambda: window.source_viewer is not viewer, timeout=30_000)


def test_copy_stop_and_new_conversation_by_keyboard(
    qtbot: QtBot, window: MainWindow, scripted_engine: ScriptedEngine, tmp_path: Path
) -> None:
    answer = answered_report(qtbot, window, scripted_engine, tmp_path)
    clipboard = QGuiApplication.clipboard()
    clipboard.clear()
    tab_to(named("Copy the answer"), backwards=True)
    press(Qt.Key.Key_Space)
    assert clipboard.text() == answer.text
    clipboard.clear()
    shortcut("Ctrl+Shift+C")
    assert clipboard.text() == answer.text

    shortcut("Ctrl+N")
    assert focused() is window.input
    assert window.chat_view.messages == []
    scripted_engine.piece_budget = __import__("threading").Semaphore(1)
    scripted_engine.enqueue(["A long ", "answer ", "that never ", "ends."])
    ask_by_keyboard(window, "Tell me everything about the lighthouse.")
    qtbot.waitUntil(lambda: window.chat_view.messages[-1].text == "A long ", timeout=30_000)
    press(Qt.Key.Key_Escape)
    qtbot.waitUntil(lambda: not window.answers.busy, timeout=30_000)
    assert window.chat_view.messages[-1].status == "stopped"
    assert window.chat_view.messages[-1].text == "A long"


def test_conversations_are_searched_and_switched_by_keyboard(
    qtbot: QtBot, window: MainWindow, scripted_engine: ScriptedEngine
) -> None:
    window.use_documents.setChecked(False)
    for question in ("Where is the boiler?", "When is the lighthouse open?"):
        shortcut("Ctrl+N")
        scripted_engine.enqueue(f"An answer to {question}")
        ask_by_keyboard(window, question)
        qtbot.waitUntil(lambda: not window.answers.busy, timeout=30_000)
    shortcut("Ctrl+F")
    assert focused() is window.conversations_pane.search
    type_text("boiler")
    qtbot.waitUntil(lambda: window.conversation_list.count() == 1, timeout=5_000)
    shortcut("Ctrl+F")
    press(Qt.Key.Key_Backspace)  # the search was selected: one key clears it
    qtbot.waitUntil(lambda: window.conversation_list.count() == 2, timeout=5_000)
    assert window.conversation is not None
    assert window.conversation.title == "When is the lighthouse open?"
    press(Qt.Key.Key_Tab)
    assert focused() is window.conversation_list
    press(Qt.Key.Key_Down)
    press(Qt.Key.Key_Up)  # wherever the list started, it moves to the other one and back
    titles = {window.conversation.title}
    press(Qt.Key.Key_Down if window.conversation_list.currentRow() == 0 else Qt.Key.Key_Up)
    titles.add(window.conversation.title)
    assert titles == {"Where is the boiler?", "When is the lighthouse open?"}
    shown = window.chat_view.messages[0].text
    assert shown == window.conversation.title


def test_the_model_is_switched_by_keyboard_and_arrows_alone_load_nothing(
    qtbot: QtBot, window: MainWindow, scripted_workspace: Workspace
) -> None:
    tiny_gguf(scripted_workspace.catalogue.folder / "second-model.gguf", name="Second model")
    window.toolbar.refresh()
    first = scripted_workspace.active_model
    assert first is not None
    # Tab to the picker and an arrow key: the list opens, no model loads on the way.
    shortcut("Ctrl+L")
    tab_to(lambda w: w is window.model_picker, backwards=True)
    press(Qt.Key.Key_Down)
    view = window.model_picker.view()
    qtbot.waitUntil(view.isVisible, timeout=5_000)
    assert scripted_workspace.active_model is first
    press(Qt.Key.Key_Escape)
    qtbot.waitUntil(lambda: not view.isVisible(), timeout=5_000)

    shortcut("Ctrl+M")
    qtbot.waitUntil(view.isVisible, timeout=5_000)
    target = window.model_picker.findData("second-model")
    for _ in range(window.model_picker.count()):
        row = view.currentIndex().row()
        if row == target:
            break
        press(Qt.Key.Key_Down if row < target else Qt.Key.Key_Up)
    assert view.currentIndex().row() == target
    press(Qt.Key.Key_Return)
    qtbot.waitUntil(
        lambda: getattr(scripted_workspace.active_model, "id", None) == "second-model",
        timeout=30_000,
    )
    assert window.model_picker.currentData() == "second-model"


def test_the_help_menu_lists_every_shortcut(qtbot: QtBot, window: MainWindow) -> None:
    listed = {
        action.text().replace("&", ""): action.shortcut().toString()
        for action in window.help_menu.actions()
        if not action.isSeparator()
    }
    for entry in SHORTCUTS:
        assert listed[entry.text.replace("&", "")] == QKeySequence(entry.keys).toString()
    for wanted in ("Ctrl+N", "Ctrl+L", "Ctrl+O", "Esc", "Ctrl+F"):  # the five
        assert wanted in listed.values()
    shortcut("F1")
    qtbot.waitUntil(lambda: isinstance(QApplication.activeModalWidget(), QDialog))
    dialog = window.shortcuts_dialog
    text = dialog.findChild(QWidget, "shortcutList")
    assert text is not None
    qtbot.waitUntil(text.hasFocus, timeout=5_000)
    shown = accessible(text).text(QAccessible.Text.Value)
    for keys, does in shortcut_rows():
        assert f"{keys} {does}" in " ".join(shown.split())
    press(Qt.Key.Key_Escape)
    qtbot.waitUntil(lambda: not dialog.isVisible())
    window_manager_activates(qtbot, window)


def test_the_focus_is_visible_at_every_stop(
    qtbot: QtBot, window: MainWindow, scripted_engine: ScriptedEngine, tmp_path: Path
) -> None:
    """Each control Tab reaches looks different with the focus than after Tab moved on
    (the keyboard moves the focus throughout: styles show it only after a key moved it)."""
    answered_report(qtbot, window, scripted_engine, tmp_path)
    stops: list[QWidget] = []
    invisible: list[str] = []
    press(Qt.Key.Key_Tab)
    while focused() not in stops:
        widget = focused()
        stops.append(widget)
        with_focus = widget.grab().toImage()
        press(Qt.Key.Key_Tab)
        assert not widget.hasFocus()
        if widget.grab().toImage() == with_focus:
            invisible.append(accessible_name(widget))
        assert len(stops) < 80
    assert len(stops) > 15
    assert invisible == [], invisible


def test_a_failed_documents_reason_is_read_with_its_state(
    qtbot: QtBot, window: MainWindow, tmp_path: Path
) -> None:
    broken = tmp_path / "scan.pdf"
    broken.write_bytes(b"%PDF-1.4 not really a PDF " * 50)
    window.library.index_paths([broken])
    qtbot.waitUntil(lambda: window.documents_pane.state(str(broken)) == "failed", timeout=60_000)
    cells = [
        interface
        for interface in tree(accessible(window.documents_pane.tree))
        if interface.role() == Role.TreeItem and interface.text(QAccessible.Text.Name) == "failed"
    ]
    assert len(cells) == 1
    reason = cells[0].text(QAccessible.Text.Description)
    assert "not a readable PDF" in reason  # what hovering shows, for the ear too
