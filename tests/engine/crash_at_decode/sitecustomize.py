"""Loaded by every Python process started with this folder on PYTHONPATH (tests only).

Makes llama.cpp's decode dereference a null pointer, as the AMX build did on some Xeons
(ggml-org/llama.cpp#20824): loading a model still works, the first decode dies with
SIGSEGV. Nothing in Hearth knows about this file.
"""

import ctypes
import importlib.abc
import importlib.machinery
import sys


def _crash(*_args, **_kwargs):
    ctypes.string_at(0)


class _PatchLlamaDecode(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path, target=None):
        if name != "llama_cpp.llama_cpp":
            return None
        sys.meta_path.remove(self)
        spec = importlib.machinery.PathFinder.find_spec(name, path)
        if spec is None or spec.loader is None:
            return spec
        original_exec = spec.loader.exec_module

        def exec_module(module):
            original_exec(module)
            module.llama_decode = _crash

        spec.loader.exec_module = exec_module
        return spec


sys.meta_path.insert(0, _PatchLlamaDecode())
