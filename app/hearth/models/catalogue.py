"""The models the user has: GGUF files in the models folder, plus which one is default.

The folder is the truth (a file dropped into it by hand shows up); a small JSON file in
the config folder only remembers the default. Model IDs are the file stem, which is
unique inside one folder and easy to type on the command line.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any

from hearth.errors import HearthError
from hearth.models.gguf_metadata import GGUFFormatError, GGUFMetadata, read_gguf_metadata
from hearth.models.metadata_cache import MetadataCache
from hearth.models.naming import clean_model_name, name_from_file, split_part
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
        """The model's name as its makers write it, without formats or quantisations
        that are not this file's ("Qwen2.5 Coder 0.5B Instruct")."""
        named = self.metadata.get("general.name")
        if not named:
            return name_from_file(self.path.name)
        return clean_model_name(str(named), self.metadata.size_label)

    @property
    def label(self) -> str:
        """The name and the file's own quantisation: "Qwen2.5 Coder 0.5B Instruct · Q4_K_M"."""
        return f"{self.name} · {self.metadata.quantization}"

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


@dataclass(frozen=True)
class MemoryBudget:
    """What a model may take now: the available RAM, and the free memory of GPUs that have
    their own (VRAM; 0 without one), where llama.cpp puts the layers that fit."""

    ram_bytes: int
    vram_bytes: int = 0

    @property
    def total_bytes(self) -> int:
        return self.ram_bytes + self.vram_bytes


def memory_fit(estimate: RamEstimate, budget: MemoryBudget | None = None) -> float:
    """Share of ``budget`` (default: the RAM available now) a load would take (above 1.0
    will not fit)."""
    budget = MemoryBudget(available_memory_bytes()) if budget is None else budget
    return estimate.total_bytes / max(1, budget.total_bytes)


class MemoryFit(StrEnum):
    """Whether a model suits this computer's memory, before it is downloaded."""

    FITS = "fits"
    TIGHT = "tight"
    WONT_FIT = "won't fit"


# Shares of the computer's whole memory: a model within half of it leaves room for the
# desktop and a browser; up to three quarters it runs with little else open.
FITS_SHARE = 0.5
TIGHT_SHARE = 0.75


def fit_on_this_computer(estimate: RamEstimate, total_memory: int) -> MemoryFit:
    share = estimate.total_bytes / max(1, total_memory)
    if share <= FITS_SHARE:
        return MemoryFit.FITS
    if share <= TIGHT_SHARE:
        return MemoryFit.TIGHT
    return MemoryFit.WONT_FIT


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
            part = split_part(path.name)
            if part is not None and part.index != 1:
                continue  # a split model is listed once, by its first part
            try:
                metadata = self.metadata_cache.read(path)
                if part is not None:
                    metadata = self._whole_split(path, metadata)
            except (GGUFFormatError, OSError) as error:
                log.warning("skipping %s: %s", path, error)
                continue
            models.append(ModelInfo(path.stem, path, metadata, path.stem == default))
        return models

    def _whole_split(self, first: Path, metadata: GGUFMetadata) -> GGUFMetadata:
        """A split model's metadata with every part's bytes counted (llama.cpp loads the
        parts beside the first); raises OSError while a part is missing."""
        part = split_part(first.name)
        assert part is not None
        others = [first.with_name(part.name_of(index)) for index in range(2, part.count + 1)]
        missing = [other.name for other in others if not other.is_file()]
        if missing:
            raise OSError(f"part {missing[0]} of this split model is missing")
        extra = sum(other.stat().st_size for other in others)
        return dataclasses.replace(
            metadata,
            file_size=metadata.file_size + extra,
            weights_bytes=metadata.weights_bytes + extra,
        )

    def files_of(self, model: ModelInfo) -> tuple[Path, ...]:
        """The files a model is made of: one, or a split model's parts."""
        part = split_part(model.path.name)
        if part is None:
            return (model.path,)
        return tuple(model.path.with_name(part.name_of(i)) for i in range(1, part.count + 1))

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
        for path in self.files_of(model):
            path.unlink(missing_ok=True)
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
