"""`hearth doctor`: what a bug report needs, in one paste.

Hearth's version, this computer (CPU extensions, cores, memory, Vulkan devices), how
llama.cpp was built (the install's build record) and what it reports using here, where the
last model ran, the folders, and each model with its checksum state. With the engine check,
the default model is loaded in the engine host, which decodes a few tokens: a llama.cpp
that cannot run on this CPU (or GPU) shows up here.
"""

from __future__ import annotations

import json
import platform
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any

from hearth import __version__
from hearth.machine import cpu_description, logical_cores, total_memory_bytes
from hearth.paths import hearth_paths

BUILD_RECORD = "hearth-build.json"


def llama_build_record() -> dict[str, Any] | None:
    """What scripts/_install.sh recorded beside the library it built (None if it did not)."""
    import llama_cpp

    record = Path(llama_cpp.__file__).parent / "lib" / BUILD_RECORD
    try:
        value = json.loads(record.read_text("utf-8"))
    except (OSError, ValueError):
        return None
    return value if isinstance(value, dict) else None


def model_states() -> list[dict[str, Any]]:
    """Every installed model, and each bundled one not set up, with its checksum state."""
    from hearth.models.bundled import bundled_model, file_matches, installable_models
    from hearth.models.catalogue import ModelCatalogue

    catalogue = ModelCatalogue()
    states: list[dict[str, Any]] = []
    for model in catalogue.list():
        bundled = bundled_model(model.id)
        if bundled is None:
            checksum = "added by the user (no pinned checksum)"
        elif file_matches(bundled, model.path):
            checksum = "matches the pinned SHA-256"
        else:
            checksum = "DOES NOT MATCH the pinned SHA-256: remove it and run Hearth again"
        states.append(
            {
                "id": model.id,
                "path": str(model.path),
                "default": model.is_default,
                "checksum": checksum,
            }
        )
    for bundled in installable_models(catalogue):
        states.append(
            {
                "id": bundled.id,
                "path": None,
                "default": False,
                "checksum": "not set up (its packages are installed)",
            }
        )
    return states


def engine_check() -> dict[str, Any]:
    """Load the default model in a fresh engine host, which decodes a few tokens."""
    from hearth.assistant.workspace import gpu_choice
    from hearth.engine.client import EngineClient
    from hearth.engine.errors import EngineError
    from hearth.models.bundled import ensure_bundled_models
    from hearth.models.catalogue import ModelCatalogue, ModelError
    from hearth.settings import load_settings

    settings = load_settings()
    started = time.perf_counter()
    client = EngineClient()
    try:
        catalogue = ModelCatalogue()
        ensure_bundled_models(catalogue)
        model = catalogue.default()
        status = client.load(
            model.path, min(settings.n_ctx, 2048), settings.n_threads, gpu_choice(settings)
        )
        return {
            "model": model.id,
            "ok": True,
            "device": status.device_summary(),
            "gpu_devices": list(status.gpu_devices),
            "gpu_note": status.gpu_note,
            "self_check_tokens_per_s": round(status.self_check_tokens_per_s or 0.0, 1),
            "seconds": round(time.perf_counter() - started, 2),
            "system_info": client.system_info,
        }
    except (EngineError, ModelError) as error:
        return {"ok": False, "error": str(error), "system_info": client.system_info}
    finally:
        client.close()


