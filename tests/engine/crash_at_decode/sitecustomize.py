"""Loaded by every Python process started with this folder on PYTHONPATH (tests only).

Makes llama.cpp's decode dereference a null pointer, as the AMX build did on some Xeons
(ggml-org/llama.cpp#20824): loading a model still works, the first decode dies with
SIGSEGV. Nothing in Hearth knows about this file.
"""

from __future__ import annotations

import ctypes
import importlib.abc
import importlib.machinery
import sys
from collections.abc import Sequence
from types import ModuleType


def _crash(*_args: object, **_kwargs: object) -> None:
    ctypes.string_at(0)


class _PatchLlamaDecode(importlib.abc.MetaPathFinder):
    def find_spec(
        self,
        name: str,
        path: Sequence[str] | None,
        target: ModuleType | None = None,
    ) -> importlib.machinery.ModuleSpec | None:
        if name != "llama_cpp.llama_cpp":
            return None
        sys.meta_path.remove(self)
        spec = importlib.machinery.PathFinder.find_spec(name, path)
        if spec is None or spec.loader is None:
            return spec
        original_exec = spec.loader.exec_module

        def exec_module(module: ModuleType) -> None:
            original_exec(module)
            vars(module)["llama_decode"] = _crash  # the ctypes binding, replaced by name

        # This one loader instance is patched, so the module it makes has the bad decode.
        spec.loader.exec_module = exec_module  # type: ignore[method-assign]
        return spec


sys.meta_path.insert(0, _PatchLlamaDecode())
