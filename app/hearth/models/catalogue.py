"""The models the user has: GGUF files in the models folder, plus which one is default.

The folder is the truth (a file dropped into it by hand shows up); a small JSON file in
the config folder only remembers the default. Model IDs are the file stem, which is
unique inside one folder and easy to type on the command line.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hearth.errors import HearthError
from hearth.models.gguf_metadata import GGUFFormatError, GGUFMetadata, read_gguf_metadata
from hearth.models.metadata_cache import MetadataCache
from hearth.models.ram import RamEstimate, available_memory_bytes, estimate_ram
from hearth.paths import HearthPaths, hearth_paths

log = logging.getLogger(__name__)

DEFAULT_ESTIMATE_CONTEXT = 4096


class ModelError(HearthError):
    """A model operation failed; str() is a one-line message for the user."""


class InvalidModelFile(ModelError):
    def __init__(self, path: Path, reason: str) -> None:
        super().__init__(f"{path}: {reason}")
        self.path = path
        self.reason = reason


class UnknownModel(ModelError):
    pass


@dataclass(frozen=True)
class ModelInfo:
    id: str
    path: Path
    metadata: GGUFMetadata
    is_default: bool

    @property
    def name(self) -> str:
        return self.metadata.name

    @property
    def has_chat_template(self) -> bool:
        return self.metadata.chat_template is not None

    def ram_estimate(self, n_ctx: int = DEFAULT_ESTIMATE_CONTEXT) -> RamEstimate:
        return estimate_ram(self.metadata, n_ctx)

    def to_json(self, n_ctx: int = DEFAULT_ESTIMATE_CONTEXT) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "path": str(self.path),
            "architecture": self.metadata.architecture,
            "size_label": self.metadata.size_label,
            "quantization": self.metadata.quantization,
            "context_length": self.metadata.context_length,
            "file_size_bytes": self.metadata.file_size,
            "has_chat_template": self.has_chat_template,
            "is_default": self.is_default,
            "estimated_ram_bytes": self.ram_estimate(n_ctx).total_bytes,
        }


def memory_fit(estimate: RamEstimate, available: int | None = None) -> float:
    """Share of currently available memory a load would take (above 1.0 will not fit)."""
    available = available_memory_bytes() if available is None else available
    return estimate.total_bytes / max(1, available)


# Whether llama.cpp can load a file: None when it can, else the reason in one line. The
# engine provides it (hearth.engine.probe.probe_model_file); models sit below the engine.
ModelProbe = Callable[[Path], "str | None"]


class ModelCatalogue:
    def __init__(self, paths: HearthPaths | None = None, probe: ModelProbe | None = None) -> None:
        """``probe`` checks a file before ``add`` brings it in (without one, only the GGUF
        header is checked)."""
        self.paths = paths or hearth_paths()
        self.probe = probe
        self.folder = self.paths.models
        self.metadata_cache = MetadataCache(self.paths.cache / "gguf-metadata.json")

    # -- state file -------------------------------------------------------------------
    def _read_state(self) -> dict[str, Any]:
        try:
            state = json.loads(self.paths.catalogue_file.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}
        return state if isinstance(state, dict) else {}

    def _write_state(self, state: dict[str, Any]) -> None:
        temporary = self.paths.catalogue_file.with_suffix(".tmp")
        temporary.write_text(json.dumps(state, indent=2), encoding="utf-8")
        os.replace(temporary, self.paths.catalogue_file)

    # -- queries ----------------------------------------------------------------------
    def default_id(self) -> str | None:
        value = self._read_state().get("default")
        return str(value) if value else None

    def default_chosen_by_user(self) -> bool | None:
        """Whether the user picked the default (None: a state file older than the flag)."""
        state = self._read_state()
        if "default_chosen_by_user" not in state:
            return None if state.get("default") else False
        return bool(state["default_chosen_by_user"])

    def was_set_up(self, model_id: str) -> bool:
        """Whether Hearth has set up this bundled model here before (a model the user removed
        afterwards is not set up again)."""
        return model_id in self._read_state().get("set_up", [])

    def mark_set_up(self, model_id: str) -> None:
        state = self._read_state()
        done = [str(m) for m in state.get("set_up", []) if m != model_id]
        state["set_up"] = [*done, model_id]
        self._write_state(state)

    def list(self) -> list[ModelInfo]:
        default = self.default_id()
        models: list[ModelInfo] = []
        for path in sorted(self.folder.glob("*.gguf")):
            try:
                metadata = self.metadata_cache.read(path)
            except (GGUFFormatError, OSError) as error:
                log.warning("skipping %s: %s", path, error)
                continue
            models.append(ModelInfo(path.stem, path, metadata, path.stem == default))
        return models

    def get(self, model_id: str) -> ModelInfo:
        for model in self.list():
            if model.id == model_id:
                return model
        raise UnknownModel(f"no model with id '{model_id}' (see 'hearth models list')")

    def default(self) -> ModelInfo:
        models = self.list()
        if not models:
            raise UnknownModel("no models installed")
        default = self.default_id()
        for model in models:
            if model.id == default:
                return model
        return models[0]

    def resolve(self, model_id: str | None) -> ModelInfo:
        return self.default() if model_id is None else self.get(model_id)

    # -- changes ----------------------------------------------------------------------
    def set_default(self, model_id: str, chosen_by_user: bool = True) -> ModelInfo:
        model = self.get(model_id)
        state = self._read_state()
        state["default"] = model.id
        state["default_chosen_by_user"] = chosen_by_user
        self._write_state(state)
        return ModelInfo(model.id, model.path, model.metadata, True)

    def add(self, source: Path) -> ModelInfo:
        """Validate ``source`` and bring it into the models folder (hard link, else copy)."""
        source = source.expanduser()
        if not source.is_file():
            raise InvalidModelFile(source, "no such file")
        try:
            metadata = read_gguf_metadata(source)
        except GGUFFormatError as error:
            raise InvalidModelFile(source, str(error)) from error
        problem = self.probe(source) if self.probe is not None else None
        if problem:
            raise InvalidModelFile(source, problem)
        target = self.folder / (source.stem + ".gguf")
        if target.exists():
            if target.resolve() == source.resolve() or _same_file(target, source):
                return self.get(target.stem)
            raise InvalidModelFile(source, f"a different model named {target.name} is installed")
        partial = target.with_suffix(".gguf.partial")
        try:
            try:
                os.link(source, partial)
            except OSError:
                shutil.copyfile(source, partial)
            os.replace(partial, target)
        except OSError as error:
            partial.unlink(missing_ok=True)
            raise InvalidModelFile(source, f"could not copy it ({error.strerror})") from error
        log.info("added model %s (%s)", target.stem, metadata.name)
        return self.get(target.stem)

    def remove(self, model_id: str) -> None:
        model = self.get(model_id)
        model.path.unlink()
        self.metadata_cache.forget(model.path)
        state = self._read_state()
        if state.get("default") == model_id:
            state.pop("default")
            state["default_chosen_by_user"] = False
            self._write_state(state)


def _same_file(a: Path, b: Path) -> bool:
    try:
        return a.stat().st_size == b.stat().st_size and a.samefile(b)
    except OSError:
        return False
