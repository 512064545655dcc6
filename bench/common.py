"""Shared pieces of the benchmark scripts: machine description, tables, JSON output."""

from __future__ import annotations

import json
import os
import platform
import statistics
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import psutil

# The words the generated documents of the scale and OCR benchmarks are made of.
TOWN_WORDS = [
    "harbour",
    "lantern",
    "survey",
    "storm",
    "wall",
    "budget",
    "council",
    "ferry",
    "garden",
    "museum",
    "tide",
    "engine",
    "report",
    "meeting",
    "repair",
    "volunteer",
    "bridge",
    "school",
    "market",
    "festival",
    "road",
    "train",
    "station",
    "library",
    "orchard",
    "river",
    "beacon",
    "cottage",
    "chapel",
    "mill",
    "quarry",
]


def machine_description() -> dict[str, Any]:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "ram_bytes": psutil.virtual_memory().total,
        "python": platform.python_version(),
        "system": f"{platform.system()} {platform.release()}",
    }


def percentile(values: Sequence[float], share: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return 0.0
    index = min(len(ordered) - 1, max(0, round(share * (len(ordered) - 1))))
    return ordered[index]


def median(values: Sequence[float]) -> float:
    return statistics.median(values) if values else 0.0


def print_table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
    cells = [[str(h) for h in headers]] + [[_cell(v) for v in row] for row in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
    for number, row in enumerate(cells):
        print("  ".join(value.ljust(widths[i]) for i, value in enumerate(row)))
        if number == 0:
            print("  ".join("-" * width for width in widths))


def _cell(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.3f}"
    return str(value)


def write_json(path: Path | None, value: dict[str, Any]) -> None:
    if path is None:
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(value, indent=2), encoding="utf-8")
    print(f"wrote {path}")
