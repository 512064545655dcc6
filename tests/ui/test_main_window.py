"""The desktop window, offscreen, with the real engine, model, embedder and index."""

from __future__ import annotations

import itertools
import os
import signal
import time
from dataclasses import replace
from pathlib import Path

import pytest
from PySide6.QtCore import Qt, QTimer
from PySide6.QtTest import QTest
from pytestqt.qtbot import QtBot

from bench.sample_documents import report_pages, write_pdf
from hearth.engine.client import EngineClient
from hearth.settings import Settings, load_settings
from hearth.ui.main_window import MainWindow
from hearth.ui.operations.library import DocumentState
from hearth.ui.settings_dialog import SettingsDialog
from tests.gguf_files import copy_with_string_field
from tests.ui.conftest import (
    WindowFactory,
    wait_for_answer,
    wait_for_indexing,
    wait_while_progressing,
)


def index_report(qtbot: QtBot, window: MainWindow, folder: Path) -> Path:
    report = write_pdf(folder / "report.pdf", report_pages())
    window.handle_dropped([report])
    wait_for_indexing(qtbot, window)
    return report


def engine_host_pid(window: MainWindow) -> int | None:
    """The window's engine runs the model in Hearth's own engine host here: its process id."""
    engine = window.workspace.engine
    assert isinstance(engine, EngineClient)
    return engine.host_pid


def test_first_start_is_ready_and_explains_what_to_do(make_window: WindowFactory) -> None:
    window = make_window()
    assert window.chat_view.empty_state.isVisible()
    assert "Drop documents" in window.chat_view.empty_state.text()
    assert window.workspace.active_model is not None
    assert window.workspace.active_model.id == "gemma-3-270m-q4_k_m"
    assert "Q4_K_M" in window.model_picker.currentText()
    assert "GB" in window.model_picker.currentText()  # the RAM estimate is shown


def test_dropped_document_is_indexed_with_pages_and_chunks(
    qtbot: QtBot, make_window: WindowFactory, tmp_path: Path
) -> None:
    window = make_window()
    report = index_report(qtbot, window, tmp_path)
    item = window.documents_pane.items[str(report)]
    assert window.documents_pane.state(str(report)) is DocumentState.READY
    assert item.text(1) == "ready"
    assert item.text(2) == "5"
    assert int(item.text(3)) >= 5


def test_ask_streams_an_answer_with_a_source_chip_that_opens_the_page(
    qtbot: QtBot, make_window: WindowFactory, tmp_path: Path
) -> None:
    window = make_window()
    report = index_report(qtbot, window, tmp_path)
    pieces: list[str] = []
    window.send("How much did the restoration of the lantern room cost?")
    assert window.answers.task is not None
    window.answers.task.piece.connect(pieces.append)
    wait_for_answer(qtbot, window)
    answer = window.chat_view.messages[-1]
    assert answer.role == "assistant"
    assert answer.status == "complete"
    assert answer.text
    assert len(pieces) > 1  # it arrived in pieces, not all at once
    chips = answer.chip_buttons()
    assert chips
    assert chips[0].text() == "[1] report.pdf · p. 2"
    QTest.mouseClick(chips[0], Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: window.source_viewer is not None, timeout=30_000)
    viewer = window.source_viewer
    assert viewer is not None
    assert viewer.isVisible()
    assert viewer.path == report
    assert viewer.page == 2
    assert viewer.highlighted
    assert "48,500" in viewer.highlighted_text()
    viewer.close()


def test_stop_keeps_the_partial_answer(qtbot: QtBot, make_window: WindowFactory) -> None:
    window = make_window()
    window.use_documents.setChecked(False)
    window.workspace.settings.max_answer_tokens = 400
    pieces: list[str] = []
    window.send("Write a long story about a lighthouse keeper and the sea.")
    assert window.answers.task is not None
    window.answers.task.piece.connect(pieces.append)
    wait_while_progressing(qtbot, lambda: len(pieces) >= 2, "the first pieces")
    QTest.mouseClick(window.stop_button, Qt.MouseButton.LeftButton)
    wait_for_answer(qtbot, window)
    answer = window.chat_view.messages[-1]
    assert answer.status == "stopped"
    assert window.workspace.engine.status().loaded  # the model is still there
    assert window.conversation is not None
    stored = window.workspace.conversations.messages(window.conversation.id)
    assert [m.role for m in stored] == ["user", "assistant"]
    assert stored[-1].status == "stopped"
    assert stored[-1].content == answer.text


