"""The toolbar's model picker: installed GGUFs by name and the file's own quantisation
("Qwen2.5 Coder 0.5B Instruct · Q4_K_M") with context and RAM, the one recommended for
this computer marked, then the bundled models not yet set up, Get models… (Hugging Face)
and Add model… (a file).

Entries whose estimated memory passes WARN_SHARE of what is available are shown in amber;
above 100% the window asks before loading (the user may insist). What is available is the
free RAM, plus the free VRAM of a GPU with memory of its own when the GPU is on: then each
entry says so ("fits in 8.0 GB RAM + 4.0 GB VRAM"), as llama.cpp puts there what fits.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import Signal
from PySide6.QtGui import QBrush, QColor
from PySide6.QtWidgets import QComboBox, QWidget

if TYPE_CHECKING:
    # The catalogue (GGUF reading, RAM estimates) loads when the models are listed, just
    # after the window is on screen.
    from hearth.models.catalogue import MemoryBudget, ModelInfo

WARN_SHARE = 0.7
AMBER = "#b06000"
RED = "#b3261e"
ADD_MODEL = "__add__"
GET_MODELS = "__get__"
SET_UP = "__set_up__:"  # + a bundled model's id


def format_gb(count: int) -> str:
    return f"{count / 1024**3:.1f} GB"


def budget_text(budget: MemoryBudget) -> str:
    """ "8.0 GB RAM + 4.0 GB VRAM", or "8.0 GB RAM" without a GPU's own memory."""
    ram = f"{format_gb(budget.ram_bytes)} RAM"
    return f"{ram} + {format_gb(budget.vram_bytes)} VRAM" if budget.vram_bytes else ram


def fit_text(share: float, budget: MemoryBudget) -> str:
    """ "fits in 8.0 GB RAM + 4.0 GB VRAM" for a model taking ``share`` of ``budget``."""
    verdict = "fits in" if share <= WARN_SHARE else "tight in" if share <= 1.0 else "too big for"
    return f"{verdict} {budget_text(budget)}"


def describe(
    model: ModelInfo, n_ctx: int, recommended: bool = False, budget: MemoryBudget | None = None
) -> str:
    """The picker's entry; with a ``budget`` holding VRAM, the estimate judged against it."""
    from hearth.models.catalogue import memory_fit

    estimate = model.ram_estimate(n_ctx)
    context = model.metadata.context_length
    context_label = f"{context // 1024}k" if context >= 1024 else str(context)
    mark = " · recommended" if recommended else ""
    # The size where the name does not say it ("Gemma 3 270M" does).
    size = model.metadata.size_label
    sized = "" if size.lower() in model.name.lower() else f" · {size}"
    # The RAM alone is what the estimate always meant; only a GPU's memory needs saying.
    fit = ""
    if budget is not None and budget.vram_bytes:
        fit = f" · {fit_text(memory_fit(estimate, budget), budget)}"
    return (
        f"{model.label}{sized} · {context_label} ctx · ~{format_gb(estimate.total_bytes)}"
        f"{fit}{mark}"
    )


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
        budget: MemoryBudget | None = None,
        recommended_id: str | None = None,
        installable: list[tuple[str, str, int]] | None = None,
        trade_offs: dict[str, str] | None = None,
    ) -> None:
        """``budget``: what a model may take (default: the RAM available now);
        ``installable``: (id, title, bytes) of bundled models not yet set up;
        ``trade_offs``: what choosing a model trades ("better answers, about 2.5x slower"),
        by model id."""
        trade_offs = trade_offs or {}
        # Models are listed after the first paint, which must not touch `Qt` (qt_values.py).
        from PySide6.QtCore import Qt

        from hearth.models.catalogue import MemoryBudget, memory_fit
        from hearth.models.ram import available_memory_bytes

        budget = MemoryBudget(available_memory_bytes()) if budget is None else budget
        available = budget_text(budget)
        self._quiet = True
        self.clear()
        self.models = models
        for model in models:
            share = memory_fit(model.ram_estimate(n_ctx), budget)
            text = describe(model, n_ctx, model.id == recommended_id, budget)
            self.addItem(_with_trade_off(text, trade_offs.get(model.id)), model.id)
            row = self.count() - 1
            if share > 1.0:
                self.setItemData(row, QBrush(QColor(RED)), Qt.ItemDataRole.ForegroundRole)
                tip = f"Needs more memory than the {available} available now"
            elif share > WARN_SHARE:
                self.setItemData(row, QBrush(QColor(AMBER)), Qt.ItemDataRole.ForegroundRole)
                tip = f"Uses about {share:.0%} of the {available} available now"
            else:
                tip = f"Fits in the {available} available now"
            self.setItemData(row, tip, Qt.ItemDataRole.ToolTipRole)
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
