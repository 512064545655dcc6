"""The toolbar's model picker: installed GGUFs by name and the file's own quantisation
("Qwen2.5 Coder 0.5B Instruct · Q4_K_M") with context and RAM, the one recommended for
this computer marked, then the bundled models not yet set up, Get models… (Hugging Face)
and Add model… (a file).

Entries whose estimated RAM passes WARN_SHARE of available memory are shown in amber;
above 100% the window asks before loading (the user may insist).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import Signal
from PySide6.QtGui import QBrush, QColor
from PySide6.QtWidgets import QComboBox, QWidget

if TYPE_CHECKING:
    # The catalogue (GGUF reading, RAM estimates) loads when the models are listed, just
    # after the window is on screen.
    from hearth.models.catalogue import ModelInfo

WARN_SHARE = 0.7
AMBER = "#b06000"
RED = "#b3261e"
ADD_MODEL = "__add__"
GET_MODELS = "__get__"
SET_UP = "__set_up__:"  # + a bundled model's id


def format_gb(count: int) -> str:
    return f"{count / 1024**3:.1f} GB"


def describe(model: ModelInfo, n_ctx: int, recommended: bool = False) -> str:
    ram = model.ram_estimate(n_ctx).total_bytes
    context = model.metadata.context_length
    context_label = f"{context // 1024}k" if context >= 1024 else str(context)
    mark = " · recommended" if recommended else ""
    # The size where the name does not say it ("Gemma 3 270M" does).
    size = model.metadata.size_label
    sized = "" if size.lower() in model.name.lower() else f" · {size}"
    return f"{model.label}{sized} · {context_label} ctx · ~{format_gb(ram)}{mark}"


def _with_trade_off(text: str, trade_off: str | None) -> str:
    return f"{text} — {trade_off}" if trade_off else text


class ModelPicker(QComboBox):
    model_chosen = Signal(object)  # ModelInfo
    add_requested = Signal()
    get_models_requested = Signal()
    set_up_requested = Signal(str)  # a bundled model's id

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setMinimumWidth(380)
        self.setPlaceholderText("Looking for models…")
        self.models: list[ModelInfo] = []
        self._active_id: str | None = None
        self._quiet = False
        self.activated.connect(self._on_activated)

    def show_models(
        self,
        models: list[ModelInfo],
        active_id: str | None,
        n_ctx: int,
        available: int | None = None,
        recommended_id: str | None = None,
        installable: list[tuple[str, str, int]] | None = None,
        trade_offs: dict[str, str] | None = None,
    ) -> None:
        """``installable``: (id, title, bytes) of bundled models not yet set up;
        ``trade_offs``: what choosing a model trades ("better answers, about 2.5x slower"),
        by model id."""
        trade_offs = trade_offs or {}
        # Models are listed after the first paint, which must not touch `Qt` (qt_values.py).
        from PySide6.QtCore import Qt

        from hearth.models.catalogue import memory_fit

        self._quiet = True
        self.clear()
        self.models = models
        for model in models:
            share = memory_fit(model.ram_estimate(n_ctx), available)
            text = describe(model, n_ctx, model.id == recommended_id)
            self.addItem(_with_trade_off(text, trade_offs.get(model.id)), model.id)
            row = self.count() - 1
            if share > 1.0:
                self.setItemData(row, QBrush(QColor(RED)), Qt.ItemDataRole.ForegroundRole)
                self.setItemData(
                    row, "Needs more memory than is available now", Qt.ItemDataRole.ToolTipRole
                )
            elif share > WARN_SHARE:
                self.setItemData(row, QBrush(QColor(AMBER)), Qt.ItemDataRole.ForegroundRole)
                self.setItemData(
                    row, f"Uses about {share:.0%} of available memory", Qt.ItemDataRole.ToolTipRole
                )
        if installable:
            self.insertSeparator(self.count())
            for model_id, title, size in installable:
                text = _with_trade_off(f"{title} · {format_gb(size)}", trade_offs.get(model_id))
                self.addItem(f"{text} · set up…", SET_UP + model_id)
        self.insertSeparator(self.count())
        self.addItem("Get models…", GET_MODELS)
        self.addItem("Add model…", ADD_MODEL)
        self.set_active(active_id)
        self._quiet = False

    def set_active(self, model_id: str | None) -> None:
        self._active_id = model_id
        index = self.findData(model_id) if model_id else -1
        if index >= 0:
            was = self._quiet
            self._quiet = True
            self.setCurrentIndex(index)
            self._quiet = was

    def revert(self) -> None:
        self.set_active(self._active_id)

    def _on_activated(self, index: int) -> None:
        if self._quiet:
            return
        data = self.itemData(index)
        if data == ADD_MODEL:
            self.revert()
            self.add_requested.emit()
            return
        if data == GET_MODELS:
            self.revert()
            self.get_models_requested.emit()
            return
        if isinstance(data, str) and data.startswith(SET_UP):
            self.revert()
            self.set_up_requested.emit(data.removeprefix(SET_UP))
            return
        for model in self.models:
            if model.id == data and model.id != self._active_id:
                self.model_chosen.emit(model)
