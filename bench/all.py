"""Every benchmark in one run: engine, retrieval, answers, tools, start-up, scaling, and
peak memory. Each runs in its own process (so none inherits another's memory or warm
caches) and writes its JSON; this gathers them into results.json and a Markdown table,
every figure beside the baseline measured in the same run where one exists."""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.common import machine_description

BENCHMARKS = ["engine", "retrieval", "answers", "tools", "startup", "scaling"]

PEAK_RSS_SCRIPT = """
import json, resource, sys
from pathlib import Path
from hearth.assistant.chat import TurnRequest, answer_turn
from hearth.assistant.workspace import Workspace
from bench.sample_documents import report_pages, write_pdf

def main():
    folder = Path(sys.argv[1])
    report = write_pdf(folder / "report.pdf", report_pages())
    workspace = Workspace()
    model = workspace.ensure_model_loaded()
    workspace.index.index_paths([report])
    answer_turn(workspace, TurnRequest("What did the lantern room cost?"))
    host = workspace.engine.status()
    estimate = workspace.catalogue.get(model.id).ram_estimate(workspace.settings.n_ctx)
    print(json.dumps({
        "app_peak_rss_bytes": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024,
        "engine_host_rss_bytes": host.rss_bytes,
        "engine_estimate_bytes": estimate.total_bytes,
        "n_ctx": workspace.settings.n_ctx,
    }))
    workspace.close()

if __name__ == "__main__":
    main()
"""


def run_benchmark(name: str, out: Path) -> dict[str, Any]:
    started = time.perf_counter()
    command = [
        sys.executable,
        "-c",
        f"import sys; from bench.{name} import main; sys.exit(main())",
        "--out",
        str(out),
    ]
    completed = subprocess.run(command, text=True, capture_output=True, check=False)
    print(completed.stdout.rstrip())
    if completed.returncode != 0:
        print(completed.stderr[-3000:], file=sys.stderr)
        return {"error": f"exit code {completed.returncode}"}
    result: dict[str, Any] = json.loads(out.read_text("utf-8"))
    result["benchmark_seconds"] = time.perf_counter() - started
    return result


def peak_memory(work: Path) -> dict[str, Any]:
    script = work / "peak_rss.py"
    script.write_text(PEAK_RSS_SCRIPT, "utf-8")
    env = {**os.environ, "HEARTH_HOME": str(work / "home")}
    completed = subprocess.run(
        [sys.executable, str(script), str(work)],
        text=True,
        capture_output=True,
        env=env,
        check=False,
    )
    if completed.returncode != 0:
        return {"error": completed.stderr[-2000:]}
    result: dict[str, Any] = json.loads(completed.stdout.strip().splitlines()[-1])
    result["total_bytes"] = result["app_peak_rss_bytes"] + result["engine_host_rss_bytes"]
    result["host_rss_over_estimate"] = (
        result["engine_host_rss_bytes"] / result["engine_estimate_bytes"]
    )
    return result


def f(value: Any, digits: int = 3) -> str:
    return f"{value:.{digits}f}" if isinstance(value, float) else str(value)