def test_switching_model_loads_in_background_and_keeps_answering(
    qtbot: QtBot, make_window: WindowFactory, gemma_model: Path, tmp_path: Path
) -> None:
    window = make_window()
    copy_with_string_field(
        gemma_model,
        gemma_model.parent / "second-model.gguf",
        "general.name",
        "Second model",
    )
    window.toolbar.refresh()
    second = next(m for m in window.model_picker.models if m.id == "second-model")
    old_engine = window.workspace.engine
    window.toolbar.switch_model(second)
    assert window.model_busy_action.isVisible()
    qtbot.waitUntil(lambda: window.workspace.active_model is second, timeout=60_000)
    qtbot.waitUntil(lambda: not window.model_busy_action.isVisible(), timeout=10_000)
    assert window.workspace.engine is not old_engine
    assert window.model_picker.currentData() == "second-model"
    window.use_documents.setChecked(False)
    window.send("Say hello.")
    wait_for_answer(qtbot, window)
    assert window.chat_view.messages[-1].status == "complete"


def test_restart_keeps_conversations(qtbot: QtBot, make_window: WindowFactory) -> None:
    first = make_window()
    first.use_documents.setChecked(False)
    first.send("Remember the word marmalade.")
    wait_for_answer(qtbot, first)
    answer_text = first.chat_view.messages[-1].text
    first.close()
    second = make_window()
    titles = [
        second.conversation_list.item(i).text() for i in range(second.conversation_list.count())
    ]
    assert titles == ["Remember the word marmalade."]
    second.conversation_list.setCurrentRow(0)
    assert second.conversation is not None
    texts = [(m.role, m.text) for m in second.chat_view.messages]
    assert texts == [("user", "Remember the word marmalade."), ("assistant", answer_text)]
    markdown = second.workspace.conversations.export_markdown(second.conversation.id)
    assert "marmalade" in markdown


def test_corrupt_model_and_document_show_errors_and_window_stays_usable(
    qtbot: QtBot, make_window: WindowFactory, tmp_path: Path
) -> None:
    window = make_window()
    bad_model = tmp_path / "broken.gguf"
    bad_model.write_bytes(os.urandom(4096))
    bad_document = tmp_path / "scan.pdf"
    bad_document.write_bytes(os.urandom(4096))
    window.handle_dropped([bad_model, bad_document])
    qtbot.waitUntil(lambda: getattr(window, "last_error", None) is not None, timeout=60_000)
    assert window.last_error is not None
    assert "broken.gguf" in window.last_error
    assert "not a GGUF model" in window.last_error
    wait_for_indexing(qtbot, window)
    assert window.documents_pane.state(str(bad_document)) == "failed"
    tooltip = window.documents_pane.items[str(bad_document)].toolTip(1)
    assert "not a readable PDF" in tooltip
    assert [m.id for m in window.workspace.catalogue.list()] == ["gemma-3-270m-q4_k_m"]
    window.use_documents.setChecked(False)
    window.send("Still there?")
    wait_for_answer(qtbot, window)
    assert window.chat_view.messages[-1].status == "complete"


def test_event_loop_keeps_turning_while_indexing_and_generating(
    qtbot: QtBot, make_window: WindowFactory, tmp_path: Path
) -> None:
    window = make_window()
    ticks: list[float] = []
    timer = QTimer()
    timer.setInterval(20)
    timer.timeout.connect(lambda: ticks.append(time.monotonic()))
    timer.start()
    folder = tmp_path / "library"
    folder.mkdir()
    for number in range(12):
        write_pdf(folder / f"report-{number}.pdf", report_pages())
    window.handle_dropped([folder])
    window.use_documents.setChecked(False)
    window.send("Tell me about lighthouses.")  # generating while indexing runs
    wait_for_answer(qtbot, window)
    wait_for_indexing(qtbot, window)
    timer.stop()
    gaps = [b - a for a, b in itertools.pairwise(ticks)]
    assert len(ticks) > 50
    # The GUI thread never blocked for long: no gap of half a second between ticks.
    assert max(gaps) < 0.5, max(gaps)


def test_enter_sends_and_shift_enter_adds_a_line(qtbot: QtBot, make_window: WindowFactory) -> None:
    window = make_window()
    window.use_documents.setChecked(False)
    QTest.keyClicks(window.input, "first line")
    QTest.keyClick(window.input, Qt.Key.Key_Return, Qt.KeyboardModifier.ShiftModifier)
    QTest.keyClicks(window.input, "second line")
    assert window.input.toPlainText() == "first line\nsecond line"
    assert window.answers.task is None
    QTest.keyClick(window.input, Qt.Key.Key_Return)
    assert window.input.toPlainText() == ""
    assert window.chat_view.messages[0].text == "first line\nsecond line"
    wait_for_answer(qtbot, window)


