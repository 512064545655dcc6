"""llama.cpp builds against each other: prompt and decode tokens/s of the same model.

Each build is a folder holding an unpacked llama-cpp-python wheel (``llama_cpp/``), made
by ``scripts/bench_builds``: the same library with one CPU backend variant each, all of
them (ggml chooses, as in Hearth), and a -march=native build. Every measurement runs in its own
process with that folder first on the import path; builds alternate round by round, so a
machine that slows down during the run slows every build alike. The first build named is
the baseline of the ratios.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from bench.common import machine_description, median, print_table, write_json

# One run in a child process: load, read a ~500-token prompt, decode greedily.
MEASURE_SCRIPT = r"""
import ctypes, json, pathlib, sys, time
import llama_cpp
from llama_cpp.llama_cpp import _lib as libllama
model, threads, max_tokens = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
# A build with GGML_BACKEND_DL picks its CPU backend here (as hearth.engine.backends does).
# Through libllama: the wheel's libggml.so and libggml.so.0 are copies, two registries.
libllama.ggml_backend_load_all_from_path.argtypes = [ctypes.c_char_p]
libllama.ggml_backend_load_all_from_path(
    str(pathlib.Path(llama_cpp.__file__).parent / "lib").encode())
llama = llama_cpp.Llama(model_path=model, n_ctx=2048, n_threads=threads,
                        n_threads_batch=threads, verbose=False)
text = ("The following is a detailed report about the history of lighthouses along the "
        "northern coast, their keepers, the storms they survived, the ships they guided and "
        "the way the lamps and lenses changed over two centuries of service. ") * 12
tokens = llama.tokenize(text.encode(), add_bos=True)
begin = time.perf_counter()
first = None
pieces = []
for chunk in llama.create_completion(prompt=tokens, max_tokens=max_tokens, temperature=0.0,
                                     top_p=1.0, repeat_penalty=1.0, seed=1, stream=True):
    first = first or time.perf_counter()
    pieces.append(chunk["choices"][0]["text"])
total = time.perf_counter() - begin
completion = len(llama.tokenize("".join(pieces).encode(), add_bos=False))
print(json.dumps({
    "prompt_tokens_per_s": len(tokens) / (first - begin),
    "decode_tokens_per_s": max(0, completion - 1) / max(total - (first - begin), 1e-9),
    "system_info": llama_cpp.llama_print_system_info().decode(),
}))
"""


def measure(build: Path, model: Path, threads: int, max_tokens: int) -> dict[str, Any]:
    environment = {**os.environ, "PYTHONPATH": str(build)}
    completed = subprocess.run(
        [sys.executable, "-c", MEASURE_SCRIPT, str(model), str(threads), str(max_tokens)],
        capture_output=True,
        text=True,
        env=environment,
        check=False,
    )
    if completed.returncode != 0:
        return {"error": f"exit code {completed.returncode}: {completed.stderr.strip()[-300:]}"}
    result: dict[str, Any] = json.loads(completed.stdout.strip().splitlines()[-1])
    return result


def run(
    builds: list[Path], model: Path, threads: int, max_tokens: int, rounds: int
) -> dict[str, Any]:
    runs: dict[str, list[dict[str, Any]]] = {build.name: [] for build in builds}
    for round_number in range(rounds):
        shift = round_number % len(builds)
        for build in builds[shift:] + builds[:shift]:
            runs[build.name].append(measure(build, model, threads, max_tokens))
    result: dict[str, Any] = {"machine": machine_description(), "model": str(model), "builds": {}}
    baseline: dict[str, float] | None = None
    for build in builds:
        good = [r for r in runs[build.name] if "error" not in r]
        summary: dict[str, Any] = {
            "prompt_tokens_per_s": median([r["prompt_tokens_per_s"] for r in good]),
            "decode_tokens_per_s": median([r["decode_tokens_per_s"] for r in good]),
            "failed_runs": len(runs[build.name]) - len(good),
            "system_info": good[0]["system_info"] if good else runs[build.name][0]["error"],
        }
        if baseline is None:
            baseline = summary
        summary["prompt_ratio"] = summary["prompt_tokens_per_s"] / max(
            baseline["prompt_tokens_per_s"], 1e-9
        )
        summary["decode_ratio"] = summary["decode_tokens_per_s"] / max(
            baseline["decode_tokens_per_s"], 1e-9
        )
        result["builds"][build.name] = summary
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("builds", type=Path, nargs="+", help="folders of unpacked builds")
    parser.add_argument("--model", type=Path, required=True, help="GGUF file")
    parser.add_argument("--threads", type=int, default=os.cpu_count() or 2)
    parser.add_argument("--max-tokens", type=int, default=96)
    parser.add_argument("--rounds", type=int, default=6)
    parser.add_argument("--out", type=Path, help="write results as JSON here")
    args = parser.parse_args(argv)
    result = run(args.builds, args.model, args.threads, args.max_tokens, args.rounds)
    print_table(
        ["build", "prompt tok/s", "decode tok/s", "prompt ratio", "decode ratio", "failed"],
        [
            [
                name,
                b["prompt_tokens_per_s"],
                b["decode_tokens_per_s"],
                b["prompt_ratio"],
                b["decode_ratio"],
                b["failed_runs"],
            ]
            for name, b in result["builds"].items()
        ],
    )
    for name, b in result["builds"].items():
        print(f"{name}: {b['system_info']}")
    write_json(args.out, result)
    return 0
