"""Model switching, apart from any widget: the first start's set-up of the bundled models,
loading the default, switching, and adding a GGUF file.

A switch loads the new model in a second engine host while the current one keeps
answering, then swaps (Workspace.load_model); if the load fails, nothing changes and the
reason is reported in one line. First start assembles the bundled models (1.6 GB) with
progress instead of a silent pause.
"""

from __future__ import annotations

import logging
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QObject, Signal

from hearth.ui.tasks import BackgroundTask, TaskContext, error_message

if TYPE_CHECKING:
    from hearth.assistant.workspace import Workspace
    from hearth.models.catalogue import ModelInfo
    from hearth.settings import Settings

log = logging.getLogger(__name__)


class ModelState(StrEnum):
    NONE = "none"
    SETTING_UP = "setting up"
    LOADING = "loading"
    READY = "ready"
    FAILED = "failed"


class ModelController(QObject):
    state_changed = Signal(object, str)  # ModelState, label for the toolbar
    progress = Signal(int, int, str)  # first-start set-up of the bundled models
    ready = Signal(object)  # ModelInfo
    failed = Signal(str, str)  # title, one-line reason (the current model stays)
    added = Signal(object)  # ModelInfo

    def __init__(self, workspace: Workspace, run: Any, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.workspace = workspace
        self._run = run
        self.state = ModelState.NONE
        self.task: BackgroundTask | None = None

    def _set_state(self, state: ModelState, label: str = "") -> None:
        self.state = state
        self.state_changed.emit(state, label)

    @property
    def busy(self) -> bool:
        return self.task is not None and self.task.running

    def load_default(self) -> None:
        workspace = self.workspace

        def load(context: TaskContext) -> ModelInfo:
            return workspace.ensure_model_loaded(context.progress)

        task = BackgroundTask("load the default model", load)
        task.progressed.connect(self._setting_up)
        self._start(task, "Loading model…")

    def _setting_up(self, done: int, total: int, label: str) -> None:
        if self.state is not ModelState.SETTING_UP:
            self._set_state(ModelState.SETTING_UP, label)
        self.progress.emit(done, total, label)

    def switch(self, model: ModelInfo) -> None:
        workspace = self.workspace

        def load(context: TaskContext) -> ModelInfo:
            workspace.load_model(model)
            return model

        self._start(BackgroundTask(f"load {model.id}", load), f"Loading {model.name}…")

    def set_up(self, bundled_id: str) -> None:
        """Assemble a bundled model the user asked for (e.g. the Gemma base model), then
        switch to it."""
        from hearth.models.bundled import bundled_model, set_up_model

        workspace = self.workspace
        bundled = bundled_model(bundled_id)
        if bundled is None:
            return

        def set_up_and_load(context: TaskContext) -> ModelInfo:
            path = set_up_model(workspace.catalogue, bundled, context.progress)
            model = workspace.catalogue.get(path.stem)
            workspace.load_model(model)
            return model

        task = BackgroundTask(f"set up {bundled.id}", set_up_and_load)
        task.progressed.connect(self._setting_up)
        self._start(task, f"Setting up {bundled.title}…")

    def apply_settings(self, settings: Settings) -> None:
        """Save ``settings``; the model reloads when one of the engine's own values changed."""
        before = self.workspace.settings
        self.workspace.save_settings(settings)
        engine = ("n_ctx", "n_threads", "gpu")
        if any(getattr(before, name) != getattr(settings, name) for name in engine):
            self.reload()

    def reload(self) -> None:
        """The active model again, with new engine settings (context, threads)."""
        if self.workspace.active_model is not None:
            self.switch(self.workspace.active_model)

    def _start(self, task: BackgroundTask, label: str) -> None:
        self._set_state(ModelState.LOADING, label)
        task.succeeded.connect(self._ready)
        task.failed.connect(self._failed)
        self.task = task
        self._run(task)

    def _ready(self, model: ModelInfo) -> None:
        self._set_state(ModelState.READY, "Ready")
        self.ready.emit(model)

    def _failed(self, error: BaseException) -> None:
        active = self.workspace.active_model
        self._set_state(ModelState.READY if active else ModelState.FAILED, "")
        kept = f" {active.name} is still in use." if active else ""
        self.failed.emit("The model could not be loaded", f"{error_message(error)}.{kept}")

    def add(self, path: Path) -> None:
        """Bring a GGUF file into the models folder (checked by llama.cpp first)."""
        workspace = self.workspace

        def add(context: TaskContext) -> ModelInfo:
            return workspace.catalogue.add(path)

        task = BackgroundTask(f"add model {path.name}", add)
        task.succeeded.connect(self.added.emit)
        task.failed.connect(
            lambda error: self.failed.emit("The model could not be added", error_message(error))
        )
        self._run(task)