def test_settings_are_validated_and_persisted(qtbot: QtBot, make_window: WindowFactory) -> None:
    window = make_window()
    dialog = SettingsDialog(window.workspace.settings, window)
    qtbot.addWidget(dialog)
    dialog.temperature.setValue(0.7)
    dialog.sources.setValue(4)
    dialog.system_prompt.setPlainText("x" * 5000)  # too long
    dialog.accept()
    assert dialog.result_settings is None
    assert "4000" in dialog.error.text()
    dialog.system_prompt.setPlainText("Be brief.")
    dialog.accept()
    assert isinstance(dialog.result_settings, Settings)
    window.toolbar.apply_settings(dialog.result_settings)
    saved = load_settings()
    assert (saved.temperature, saved.sources_per_answer, saved.system_prompt) == (
        0.7,
        4,
        "Be brief.",
    )


def test_regenerate_replaces_the_last_answer(qtbot: QtBot, make_window: WindowFactory) -> None:
    window = make_window()
    window.use_documents.setChecked(False)
    window.workspace.settings.temperature = 1.0
    window.send("Name a colour.")
    wait_for_answer(qtbot, window)
    assert window.conversation is not None
    first_answer = window.workspace.conversations.messages(window.conversation.id)[-1]
    window.regenerate(window.chat_view.messages[-1])
    wait_for_answer(qtbot, window)
    stored = window.workspace.conversations.messages(window.conversation.id)
    assert [m.role for m in stored] == ["user", "assistant"]
    assert stored[0].content == "Name a colour."
    assert stored[1].created_at > first_answer.created_at  # a new answer replaced the old
    assert [w.role for w in window.chat_view.messages] == ["user", "assistant"]


def test_failed_model_switch_keeps_the_previous_model(
    qtbot: QtBot, make_window: WindowFactory, gemma_model: Path
) -> None:
    window = make_window()
    previous = window.workspace.active_model
    assert previous is not None
    # A file whose header reads fine but which llama.cpp cannot load.
    copy_with_string_field(
        gemma_model, gemma_model.parent / "alien.gguf", "general.architecture", "zzzzz9"
    )
    window.toolbar.refresh()
    alien = next(m for m in window.model_picker.models if m.id == "alien")
    window.toolbar.switch_model(alien)
    qtbot.waitUntil(lambda: getattr(window, "last_error", None) is not None, timeout=60_000)
    assert window.last_error is not None
    assert "unknown model architecture" in window.last_error
    assert f"{previous.name} is still in use" in window.last_error
    assert window.workspace.active_model is previous
    assert window.model_picker.currentData() == previous.id
    window.use_documents.setChecked(False)
    window.send("Hello?")
    wait_for_answer(qtbot, window)
    assert window.chat_view.messages[-1].status == "complete"


def test_view_follows_new_text_unless_scrolled_up(qtbot: QtBot, make_window: WindowFactory) -> None:
    from hearth.ui.message_widget import MessageWidget

    window = make_window()
    view = window.chat_view
    for number in range(30):
        view.add_message(MessageWidget("user", f"message {number}\n\nwith a second paragraph"))
    qtbot.waitUntil(lambda: view.verticalScrollBar().maximum() > 0, timeout=5_000)
    scrollbar = view.verticalScrollBar()
    qtbot.waitUntil(lambda: scrollbar.value() == scrollbar.maximum(), timeout=5_000)
    assert view.following
    scrollbar.setValue(0)  # the user scrolls up to read
    assert not view.following
    view.messages[-1].append("\n\nmore text " * 20)
    qtbot.wait(50)
    assert scrollbar.value() == 0
    scrollbar.setValue(scrollbar.maximum())
    assert view.following


def test_tool_calls_show_inline_and_tools_can_be_switched_off(
    qtbot: QtBot, make_window: WindowFactory
) -> None:
    window = make_window()
    window.use_documents.setChecked(False)
    window.send("What is 23 times 19?")
    wait_for_answer(qtbot, window)
    answer = window.chat_view.messages[-1]
    assert answer.tools_toggle.isVisible()
    assert answer.tools_toggle.text() == "Used 1 tool"
    assert not answer.tool_details.isVisible()  # collapsed until asked for
    QTest.mouseClick(answer.tools_toggle, Qt.MouseButton.LeftButton)
    assert answer.tool_details.isVisible()
    assert "calculator" in answer.tool_details.text()
    assert "437" in answer.tool_details.text()
    assert window.conversation is not None
    stored = window.workspace.conversations.messages(window.conversation.id)[-1]
    assert stored.tool_calls[0]["tool"] == "calculator"

    settings = replace(window.workspace.settings, tools_enabled=False)
    window.toolbar.apply_settings(settings)
    window.send("What is 23 times 19?")
    wait_for_answer(qtbot, window)
    assert not window.chat_view.messages[-1].tools_toggle.isVisible()


