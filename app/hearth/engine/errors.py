"""Typed engine errors; str() of each is a plain one-line message for the user."""

from __future__ import annotations

from hearth.errors import HearthError


class EngineError(HearthError):
    """Base class for everything the engine reports."""


class EngineCrashed(EngineError):
    """The host process died (segfault, out of memory, killed). The next request restarts it."""


class EngineUnfitForCpu(EngineCrashed):
    """llama.cpp loaded the model, then crashed decoding its first tokens: the build does
    not run on this computer's CPU (e.g. ggml-org/llama.cpp#20824 on AMX Xeons)."""


class ModelLoadError(EngineError):
    """llama.cpp could not load the model file."""


class NoModelLoaded(EngineError):
    """A request needs a model, but none is loaded."""


class GenerationError(EngineError):
    """The host reported an error while generating."""


ERROR_TYPES: dict[str, type[EngineError]] = {
    cls.__name__: cls for cls in (EngineError, ModelLoadError, NoModelLoaded, GenerationError)
}
