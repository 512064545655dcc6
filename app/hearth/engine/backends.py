"""Registering llama.cpp's backends before the first model loads.

Hearth's install builds llama.cpp with GGML_BACKEND_DL: the CPU backend is not linked in
but is one of several modules beside the library (libggml-cpu-haswell.so, -icelake.so, ...,
each built for a family of CPUs). ggml scores each against the CPU it runs on and loads the
best one that runs here. It only looks beside the executable and in the working directory,
so Hearth points it at llama-cpp-python's own library folder, once per process.

The Vulkan backend, where the install built it, lies in a folder of its own (lib/vulkan),
which ggml's scan does not reach: it is loaded only by a process that may use a GPU, so
"--gpu off" never starts a Vulkan driver.
"""

from __future__ import annotations

import ctypes
import importlib.util
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

_lock = threading.Lock()
_cpu_loaded = False
_vulkan_loaded = False
# ggml_backend_dev_type: what a device is.
_DEVICE_TYPE_GPU = 1
_DEVICE_TYPE_IGPU = 2


def llama_library_folder() -> Path:
    """llama-cpp-python's library folder, found without importing it (which loads
    llama.cpp: the window's process never needs to)."""
    spec = importlib.util.find_spec("llama_cpp")
    if spec is not None and spec.origin:
        return Path(spec.origin).parent / "lib"
    import llama_cpp

    return Path(llama_cpp.__file__).parent / "lib"


def vulkan_backend_file() -> Path:
    """Where the install puts llama.cpp's Vulkan backend (absent where it built none)."""
    return llama_library_folder() / "vulkan" / "libggml-vulkan.so"


def _ggml_function(name: str, restype: Any, *argtypes: Any) -> Any:
    # Looked up through libllama, so the registry is the one libllama uses: the wheel
    # holds copies (not links) of libggml.so and libggml.so.0, each a library of its own.
    from llama_cpp.llama_cpp import _lib as libllama

    function = getattr(libllama, name)
    function.argtypes = list(argtypes)
    function.restype = restype
    return function


def load_cpu_backends() -> None:
    """Load the best CPU backend module for this CPU (a no-op for a build that links one)."""
    global _cpu_loaded
    with _lock:
        if _cpu_loaded:
            return
        load_all = _ggml_function("ggml_backend_load_all_from_path", None, ctypes.c_char_p)
        load_all(str(llama_library_folder()).encode())
        _cpu_loaded = True


def load_vulkan_backend() -> bool:
    """Register the Vulkan backend with ggml, once; False where the install built none or
    this computer cannot load it (no Vulkan loader). Call after load_cpu_backends."""
    global _vulkan_loaded
    with _lock:
        if _vulkan_loaded:
            return True
        path = vulkan_backend_file()
        if not path.is_file():
            return False
        load = _ggml_function("ggml_backend_load", ctypes.c_void_p, ctypes.c_char_p)
        _vulkan_loaded = bool(load(str(path).encode()))
        return _vulkan_loaded


@dataclass(frozen=True)
class GpuDevice:
    """A GPU that llama.cpp will use (ggml's name "Vulkan0"; its description is the
    device's own name)."""

    name: str
    description: str
    free_bytes: int
    total_bytes: int


def gpu_devices() -> list[GpuDevice]:
    """The GPU devices registered with ggml (none before load_vulkan_backend). llama.cpp
    offloads to all of them; ggml's Vulkan backend leaves out CPU devices such as lavapipe
    unless GGML_VK_VISIBLE_DEVICES names them."""
    count = _ggml_function("ggml_backend_dev_count", ctypes.c_size_t)
    get = _ggml_function("ggml_backend_dev_get", ctypes.c_void_p, ctypes.c_size_t)
    kind = _ggml_function("ggml_backend_dev_type", ctypes.c_int, ctypes.c_void_p)
    name = _ggml_function("ggml_backend_dev_name", ctypes.c_char_p, ctypes.c_void_p)
    description = _ggml_function("ggml_backend_dev_description", ctypes.c_char_p, ctypes.c_void_p)
    memory = _ggml_function(
        "ggml_backend_dev_memory", None, ctypes.c_void_p, ctypes.c_void_p, ctypes.c_void_p
    )
    devices = []
    for index in range(count()):
        device = ctypes.c_void_p(get(index))
        if kind(device) not in (_DEVICE_TYPE_GPU, _DEVICE_TYPE_IGPU):
            continue
        free, total = ctypes.c_size_t(0), ctypes.c_size_t(0)
        memory(device, ctypes.byref(free), ctypes.byref(total))
        devices.append(
            GpuDevice(
                name=(name(device) or b"").decode("utf-8", "replace"),
                description=(description(device) or b"").decode("utf-8", "replace"),
                free_bytes=int(free.value),
                total_bytes=int(total.value),
            )
        )
    return devices
