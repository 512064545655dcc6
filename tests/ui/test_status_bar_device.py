"""The status bar says where the model runs ("GPU: N of M layers" or "CPU"); the settings
take the GPU choice."""

from __future__ import annotations

import re

import pytest
from pytestqt.qtbot import QtBot

from tests.engine.test_gpu_offload import lavapipe_index, needs_lavapipe
from tests.ui.conftest import WindowFactory


def test_the_status_bar_says_cpu_with_the_gpu_off(
    make_window: WindowFactory, qtbot: QtBot, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HEARTH_GPU", "off")
    window = make_window()
    qtbot.waitUntil(lambda: window.device_label.text() == "CPU", timeout=10_000)


@needs_lavapipe
def test_the_status_bar_counts_the_layers_on_the_gpu(
    make_window: WindowFactory, qtbot: QtBot, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GGML_VK_VISIBLE_DEVICES", str(lavapipe_index()))
    monkeypatch.delenv("HEARTH_GPU", raising=False)
    window = make_window()
    qtbot.waitUntil(lambda: window.device_label.text().startswith("GPU: "), timeout=10_000)
    # The whole model fits in lavapipe's memory (the computer's).
    assert re.fullmatch(r"GPU: (\d+) of \1 layers", window.device_label.text())


def test_the_settings_take_auto_off_or_a_number_of_gpu_layers(qtbot: QtBot) -> None:
    from hearth.settings import Settings
    from hearth.ui.settings_dialog import SettingsDialog

    dialog = SettingsDialog(Settings())
    qtbot.addWidget(dialog)
    assert dialog.gpu.currentText() == "auto"
    dialog.gpu.setCurrentText("most")
    dialog.accept()
    assert dialog.result_settings is None
    assert dialog.error.text() == (
        "the GPU choice 'most' must be auto, off or a number of layers (0-1000)"
    )
    dialog.gpu.setCurrentText(" 12 ")
    dialog.accept()
    assert dialog.result_settings is not None
    assert dialog.result_settings.gpu == "12"
