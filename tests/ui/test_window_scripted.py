"""The window's answer display with the scripted engine (fast): the cited sources' chips
first, the others folded; what the reply is doing while it works; suggested questions;
the picker's recommended and installable models; progress while a model is set up.
The same features run with real models in tests/ui/test_main_window.py."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import QThreadPool
from pytestqt.qtbot import QtBot

from hearth.assistant.workspace import Workspace
from hearth.models.bundled import GEMMA_270M, QWEN_15B, recommended_model
from hearth.ui.main_window import MainWindow
from tests.fakes import ScriptedEngine


@pytest.fixture
def window(qtbot: QtBot, scripted_workspace: Workspace) -> Iterator[MainWindow]:
    scripted_workspace.settings.tools_enabled = False
    window = MainWindow(scripted_workspace)
    qtbot.addWidget(window)
    window.show()
    qtbot.waitUntil(lambda: scripted_workspace.active_model is not None, timeout=30_000)
    qtbot.waitUntil(lambda: not window.model_busy_action.isVisible(), timeout=30_000)
    yield window
    window.close()
    QThreadPool.globalInstance().waitForDone(30_000)


def index_notes(qtbot: QtBot, window: MainWindow, folder: Path) -> list[Path]:
    notes = []
    for name, text in (
        ("boiler.md", "The boiler pressure should be 1.5 bar when the heating is cold."),
        ("roof.md", "The roof tiles were replaced in March; the boiler flue was sealed."),
        ("garden.md", "The garden boiler shed needs a new lock before the winter."),
    ):
        path = folder / name
        path.write_text(f"# {name}\n\n{text}\n", "utf-8")
        notes.append(path)
    window.library.index_paths(notes)
    qtbot.waitUntil(lambda: not window.library.busy, timeout=60_000)
    return notes


def test_the_cited_source_comes_first_and_the_others_fold(
    qtbot: QtBot, window: MainWindow, scripted_engine: ScriptedEngine, tmp_path: Path
) -> None:
    index_notes(qtbot, window, tmp_path)
    scripted_engine.replies.clear()  # suggestions may have used the queue: answer next
    qtbot.waitUntil(lambda: not window.answers.busy and window.answers._suggest_task is None)
    # An answer from a source that is not the first (a statement is cited to the source it
    # copies, so the reply must copy the roof note to cite it).
    scripted_engine.enqueue(["The roof tiles ", "were replaced in March [2]."])
    window.send("What pressure should the boiler have?")
    qtbot.waitUntil(lambda: not window.answers.busy, timeout=30_000)
    answer = window.chat_view.messages[-1]
    sources = answer.sources
    assert len(sources) >= 2
    [roof] = [source for source in sources if source.document.endswith("roof.md")]
    assert roof.n != 1
    [cited_chip] = answer.chip_buttons()
    assert cited_chip.text().startswith(f"[{roof.n}] ")
    assert cited_chip.objectName() == "citedSourceChip"
    assert len(answer.other_chip_buttons()) == len(sources) - 1
    assert not answer.other_row.isVisible()  # folded until asked for
    assert answer.others_toggle.text() == f"{len(sources) - 1} other sources"
    answer.others_toggle.click()
    assert answer.other_row.isVisible()


def test_the_reply_says_what_it_is_doing_until_it_is_written(
    qtbot: QtBot, window: MainWindow, scripted_engine: ScriptedEngine, tmp_path: Path
) -> None:
    index_notes(qtbot, window, tmp_path)
    qtbot.waitUntil(lambda: not window.answers.busy and window.answers._suggest_task is None)
    scripted_engine.replies.clear()
    scripted_engine.piece_budget = threading.Semaphore(1)
    scripted_engine.enqueue(["The pressure ", "is 1.5 bar [1]."])
    window.send("What should the boiler pressure be?")
    qtbot.waitUntil(lambda: window.chat_view.messages[-1].text == "The pressure ", timeout=30_000)
    reply = window.chat_view.messages[-1]
    assert reply.stage_label.isVisible()
    assert reply.stage_label.text() in ("Reading 3 sources…", "Writing…")
    scripted_engine.piece_budget.release(5)
    qtbot.waitUntil(lambda: not window.answers.busy, timeout=30_000)
    assert not reply.stage_label.isVisible()
    assert reply.text == "The pressure is 1.5 bar [1]."


def test_indexed_documents_get_suggested_questions_that_can_be_asked(
    qtbot: QtBot, window: MainWindow, scripted_engine: ScriptedEngine, tmp_path: Path
) -> None:
    questions = [
        "What should the boiler pressure be?",
        "When were the roof tiles replaced?",
        "What does the shed need?",
    ]
    scripted_engine.default_reply = "\n".join(questions)
    index_notes(qtbot, window, tmp_path)
    qtbot.waitUntil(lambda: bool(window.chat_view.suggested_questions()), timeout=30_000)
    assert window.chat_view.suggestions.isVisible()
    assert set(window.chat_view.suggested_questions()) <= set(questions)
    qtbot.waitUntil(lambda: window.answers._suggest_task is None, timeout=30_000)
    scripted_engine.default_reply = "It should be 1.5 bar [1]."
    first = window.chat_view.suggested_questions()[0]
    window.chat_view.suggestion_clicked.emit(first)
    qtbot.waitUntil(lambda: not window.answers.busy, timeout=30_000)
    assert window.chat_view.messages[0].text == first
    assert not window.chat_view.suggestions.isVisible()


def test_the_picker_marks_the_recommended_model_and_offers_the_others(
    window: MainWindow,
) -> None:
    texts = [window.model_picker.itemText(i) for i in range(window.model_picker.count())]
    installable = [t for t in texts if t.endswith("set up…")]
    assert any(GEMMA_270M.title in t for t in installable)
    assert any(recommended_model().title in t for t in installable)  # not set up in this test
    # What choosing a bundled model trades, where it was measured.
    assert any(QWEN_15B.title in t and QWEN_15B.trade_off in t for t in texts)
    assert texts[-1] == "Add model…"


def test_the_picker_judges_fit_by_ram_and_vram_with_a_gpu_of_its_own(
    qtbot: QtBot, window: MainWindow, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from PySide6.QtCore import Qt
    from PySide6.QtWidgets import QMessageBox

    from tests.engine.test_gpu_offload import FAKE_DEVICES, GIB

    backend = tmp_path / "libggml-vulkan.so"
    backend.touch()
    monkeypatch.setattr("hearth.engine.backends.vulkan_backend_file", lambda: backend)
    monkeypatch.setattr("hearth.engine.vulkan.vulkan_devices", lambda: FAKE_DEVICES)
    monkeypatch.setattr("hearth.models.ram.available_memory_bytes", lambda: 8 * GIB)
    monkeypatch.delenv("HEARTH_GPU", raising=False)
    picker = window.model_picker
    window.toolbar.refresh()
    row = picker.findData("tiny-test-model")
    assert " · fits in 8.0 GB RAM + 4.0 GB VRAM" in picker.itemText(row)
    assert picker.itemData(row, Qt.ItemDataRole.ToolTipRole) == (
        "Fits in the 8.0 GB RAM + 4.0 GB VRAM available now"
    )

    # Too big for the RAM alone, not for the RAM and the GPU's memory: loaded unasked.
    asked: list[str] = []

    def decline(*args: object) -> QMessageBox.StandardButton:
        asked.append(str(args[2]))
        return QMessageBox.StandardButton.No

    monkeypatch.setattr(QMessageBox, "question", decline)
    monkeypatch.setattr("hearth.models.ram.available_memory_bytes", lambda: 1024)
    model = picker.models[0]
    monkeypatch.setenv("HEARTH_GPU", "off")
    window.toolbar.refresh()
    assert "VRAM" not in picker.itemText(picker.findData(model.id))  # the RAM alone, as before
    window.toolbar.switch_model(model)
    assert len(asked) == 1
    assert "(0.0 GB RAM)" in asked[0]
    monkeypatch.setenv("HEARTH_GPU", "auto")
    window.toolbar.switch_model(model)
    assert len(asked) == 1
    qtbot.waitUntil(lambda: not window.models.busy, timeout=30_000)


def test_setting_up_a_bundled_model_shows_progress_then_loads_it(
    qtbot: QtBot, window: MainWindow, scripted_workspace: Workspace
) -> None:
    steps: list[tuple[int, int, str]] = []
    window.models.progress.connect(lambda done, total, label: steps.append((done, total, label)))
    window.model_picker.set_up_requested.emit(GEMMA_270M.id)
    qtbot.waitUntil(
        lambda: getattr(scripted_workspace.active_model, "id", None) == GEMMA_270M.id,
        timeout=120_000,
    )
    assert steps
    assert steps[-1][0] == steps[-1][1] == GEMMA_270M.size_bytes
    assert steps[0][2] == f"Setting up {GEMMA_270M.title}"
    assert (scripted_workspace.catalogue.folder / GEMMA_270M.filename).is_file()


def test_the_scope_bar_keeps_each_conversations_choice(window: MainWindow) -> None:
    first = window.new_conversation()
    window.use_documents.setChecked(False)  # stored on the open conversation at once
    assert window.conversation is not None
    assert not window.conversation.use_documents
    assert not window.scope_bar.choose_button.isEnabled()
    second = window.new_conversation()
    assert second.use_documents
    window.open_conversation(second.id)
    assert window.use_documents.isChecked()
    window.open_conversation(first.id)
    assert not window.use_documents.isChecked()
    assert not window.workspace.conversations.get(first.id).use_documents