def test_summarise_action_adds_a_summary(
    qtbot: QtBot, make_window: WindowFactory, tmp_path: Path
) -> None:
    window = make_window()
    report = index_report(qtbot, window, tmp_path)
    messages: list[str] = []
    window.statusBar().messageChanged.connect(messages.append)
    window.summarize_documents([str(report)])
    wait_for_answer(qtbot, window)
    answer = window.chat_view.messages[-1]
    assert answer.status == "complete"
    assert "key names and dates covered" in answer.text
    assert any(m.startswith("Summarising") for m in messages)  # progress was shown
    assert window.chat_view.messages[-2].text == "Summarise report.pdf"


def test_an_answer_cut_at_its_length_limit_says_so_under_it(
    qtbot: QtBot, make_window: WindowFactory
) -> None:
    window = make_window()
    window.use_documents.setChecked(False)
    window.workspace.settings.tools_enabled = False
    window.workspace.settings.max_answer_tokens = 16
    window.send("Write a long story about a storm at sea.")
    wait_for_answer(qtbot, window)
    cut = window.chat_view.messages[-1]
    assert cut.status == "cut"
    assert cut.text  # what was written is kept
    assert cut.error_label.isVisibleTo(window)
    assert "reached its length limit" in cut.error_label.text()
    assert "Max answer tokens" in cut.error_label.text()


def test_engine_crash_mid_answer_is_an_error_on_that_message_only(
    qtbot: QtBot, make_window: WindowFactory
) -> None:
    window = make_window()
    window.use_documents.setChecked(False)
    window.workspace.settings.tools_enabled = False
    window.workspace.settings.max_answer_tokens = 400
    pieces: list[str] = []
    window.send("Write a long story about a storm at sea.")
    assert window.answers.task is not None
    window.answers.task.piece.connect(pieces.append)
    wait_while_progressing(qtbot, lambda: len(pieces) >= 2, "the first pieces")
    host_pid = engine_host_pid(window)
    assert host_pid is not None
    os.kill(host_pid, signal.SIGKILL)
    wait_for_answer(qtbot, window)
    failed = window.chat_view.messages[-1]
    assert failed.status == "error"
    assert "stopped unexpectedly" in failed.error_label.text()
    assert window.conversation is not None
    stored = window.workspace.conversations.messages(window.conversation.id)
    assert [(m.role, m.status) for m in stored] == [("user", "complete"), ("assistant", "error")]
    window.send("Are you back?")  # a fresh engine host starts and reloads the model
    wait_for_answer(qtbot, window)
    assert window.chat_view.messages[-1].status == "complete"
    assert engine_host_pid(window) != host_pid


def test_model_too_large_for_memory_is_refused_unless_the_user_insists(
    qtbot: QtBot,
    make_window: WindowFactory,
    gemma_model: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from PySide6.QtWidgets import QMessageBox

    import hearth.models.catalogue as catalogue_module

    window = make_window()
    copy_with_string_field(
        gemma_model, gemma_model.parent / "huge-model.gguf", "general.name", "Huge model"
    )
    window.toolbar.refresh()
    huge = next(m for m in window.model_picker.models if m.id == "huge-model")
    previous = window.workspace.active_model
    assert previous is not None
    monkeypatch.setattr(catalogue_module, "memory_fit", lambda *a: 1.8)  # needs 180%
    asked: list[str] = []

    def decline(*args: object) -> QMessageBox.StandardButton:
        asked.append(str(args[2]))
        return QMessageBox.StandardButton.No

    monkeypatch.setattr(QMessageBox, "question", decline)
    window.toolbar.switch_model(huge)
    assert "more than this computer has free" in asked[0]
    assert window.workspace.active_model is previous
    assert not window.model_busy_action.isVisible()
    assert window.model_picker.currentData() == previous.id
    monkeypatch.setattr(QMessageBox, "question", lambda *a: QMessageBox.StandardButton.Yes)
    window.toolbar.switch_model(huge)  # the user insists
    qtbot.waitUntil(lambda: window.workspace.active_model is huge, timeout=60_000)


def test_overlapping_index_requests_all_complete(
    qtbot: QtBot, make_window: WindowFactory, tmp_path: Path
) -> None:
    window = make_window()
    first = write_pdf(tmp_path / "first.pdf", report_pages())
    second = tmp_path / "second.md"
    second.write_text("# Second\n\nThe harbour steps will be rebuilt next year.\n", "utf-8")
    window.handle_dropped([first])
    window.handle_dropped([second])  # while the first is still being indexed
    window.handle_dropped([first])  # and the same file again
    wait_for_indexing(qtbot, window)
    assert window.documents_pane.state(str(first)) == "ready"
    assert window.documents_pane.state(str(second)) == "ready"
    assert sorted(d.path for d in window.workspace.index.documents()) == sorted(
        [str(first), str(second)]
    )
