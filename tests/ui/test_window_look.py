"""How the window looks and what it keeps, with the scripted engine (fast): light or dark
as the desktop says unless the settings choose, the text size, the window's size and
splitters between runs, the documents table's columns, and the top status while an
answer is worked on."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest
from PySide6.QtCore import Qt, QThreadPool, QTimer
from PySide6.QtGui import QPalette
from PySide6.QtWidgets import QApplication
from pytestqt.qtbot import QtBot

from bench.sample_documents import report_pages, write_pdf
from hearth.assistant.workspace import Workspace
from hearth.settings import Settings, load_settings
from hearth.ui import theme
from hearth.ui.main_window import WORKING, MainWindow
from tests.fakes import ScriptedEngine
from tests.ui.test_window_scripted import index_notes


@pytest.fixture
def window(qtbot: QtBot, scripted_workspace: Workspace) -> Iterator[MainWindow]:
    scripted_workspace.settings.tools_enabled = False
    window = open_window(qtbot, scripted_workspace)
    yield window
    window.close()
    QThreadPool.globalInstance().waitForDone(30_000)
    # The look is the application's: the next test starts from the desktop's own.
    theme.desktop_scheme_changed(Qt.ColorScheme.Unknown)
    app = QApplication.instance()
    assert isinstance(app, QApplication)
    theme.apply_theme(app, Settings())


def open_window(qtbot: QtBot, workspace: Workspace) -> MainWindow:
    window = MainWindow(workspace)
    qtbot.addWidget(window)
    window.show()
    qtbot.waitUntil(lambda: workspace.active_model is not None, timeout=30_000)
    qtbot.waitUntil(lambda: not window.model_busy_action.isVisible(), timeout=30_000)
    return window


def window_colour(window: MainWindow) -> int:
    return window.palette().color(QPalette.ColorRole.Window).lightness()


def test_dark_follows_the_desktop_unless_the_settings_choose(
    qtbot: QtBot, window: MainWindow
) -> None:
    assert window_colour(window) > 200  # the offscreen desktop is light
    window.use_documents.setChecked(False)
    window.send("Hello?")  # a message, so the chat has its style sheet
    # What Qt reports when the desktop switches to dark (offscreen has no desktop scheme).
    window._desktop_scheme_changed(Qt.ColorScheme.Dark)
    qtbot.waitUntil(lambda: window_colour(window) < 80)  # widgets hear of it by an event
    bubbles = window.chat_view.container.styleSheet()
    assert theme.DARK_MESSAGE_COLOURS["#fff4e6"] in bubbles  # Hearth's bubble, dark
    assert "#fff4e6" not in bubbles
    text = window.palette().color(QPalette.ColorRole.WindowText).lightness()
    assert text > 200  # light text on the dark window
    # Chosen in Settings: light, though the desktop is dark.
    window.toolbar.apply_settings(replace(window.workspace.settings, theme="light"))
    qtbot.waitUntil(lambda: window_colour(window) > 200)
    assert load_settings().theme == "light"
    # And dark on a light desktop.
    window._desktop_scheme_changed(Qt.ColorScheme.Light)
    window.toolbar.apply_settings(replace(window.workspace.settings, theme="dark"))
    qtbot.waitUntil(lambda: window_colour(window) < 80)
    window.toolbar.apply_settings(replace(window.workspace.settings, theme="system"))
    qtbot.waitUntil(lambda: window_colour(window) > 200)


def test_the_text_size_scales_every_text(qtbot: QtBot, window: MainWindow) -> None:
    app = QApplication.instance()
    assert isinstance(app, QApplication)
    normal_points = app.font().pointSizeF()
    welcome_pixels = window.chat_view.empty_state.font().pixelSize()
    window.toolbar.apply_settings(replace(window.workspace.settings, text_size=150))
    assert app.font().pointSizeF() == pytest.approx(normal_points * 1.5)
    qtbot.waitUntil(lambda: window.input.font().pointSizeF() == pytest.approx(normal_points * 1.5))
    assert window.chat_view.empty_state.font().pixelSize() == round(welcome_pixels * 1.5)
    assert load_settings().text_size == 150


def test_the_window_keeps_its_size_and_splitters_between_runs(
    qtbot: QtBot, window: MainWindow, scripted_workspace: Workspace, hearth_home: Path
) -> None:
    window.resize(760, 560)  # within the offscreen screen (800 x 600)
    qtbot.waitUntil(lambda: window.size().width() == 760)
    window.splitter.setSizes([330, 430])
    window.sidebar.setSizes([200, 300])
    sizes, sidebar = window.splitter.sizes(), window.sidebar.sizes()
    window.close()
    assert (hearth_home / "config" / "window.ini").is_file()  # under HEARTH_HOME only
    again = open_window(qtbot, scripted_workspace)
    assert (again.size().width(), again.size().height()) == (760, 560)
    assert again.splitter.sizes() == sizes
    assert again.sidebar.sizes() == sidebar
    again.close()


def test_the_documents_columns_fit(qtbot: QtBot, window: MainWindow, tmp_path: Path) -> None:
    long_name = tmp_path / "a-report-with-a-rather-long-name-from-the-trust-archive.pdf"
    write_pdf(long_name, report_pages())
    index_notes(qtbot, window, tmp_path)
    window.library.index_paths([long_name])
    qtbot.waitUntil(lambda: not window.library.busy, timeout=60_000)
    tree = window.documents_pane.tree
    header = tree.header()
    assert window.documents_pane.items[str(long_name)].text(2) == "5"
    for column in (1, 2, 3):  # state, pages, chunks: never cut
        wanted = max(tree.sizeHintForColumn(column), header.sectionSizeHint(column))
        assert header.sectionSize(column) >= wanted, tree.headerItem().text(column)
    # Nothing runs past the pane's right edge; the long name gives way (its tooltip is whole).
    assert header.length() <= tree.viewport().width()
    assert tree.horizontalScrollBar().maximum() == 0


def test_the_top_status_follows_the_answer_until_it_is_done(
    qtbot: QtBot, window: MainWindow, scripted_engine: ScriptedEngine, tmp_path: Path
) -> None:
    index_notes(qtbot, window, tmp_path)
    qtbot.waitUntil(lambda: not window.answers.busy and window.answers._suggest_task is None)
    scripted_engine.replies.clear()
    scripted_engine.piece_budget = threading.Semaphore(0)  # the model waits to write
    scripted_engine.enqueue(["The pressure ", "is 1.5 bar [1]."])
    status = window.toolbar.label
    assert status.text() == "Ready"
    shown: list[str] = []
    watch = QTimer()
    watch.timeout.connect(
        lambda: shown.append(status.text()) if not shown or shown[-1] != status.text() else None
    )
    watch.start(1)
    window.send("What should the boiler pressure be?")
    assert status.text() == WORKING  # at once, before the first stage comes
    qtbot.waitUntil(lambda: status.text() == "Reading 3 sources…", timeout=30_000)
    scripted_engine.piece_budget.release(1)  # the first words
    qtbot.waitUntil(lambda: status.text().startswith("Writing"), timeout=30_000)
    scripted_engine.piece_budget.release(5)
    qtbot.waitUntil(lambda: not window.answers.busy, timeout=30_000)
    qtbot.wait(20)
    watch.stop()
    assert status.text() == "Ready"
    # The stage shown in the bottom status bar goes with the answer (it said "Checking the
    # answer…" after the answer was done).
    stages_below = ("Searching", "Reading", "Writing", "Checking")
    assert not window.statusBar().currentMessage().startswith(stages_below)
    working = shown[: shown.index("Ready", 1)] if "Ready" in shown[1:] else shown
    assert "Ready" not in working[1:-1]
    assert "Searching your documents…" in working
    assert "Reading 3 sources…" in working
    assert any(label.startswith("Writing") for label in working)
