"""The toolbar: the model picker, what the model is doing (a bar with the first start's
set-up progress), and Settings. It drives the ModelController and shows its state.

Built before the window's first paint, so nothing here touches `Qt.*` values on the way
(qt_values.py); the picker fills just after the paint.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QEvent, QObject, Signal
from PySide6.QtWidgets import QComboBox, QLabel, QProgressBar, QToolBar, QWidget

from hearth.ui.model_picker import ModelPicker, budget_text, format_gb
from hearth.ui.operations.models import ModelController, ModelState

if TYPE_CHECKING:
    from hearth.assistant.workspace import Workspace
    from hearth.models.catalogue import ModelInfo
    from hearth.settings import Settings
    from hearth.ui.get_models_dialog import GetModelsDialog


class ListOnArrowKeys(QObject):
    """On a closed combo box, the arrow keys open its list instead of choosing the next
    entry: a keyboard user moving through the models must not load each one on the way."""

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() != QEvent.Type.KeyPress or not isinstance(watched, QComboBox):
            return False
        from PySide6.QtCore import Qt  # after the first paint: a key was pressed
        from PySide6.QtGui import QKeyEvent
        from PySide6.QtWidgets import QApplication

        if QApplication.activePopupWidget() is not None:
            return False  # the list is open: the keys are its own

        assert isinstance(event, QKeyEvent)
        moves = (Qt.Key.Key_Up, Qt.Key.Key_Down, Qt.Key.Key_PageUp, Qt.Key.Key_PageDown)
        if event.key() in moves and not event.modifiers() & Qt.KeyboardModifier.AltModifier:
            watched.showPopup()
            return True
        return False


class ModelToolbar(QToolBar):
    problem = Signal(str, str)  # title, one-line message
    status = Signal(str)
    settings_applied = Signal(object)  # the Settings, as saved

    def __init__(self, workspace: Workspace, models: ModelController) -> None:
        super().__init__("Main")
        self.workspace = workspace
        self.models = models
        self.setMovable(False)
        model_label = QLabel(" Model: ")
        self.addWidget(model_label)
        self.picker = ModelPicker()
        model_label.setBuddy(self.picker)
        self.picker.setAccessibleName("Model")
        self._picker_keys = ListOnArrowKeys(self)
        self.picker.installEventFilter(self._picker_keys)
        self.picker.setAccessibleDescription(
            "The model that answers; Alt+Down or F4 lists the others, Enter loads the one chosen"
        )
        self.addWidget(self.picker)
        self.busy = QProgressBar()
        self.busy.setRange(0, 0)
        self.busy.setMaximumWidth(120)
        self.busy.setAccessibleName("Model progress")
        # A toolbar shows or hides its widgets through their actions, not the widgets.
        self.busy_action = self.addWidget(self.busy)
        self.busy_action.setVisible(False)
        # The window's status line: what an answer is doing, else the model's state.
        self.label = QLabel("")
        self.label.setObjectName("activity")
        self._state_label = ""  # the model's state, shown when no answer is running
        self._activity = ""  # what the answer being written is doing ("" when none is)
        self.addWidget(self.label)
        spacer = QWidget()
        spacer.setSizePolicy(
            spacer.sizePolicy().horizontalPolicy().Expanding, spacer.sizePolicy().verticalPolicy()
        )
        self.addWidget(spacer)
        # The toolbar makes the action: measured at 0.2 ms, against 1.5-2 ms for the first
        # QAction constructed from Python on the way to the first window.
        self.settings_action = self.addAction("Settings…")
        self.settings_action.triggered.connect(self.open_settings)
        self.picker.model_chosen.connect(self.switch_model)
        self.picker.add_requested.connect(self.choose_model_file)
        self.picker.get_models_requested.connect(self.open_get_models)
        self.get_models: GetModelsDialog | None = None  # made when first opened, then kept
        self.picker.set_up_requested.connect(models.set_up)
        models.state_changed.connect(self._state)
        models.progress.connect(self._progress)
        models.ready.connect(self._ready)
        models.failed.connect(self._failed)
        models.added.connect(self._added)

    def refresh(self) -> None:
        from hearth.models.bundled import BUNDLED_MODELS, installable_models, recommended_model

        catalogue = self.workspace.catalogue
        active = self.workspace.active_model
        self.picker.show_models(
            catalogue.list(),
            active.id if active else catalogue.default_id(),
            self.workspace.settings.n_ctx,
            self.workspace.memory_budget(),
            recommended_id=recommended_model().id,
            installable=[(m.id, m.title, m.size_bytes) for m in installable_models(catalogue)],
            trade_offs={m.id: m.trade_off for m in BUNDLED_MODELS if m.trade_off},
        )

    def _state(self, state: ModelState, label: str) -> None:
        self.busy_action.setVisible(state in (ModelState.LOADING, ModelState.SETTING_UP))
        if state is not ModelState.SETTING_UP:
            self.busy.setRange(0, 0)
        self._state_label = label
        self.label.setText(self._activity or label)

    def show_activity(self, label: str) -> None:
        """What the model is doing for an answer ("Searching your documents…"); "" when
        it is done, which shows the model's own state again."""
        self._activity = label
        self.label.setText(label or self._state_label)

    def _progress(self, done: int, total: int, label: str) -> None:
        self.busy.setRange(0, 1000)
        self.busy.setValue(int(1000 * done / max(1, total)))
        self.label.setText(f"{label}: {100 * done // max(1, total)}%")

    def _ready(self, model: ModelInfo) -> None:
        self.refresh()
        self.picker.set_active(model.id)
        self.status.emit(f"{model.name} is ready")

    def _failed(self, title: str, message: str) -> None:
        self.picker.revert()
        self.problem.emit(title, message)

    def _added(self, model: ModelInfo) -> None:
        self.refresh()
        self.status.emit(f"Added {model.name}")

    def switch_model(self, model: ModelInfo, insist: bool = False) -> None:
        """Load ``model``, asking first when it needs more memory than is free."""
        from PySide6.QtWidgets import QMessageBox

        from hearth.models.catalogue import memory_fit

        estimate = model.ram_estimate(self.workspace.settings.n_ctx)
        budget = self.workspace.memory_budget()
        if memory_fit(estimate, budget) > 1.0 and not insist:
            answer = QMessageBox.question(
                self,
                "Not enough memory",
                f"{model.name} needs about {format_gb(estimate.total_bytes)}, more than this "
                f"computer has free right now ({budget_text(budget)}). Loading it may make "
                "the computer very slow or fail.\n\nLoad it anyway?",
            )
            if answer != QMessageBox.StandardButton.Yes:
                self.picker.revert()
                return
        self.models.switch(model)

    def open_settings(self) -> None:
        from hearth.ui.settings_dialog import SettingsDialog

        dialog = SettingsDialog(self.workspace.settings, self.window())
        if dialog.exec() and dialog.result_settings is not None:
            self.apply_settings(dialog.result_settings)

    def apply_settings(self, settings: Settings) -> None:
        self.models.apply_settings(settings)
        self.refresh()
        self.settings_applied.emit(settings)

    def open_get_models(self) -> None:
        """The Get models dialog; its downloads go on while it is closed."""
        if self.get_models is None:
            from hearth.ui.get_models_dialog import GetModelsDialog

            self.get_models = GetModelsDialog(self.workspace, self.window())
            self.get_models.installed.connect(self._added)
            self.get_models.use_requested.connect(self.switch_model)
        self.get_models.show()
        self.get_models.raise_()

    def choose_model_file(self) -> None:
        from PySide6.QtWidgets import QFileDialog

        path, _ = QFileDialog.getOpenFileName(self, "Add a GGUF model", "", "GGUF models (*.gguf)")
        if path:
            self.models.add(Path(path))
