"""Get models… in the window (Qt offscreen), against the stand-in Hub: a user with only the
bundled models searches "qwen2.5 1.5b instruct gguf", takes the recommended quantisation,
watches it download with speed and time left, cancels, resumes, makes it the default and
asks a question with it. The scripted engine answers; the real model's turn is
test_a_downloaded_model_answers (slow)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import QThreadPool
from PySide6.QtWidgets import QTreeWidgetItem
from pytestqt.qtbot import QtBot

from hearth.assistant.workspace import Workspace
from hearth.ui.get_models_dialog import GetModelsDialog
from hearth.ui.main_window import MainWindow
from hearth.ui.model_picker import GET_MODELS
from hearth.ui.operations.downloads import DownloadState
from tests.fakes import ScriptedEngine
from tests.models.conftest import QWEN_REPO
from tests.models.hub_standin import HubStandIn

# The dialog is raised when opened; offscreen Qt cannot, and says so.
pytestmark = pytest.mark.qt_log_ignore("This plugin does not support raise")

Q4 = "qwen2.5-1.5b-instruct-q4_k_m.gguf"
Q4_ID = "qwen2.5-1.5b-instruct-q4_k_m"


@pytest.fixture
def window(qtbot: QtBot, scripted_workspace: Workspace, hub: HubStandIn) -> Iterator[MainWindow]:
    scripted_workspace.settings.tools_enabled = False
    window = MainWindow(scripted_workspace)
    qtbot.addWidget(window)
    window.show()
    qtbot.waitUntil(lambda: scripted_workspace.active_model is not None, timeout=30_000)
    qtbot.waitUntil(lambda: not window.model_busy_action.isVisible(), timeout=30_000)
    yield window
    hub.bytes_per_second = None
    window.close()  # stops any download still running
    QThreadPool.globalInstance().waitForDone(30_000)


def open_get_models(window: MainWindow) -> GetModelsDialog:
    picker = window.model_picker
    picker.activated.emit(picker.findData(GET_MODELS))
    dialog = window.toolbar.get_models
    assert dialog is not None
    assert dialog.isVisible()
    return dialog


def search(qtbot: QtBot, dialog: GetModelsDialog, words: str) -> None:
    dialog.search_box.setText(words)
    dialog.search_button.click()
    qtbot.waitUntil(lambda: dialog.chosen() is not None, timeout=30_000)


def file_row(dialog: GetModelsDialog, index: int) -> QTreeWidgetItem:
    item = dialog.files.topLevelItem(index)
    assert item is not None
    return item


def test_search_pick_the_recommended_download_cancel_resume_and_ask(
    qtbot: QtBot,
    window: MainWindow,
    hub: HubStandIn,
    scripted_workspace: Workspace,
    scripted_engine: ScriptedEngine,
) -> None:
    dialog = open_get_models(window)
    assert "into " + str(scripted_workspace.catalogue.folder) in dialog.where.text()
    assert "Nothing is downloaded until you press Download" in dialog.where.text()
    assert hub.requests == []  # opening the dialog asked nothing of the network
    search(qtbot, dialog, "qwen2.5 1.5b instruct gguf")
    assert dialog.results.item(0).text().startswith(QWEN_REPO)
    rows = [dialog.files.topLevelItem(i) for i in range(dialog.files.topLevelItemCount())]
    assert [row.text(0) for row in rows if row is not None] == [
        "Q2_K",
        "Q4_K_M  ★ recommended",
        "Q5_K_M",
        "Q8_0",
    ]
    choice = dialog.chosen()
    assert choice is not None
    assert choice.recommended
    assert choice.quantization == "Q4_K_M"
    assert dialog.download_button.text().startswith("Download Q4_K_M (3 MB, needs about ")

    hub.bytes_per_second = 512 * 1024  # six seconds for the file: time to watch and cancel
    dialog.download_button.click()
    qtbot.waitUntil(lambda: Q4_ID in dialog.rows, timeout=10_000)
    row = dialog.rows[Q4_ID]
    qtbot.waitUntil(lambda: "/s · about" in row.detail.text(), timeout=30_000)
    assert row.detail.text().endswith(" left")  # "1 MB of 3 MB · 512 KB/s · about 4 s left"
    assert row.buttons["cancel"].isVisibleTo(row)
    row.buttons["cancel"].click()
    qtbot.waitUntil(lambda: dialog.downloads.get(Q4_ID).state is DownloadState.STOPPED)  # type: ignore[union-attr]
    partial = scripted_workspace.catalogue.folder / (Q4 + ".partial")
    kept = partial.stat().st_size
    assert 0 < kept < choice.size_bytes
    assert row.detail.text().startswith("Stopped at ")
    assert not row.buttons["cancel"].isVisibleTo(row)
    assert Q4_ID not in [m.id for m in scripted_workspace.catalogue.list()]

    hub.bytes_per_second = None
    row.buttons["resume"].click()
    qtbot.waitUntil(lambda: dialog.downloads.get(Q4_ID).state is DownloadState.DONE, timeout=30_000)  # type: ignore[union-attr]
    assert hub.downloads_of(Q4)[-1].range == f"bytes={kept}-"
    assert not partial.exists()
    texts = [window.model_picker.itemText(i) for i in range(window.model_picker.count())]
    # The name and the file's quantisation, then its parameters (the stand-in's are few).
    assert any(t.startswith("Qwen2.5 1.5B Instruct · Q4_K_M · 786K · 32k ctx") for t in texts)

    row.buttons["default"].click()
    assert scripted_workspace.catalogue.default_id() == Q4_ID
    row.buttons["use"].click()
    qtbot.waitUntil(
        lambda: (
            scripted_workspace.active_model is not None
            and scripted_workspace.active_model.id == Q4_ID
        ),
        timeout=30_000,
    )
    qtbot.waitUntil(lambda: not window.models.busy, timeout=30_000)
    assert Q4_ID in window.model_picker.currentData()
    scripted_engine.default_reply = "Hello from the downloaded model."
    window.send("Say hello.")
    qtbot.waitUntil(lambda: not window.answers.busy, timeout=30_000)
    assert window.chat_view.messages[-1].text == "Hello from the downloaded model."


def test_downloads_wait_their_turn_and_a_queued_one_can_be_taken_out(
    qtbot: QtBot, window: MainWindow, hub: HubStandIn
) -> None:
    dialog = open_get_models(window)
    search(qtbot, dialog, QWEN_REPO)
    hub.bytes_per_second = 1024 * 1024
    dialog.download_button.click()  # the recommended Q4_K_M
    dialog.files.setCurrentItem(file_row(dialog, 0))  # Q2_K
    dialog.download_button.click()
    q2 = "qwen2.5-1.5b-instruct-q2_k"
    assert dialog.downloads.get(q2).state is DownloadState.QUEUED  # type: ignore[union-attr]
    assert dialog.rows[q2].detail.text() == "Waiting for the download before it"
    dialog.files.setCurrentItem(file_row(dialog, 2))  # Q5_K_M
    dialog.download_button.click()
    q5 = "qwen2.5-1.5b-instruct-q5_k_m"
    dialog.rows[q5].buttons["cancel"].click()
    assert dialog.downloads.get(q5).state is DownloadState.STOPPED  # type: ignore[union-attr]
    dialog.rows[q5].buttons["discard"].click()
    assert q5 not in dialog.rows
    hub.bytes_per_second = None
    qtbot.waitUntil(
        lambda: dialog.downloads.get(q2).state is DownloadState.DONE,  # type: ignore[union-attr]
        timeout=30_000,
    )
    assert dialog.downloads.get(Q4_ID).state is DownloadState.DONE  # type: ignore[union-attr]
    started = [r.path.rsplit("/", 1)[-1] for r in hub.requests if r.range != "bytes=0-262143"]
    started = [name for name in started if name.endswith(".gguf")]
    assert started == [Q4, "qwen2.5-1.5b-instruct-q2_k.gguf"]  # one after the other


def test_a_download_left_unfinished_is_offered_again_at_the_next_start(
    qtbot: QtBot, window: MainWindow, hub: HubStandIn, scripted_workspace: Workspace
) -> None:
    dialog = open_get_models(window)
    search(qtbot, dialog, QWEN_REPO)
    hub.cut_at[Q4] = 1_500_000
    dialog.downloads.retries = 0
    dialog.download_button.click()
    qtbot.waitUntil(
        lambda: dialog.downloads.get(Q4_ID).state is DownloadState.FAILED,  # type: ignore[union-attr]
        timeout=30_000,
    )
    message = dialog.rows[Q4_ID].detail.text()
    assert message.startswith(f"{Q4}: the download stopped at 47%: the connection to 127.0.0.1")
    # Hearth starts again: the next window's dialog finds the partial file and its plan.
    fresh = GetModelsDialog(scripted_workspace)
    qtbot.addWidget(fresh)
    again = fresh.downloads.get(Q4_ID)
    assert again is not None
    assert again.state is DownloadState.STOPPED
    assert again.done_bytes == 1_500_000
    assert fresh.rows[Q4_ID].buttons["resume"].isVisibleTo(fresh.rows[Q4_ID])
    del hub.cut_at[Q4]
    fresh.rows[Q4_ID].buttons["resume"].click()
    qtbot.waitUntil(
        lambda: fresh.downloads.get(Q4_ID).state is DownloadState.DONE,  # type: ignore[union-attr]
        timeout=30_000,
    )
    assert hub.downloads_of(Q4)[-1].range == "bytes=1500000-"


def test_no_network_is_said_in_one_line(
    qtbot: QtBot, window: MainWindow, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    monkeypatch.setenv("HF_ENDPOINT", f"http://127.0.0.1:{port}")
    dialog = open_get_models(window)
    dialog.search_box.setText("qwen")
    dialog.search_button.click()
    qtbot.waitUntil(lambda: "cannot reach" in dialog.status.text(), timeout=10_000)
    assert dialog.status.text().startswith(f"cannot reach 127.0.0.1:{port} (connection refused)")
    assert "\n" not in dialog.status.text()


def test_the_endpoint_is_set_in_settings_and_get_models_goes_there(
    qtbot: QtBot, window: MainWindow, hub: HubStandIn, monkeypatch: pytest.MonkeyPatch
) -> None:
    from hearth.settings import load_settings
    from hearth.ui.settings_dialog import SettingsDialog

    monkeypatch.delenv("HF_ENDPOINT")  # the setting alone
    dialog = open_get_models(window)
    assert dialog.where.text().startswith("From huggingface.co into ")
    dialog.hide()

    settings = SettingsDialog(window.workspace.settings)
    qtbot.addWidget(settings)
    assert settings.hf_endpoint.text() == ""
    assert settings.hf_endpoint.placeholderText() == "https://huggingface.co"
    settings.hf_endpoint.setText("ftp://mirror.example")
    settings.accept()
    assert settings.result_settings is None
    assert settings.error.text() == (
        "the Hugging Face endpoint 'ftp://mirror.example' is not an http:// or https:// address"
    )
    settings.hf_endpoint.setText(f" {hub.url}/ ")
    settings.accept()
    assert settings.result_settings is not None
    window.toolbar.apply_settings(settings.result_settings)
    assert load_settings().hf_endpoint == f"{hub.url}/"

    window.toolbar.open_get_models()
    assert dialog.where.text().startswith(f"From {hub.url.split('://')[1]} into ")
    search(qtbot, dialog, "qwen2.5 1.5b instruct gguf")
    assert dialog.results.item(0).text().startswith(QWEN_REPO)