def markdown(results: dict[str, Any]) -> str:
    machine = results["machine"]
    lines = [
        "# Hearth benchmarks",
        "",
        f"Machine: {machine['cpu']}, {machine['cores']} cores, "
        f"{machine['ram_bytes'] / 1024**3:.1f} GB RAM, Python {machine['python']}, "
        f"{machine['system']}. Run at {results['started']}.",
        "",
        "| benchmark | Hearth | baseline (same run) | ratio |",
        "|---|---|---|---|",
    ]
    engine = results.get("engine", {})
    if "decode_ratio" in engine:
        lines.append(
            f"| decode tokens/s (engine host vs llama.cpp direct) | "
            f"{f(engine['client']['decode_tokens_per_s'], 1)} | "
            f"{f(engine['direct']['decode_tokens_per_s'], 1)} | {f(engine['decode_ratio'])} |"
        )
        lines.append(
            f"| prompt tokens/s | {f(engine['client']['prompt_tokens_per_s'], 1)} | "
            f"{f(engine['direct']['prompt_tokens_per_s'], 1)} | {f(engine['prompt_ratio'])} |"
        )
    retrieval = results.get("retrieval", {})
    if "hearth" in retrieval:
        for key, label in (
            ("r5", "LiHua-World R@5"),
            ("multi_r5", "LiHua-World Multi R@5"),
            ("r1", "LiHua-World R@1"),
        ):
            best = max(retrieval["dense"][key], retrieval["bm25"][key])
            lines.append(
                f"| {label} (vs best of dense-only {f(retrieval['dense'][key])}, BM25-only "
                f"{f(retrieval['bm25'][key])}) | {f(retrieval['hearth'][key])} | {f(best)} | "
                f"{f(retrieval['hearth'][key] / best)} |"
            )
        lines.append(
            f"| indexing chunks/s (vs plain batch embedding) | "
            f"{f(retrieval['index_chunks_per_s'], 1)} | {f(retrieval['raw_embed_chunks_per_s'], 1)}"
            f" | {f(retrieval['throughput_ratio'])} |"
        )
        if "hearth_model" in retrieval:
            for key, label in (("r5", "R@5"), ("multi_r5", "Multi R@5")):
                lines.append(
                    f"| LiHua-World {label} with the question step (vs without) | "
                    f"{f(retrieval['hearth_model'][key])} | {f(retrieval['hearth'][key])} | "
                    f"{f(retrieval['hearth_model'][key] / max(retrieval['hearth'][key], 1e-9))} |"
                )
            lines.append(
                f"| question step p50 / p95 ms ({Path(retrieval['query_model']).stem}) | "
                f"{f(retrieval['query_model_ms_p50'], 0)} / "
                f"{f(retrieval['query_model_ms_p95'], 0)} | | |"
            )
        lines.append(
            f"| search latency p50 / p95 ms (LiHua, 971 chunks) | "
            f"{f(retrieval['search_p50_ms'], 1)} / {f(retrieval['search_p95_ms'], 1)} "
            "| | |"
        )
    answers = results.get("answers", {})
    if "with_retrieval" in answers and answers.get("without_retrieval"):
        with_r, without = answers["with_retrieval"], answers["without_retrieval"]
        lines.append(
            f"| answer match rate, bundled model (vs no retrieval) | {f(with_r['match_rate'])} | "
            f"{f(without['match_rate'])} | "
            f"{f(with_r['match_rate'] / max(without['match_rate'], 1e-9))} |"
        )
        lines.append(
            f"| answer token F1 (vs no retrieval) | {f(with_r['mean_f1'])} | "
            f"{f(without['mean_f1'])} | {f(with_r['mean_f1'] / max(without['mean_f1'], 1e-9))} |"
        )
        if "cited_share" in with_r:
            lines.append(
                f"| answers citing a real source / citing a gold session | "
                f"{f(with_r['cited_share'])} / {f(with_r['cited_holds_gold_share'])} | | |"
            )
            lines.append(
                f"| time to first token p50 / p95 s, warm model | {f(with_r['ttft_p50_s'], 2)} / "
                f"{f(with_r['ttft_p95_s'], 2)} | | |"
            )
    tools = results.get("tools", {})
    if "valid_call_rate" in tools:
        lines.append(
            f"| tool calls that parse and match their schema ({tools['tool_calls']} "
            f"calls) | {f(tools['valid_call_rate'])} | | |"
        )
        lines.append(
            f"| tool-choice accuracy ({tools['prompts']} prompts) | "
            f"{f(tools['selection_accuracy'])} | | |"
        )
        for name, row in tools.get("per_model", {}).items():
            lines.append(
                f"| tool calls valid / right tool, {name} | {f(row['valid_call_rate'])} / "
                f"{f(row['selection_accuracy'])} | | |"
            )
        summary = tools["summary"]
        lines.append(
            f"| summary of a {summary['document_pages']}-page PDF at 2,048 tokens: "
            f"seconds / key-entity coverage | {f(summary['seconds'], 1)} / "
            f"{f(summary['key_entity_coverage'], 2)} | | |"
        )
    startup = results.get("startup", {})
    if "startup_ratio" in startup:
        lines.append(
            f"| seconds to first paint (vs bare PySide6 window) | "
            f"{f(startup['hearth_seconds'])} | {f(startup['bare_seconds'])} | "
            f"{f(startup['startup_ratio'])} |"
        )
    scaling = results.get("scaling", {})
    for size, row in scaling.get("sizes", {}).items():
        lines.append(
            f"| search p50 / p95 ms at {int(size):,} chunks (vs dense-only p50) | "
            f"{f(row['hearth_p50_ms'], 1)} / {f(row['hearth_p95_ms'], 1)} | "
            f"{f(row['dense_p50_ms'], 1)} | {f(row['hearth_over_dense_p50'], 2)} "
            f"(growth vs 1k: {f(row['p50_growth_vs_1k'], 2)}) |"
        )
    memory = results.get("memory", {})
    if "total_bytes" in memory:
        lines.append(
            f"| peak RSS, model + embedder + one answer (app + engine host) | "
            f"{memory['total_bytes'] / 1024**2:.0f} MB "
            f"({memory['app_peak_rss_bytes'] / 1024**2:.0f}"
            f" + {memory['engine_host_rss_bytes'] / 1024**2:.0f}) | engine RAM estimate "
            f"{memory['engine_estimate_bytes'] / 1024**2:.0f} MB | "
            f"{f(memory['host_rss_over_estimate'])} (host / estimate) |"
        )
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", type=Path, default=Path("results"))
    parser.add_argument("--only", nargs="*", choices=BENCHMARKS, help="run just these")
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    results: dict[str, Any] = {
        "machine": machine_description(),
        "started": time.strftime("%Y-%m-%d %H:%M:%S"),
    }
    for name in args.only or BENCHMARKS:
        print(f"== {name}", flush=True)
        results[name] = run_benchmark(name, args.out / f"{name}.json")
    print("== memory", flush=True)
    with tempfile.TemporaryDirectory(prefix="hearth-memory-") as work:
        results["memory"] = peak_memory(Path(work))
    (args.out / "results.json").write_text(json.dumps(results, indent=2), "utf-8")
    table = markdown(results)
    (args.out / "results.md").write_text(table, "utf-8")
    print(table)
    print(f"wrote {args.out / 'results.json'} and {args.out / 'results.md'}")
    return 0 if not any("error" in v for v in results.values() if isinstance(v, dict)) else 1
