"""What this computer is: CPU model and vector extensions, cores, memory.

Read for the log when llama.cpp crashes, for `hearth doctor`, and to choose the default
model. Linux reads /proc/cpuinfo; elsewhere only what the platform module knows.
"""

from __future__ import annotations

import os
import platform
from dataclasses import dataclass
from pathlib import Path

# The CPU extensions llama.cpp's x86 kernels are built for, in the order they arrived.
LLAMA_CPU_FLAGS = (
    *("sse4_2", "avx", "f16c", "fma", "avx2", "bmi2", "avx_vnni"),
    *("avx512f", "avx512bw", "avx512vbmi", "avx512_vnni", "avx512_bf16"),
    *("amx_tile", "amx_int8", "amx_bf16"),
)


@dataclass(frozen=True)
class CpuDescription:
    name: str
    flags: frozenset[str]

    @property
    def llama_flags(self) -> list[str]:
        return [flag for flag in LLAMA_CPU_FLAGS if flag in self.flags]

    def summary(self) -> str:
        return f"{self.name}: {' '.join(self.llama_flags) or 'no AVX'}"


def cpu_description() -> CpuDescription:
    name, flags = platform.processor() or platform.machine() or "unknown CPU", frozenset[str]()
    try:
        text = Path("/proc/cpuinfo").read_text(encoding="utf-8", errors="replace")
    except OSError:
        return CpuDescription(name, flags)
    found_name = False
    for line in text.splitlines():
        key, _, value = line.partition(":")
        if key.strip() == "model name" and not found_name:
            name, found_name = value.strip(), True
        elif key.strip() == "flags" and not flags:
            flags = frozenset(value.split())
    return CpuDescription(name, flags)


def logical_cores() -> int:
    return os.cpu_count() or 1


def total_memory_bytes() -> int:
    import psutil

    return int(psutil.virtual_memory().total)