def doctor_report(check_engine: bool = True) -> dict[str, Any]:
    import llama_cpp

    from hearth.engine.backends import vulkan_backend_file
    from hearth.engine.gpu import last_load
    from hearth.engine.host import llama_system_info
    from hearth.engine.vulkan import vulkan_devices

    paths = hearth_paths()
    cpu = cpu_description()
    # First: the check sets up the bundled models on a first start, which the list shows.
    last = last_load()  # read before the check's own load replaces it
    engine = engine_check() if check_engine else None
    return {
        "hearth": __version__,
        "python": platform.python_version(),
        "system": f"{platform.system()} {platform.release()} {platform.machine()}",
        "cpu": cpu.name,
        "cpu_features": cpu.llama_flags,
        "cores": logical_cores(),
        "memory_bytes": total_memory_bytes(),
        "vulkan_devices": [asdict(device) for device in vulkan_devices()],
        "vulkan_backend": vulkan_backend_file().is_file(),
        "last_load": last,
        "llama_cpp_python": llama_cpp.__version__,
        "llama_cpp_build": llama_build_record(),
        # Compile-time features of the library, read in this process (nothing decodes here).
        "llama_cpp_system_info": llama_system_info(),
        "data_folder": str(paths.data),
        "models_folder": str(paths.models),
        "index_folder": str(paths.index),
        "log_file": str(paths.logs / "hearth.log"),
        "models": model_states(),
        "engine": engine,
    }


def format_report(report: dict[str, Any]) -> str:
    build = report["llama_cpp_build"]
    flags = " ".join(build["cmake_args"]) if build else "no build record (not installed by Hearth)"
    memory_gb = report["memory_bytes"] / 1024**3
    lines = [
        f"Hearth {report['hearth']} (Python {report['python']}, {report['system']})",
        f"CPU: {report['cpu']}, {report['cores']} cores, {memory_gb:.1f} GB memory",
        f"CPU features: {' '.join(report['cpu_features']) or 'no AVX'}",
        *vulkan_lines(report),
        f"llama-cpp-python {report['llama_cpp_python']}, built with: {flags}",
        f"llama.cpp system info: {report['llama_cpp_system_info']}",
        f"Data folder: {report['data_folder']}",
        f"Models folder: {report['models_folder']}",
        f"Index folder: {report['index_folder']}",
        f"Log file: {report['log_file']}",
        "Models:",
    ]
    for model in report["models"]:
        marker = "*" if model["default"] else " "
        lines.append(f"  {marker} {model['id']}: {model['checksum']}")
    engine = report["engine"]
    if engine is None:
        lines.append("Engine check: skipped")
    elif engine["ok"]:
        lines.append(
            f"Engine check: {engine['model']} loaded and decoded its first tokens on "
            f"{engine['device'] or 'the CPU'} ({engine['self_check_tokens_per_s']} tokens/s; "
            f"{engine['seconds']} s in all)"
        )
        if engine["gpu_note"]:
            lines.append(f"  GPU: {engine['gpu_note']}")
    else:
        lines.append(f"Engine check: FAILED: {engine['error']}")
    return "\n".join(lines)


def vulkan_lines(report: dict[str, Any]) -> list[str]:
    """The Vulkan devices, whether llama.cpp's Vulkan backend is installed, and where the
    last model ran."""
    devices = report["vulkan_devices"]
    backend = "installed" if report["vulkan_backend"] else "not built (./scripts/run --vulkan)"
    lines = [f"Vulkan devices ({len(devices)}; llama.cpp's Vulkan backend {backend}):"]
    for device in devices:
        memory = f"{device['memory_bytes'] / 1024**3:.1f} GB"
        if device["free_bytes"] is not None:
            memory += f", {device['free_bytes'] / 1024**3:.1f} GB free"
        not_gpu = " (the CPU itself: not used)" if device["kind"] == "CPU" else ""
        lines.append(
            f"  {device['index']}: {device['name']}, {device['kind']}{not_gpu}; "
            f"driver {device['driver']}; {memory}"
        )
    if not devices:
        lines.append("  none (no Vulkan driver, or no libvulkan.so.1)")
    last = report["last_load"]
    if last:
        note = f"; {last['note']}" if last.get("note") else ""
        lines.append(
            f"Last load: {last['model']} on {last['device'] or 'the CPU'} ({last['at']}{note})"
        )
    else:
        lines.append("Last load: none yet")
    return lines
