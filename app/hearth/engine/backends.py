"""Registering llama.cpp's CPU backend before the first model loads.

Hearth's install builds llama.cpp with GGML_BACKEND_DL: the CPU backend is not linked in
but is one of several modules beside the library (libggml-cpu-haswell.so, -icelake.so, ...,
each built for a family of CPUs). ggml scores each against the CPU it runs on and loads the
best one that runs here. It only looks beside the executable and in the working directory,
so Hearth points it at llama-cpp-python's own library folder, once per process.
"""

from __future__ import annotations

import ctypes
import threading
from pathlib import Path

_lock = threading.Lock()
_loaded = False


def llama_library_folder() -> Path:
    import llama_cpp

    return Path(llama_cpp.__file__).parent / "lib"


def load_cpu_backends() -> None:
    """Load the best CPU backend module for this CPU (a no-op for a build that links one)."""
    global _loaded
    with _lock:
        if _loaded:
            return
        from llama_cpp.llama_cpp import _lib as libllama

        # Looked up through libllama, so the registry is the one libllama uses: the wheel
        # holds copies (not links) of libggml.so and libggml.so.0, each a library of its own.
        load_all = libllama.ggml_backend_load_all_from_path
        load_all.argtypes = [ctypes.c_char_p]
        load_all.restype = None
        load_all(str(llama_library_folder()).encode())
        _loaded = True
