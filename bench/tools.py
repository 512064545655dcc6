"""Tool calling with the bundled model: does every call parse and match its schema, and
how often is the right tool chosen? Plus the time and key-entity coverage of a summary of
a 30-page PDF in a 2,048-token context.

The prompts are written for this benchmark (not the worked examples the model is shown,
nor the router's phrasings). valid_call_rate is over the prompts where a tool was called;
selection_accuracy is over all prompts (the expected choice may be "answer").
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.common import machine_description, print_table, write_json

PROMPTS: list[tuple[str, str]] = [
    # calculator
    ("What is 348 plus 1,297?", "calculator"),
    ("Multiply 56 by 73.", "calculator"),
    ("How much is 7.5% of 18,400?", "calculator"),
    ("What's 1024 divided by 16?", "calculator"),
    ("Compute (45 - 12) * 3.", "calculator"),
    ("What is the square root of 2025?", "calculator"),
    ("If I split 930 pounds between 6 people, how much does each pay?", "calculator"),
    ("What is 2 to the power of 16?", "calculator"),
    ("Add 19.99, 4.50 and 12.25.", "calculator"),
    ("What is 15 squared minus 100?", "calculator"),
    # current_date_time
    ("What is today's date?", "current_date_time"),
    ("What time is it right now?", "current_date_time"),
    ("Which day of the week is it today?", "current_date_time"),
    ("What's the current year?", "current_date_time"),
    ("Tell me the date and time.", "current_date_time"),
    ("What month are we in?", "current_date_time"),
    ("Is it morning or evening now?", "current_date_time"),
    ("What's the time?", "current_date_time"),
    # list_documents
    ("What documents have I uploaded?", "list_documents"),
    ("List all my files.", "list_documents"),
    ("Which documents can you see?", "list_documents"),
    ("How many files are in my library?", "list_documents"),
    ("Show me the names of my documents.", "list_documents"),
    ("What have I added to Hearth so far?", "list_documents"),
    ("Do I have any PDFs indexed?", "list_documents"),
    ("Give me an overview of my document collection.", "list_documents"),
    # read_page
    ("Read page 2 of lighthouse-report.pdf.", "read_page"),
    ("What is written on page 4 of the lighthouse report?", "read_page"),
    ("Open page 1 of sea-walls.pdf.", "read_page"),
    ("Show the third page of sea-walls.pdf.", "read_page"),
    ("Display page 5 of lighthouse-report.pdf for me.", "read_page"),
    ("Can you read me page 10 of sea-walls.pdf?", "read_page"),
    ("Print page 3 of the lighthouse report.", "read_page"),
    ("Let me see page 12 of sea-walls.pdf.", "read_page"),
    # summarize_document
    ("Summarise lighthouse-report.pdf.", "summarize_document"),
    ("Give me a short summary of the sea walls report.", "summarize_document"),
    ("What is sea-walls.pdf about, in a few sentences?", "summarize_document"),
    ("Can you sum up the lighthouse report?", "summarize_document"),
    ("I need the gist of sea-walls.pdf.", "summarize_document"),
    ("Make a brief overview of lighthouse-report.pdf.", "summarize_document"),
    ("Condense the sea walls report into a paragraph.", "summarize_document"),
    ("Summary of the lighthouse report please.", "summarize_document"),
    # search_documents
    ("Who opened the museum of fog signals?", "search_documents"),
    ("How much did the lantern room restoration cost?", "search_documents"),
    ("What did the surveyor find at the Carrow sea wall?", "search_documents"),
    ("When was the lantern lit again?", "search_documents"),
    ("How many volunteers helped the Trust?", "search_documents"),
    ("Which chapter mentions the blocked drain at Elston?", "search_documents"),
    ("What does my report say about the harbour steps?", "search_documents"),
    ("Find the part about the lifeboat crew's training launches.", "search_documents"),
    ("Who is Clara Vint according to my documents?", "search_documents"),
    ("What happened to the coastal path in February?", "search_documents"),
    # answer directly
    ("Hi! How are you today?", "answer"),
    ("Thank you, that was helpful.", "answer"),
    ("Write a short poem about the sea.", "answer"),
    ("Tell me a fun fact about penguins.", "answer"),
    ("What does the word 'ephemeral' mean?", "answer"),
    ("Translate 'good morning' into French.", "answer"),
    ("Give me three tips for sleeping better.", "answer"),
    ("Explain what a lighthouse lens does.", "answer"),
    ("Good night!", "answer"),
    ("Can you suggest a name for a cat?", "answer"),
]


def run(models: list[Path], work: Path, summary_model: Path | None) -> dict[str, Any]:
    """Every prompt with each model in ``models``; the summary with ``summary_model``."""
    from bench.sample_documents import long_report_pages, report_pages, write_pdf
    from hearth.assistant.summarize import DocumentSummarizer
    from hearth.assistant.tool_loop import ANSWER, ToolRouter, ToolRunner
    from hearth.engine.client import EngineClient
    from hearth.index.document_index import DocumentIndex
    from hearth.tools.builtin import builtin_registry

    documents = work / "documents"
    documents.mkdir()
    write_pdf(documents / "lighthouse-report.pdf", report_pages())
    long_report = write_pdf(documents / "sea-walls.pdf", long_report_pages(32))
    index = DocumentIndex(work / "index")
    index.index_paths([documents])
    names = [Path(d.path).name for d in index.documents()]
    registry = builtin_registry()
    router = ToolRouter(index.embedder, registry, index)
    per_model: dict[str, Any] = {}
    summary_result: dict[str, Any] | None = None
    for model in models:
        rows: list[dict[str, Any]] = []
        with EngineClient() as engine:
            engine.load(model, n_ctx=2048, n_threads=2)
            runner = ToolRunner(engine, registry, router)
            started = time.perf_counter()
            for prompt, expected in PROMPTS:
                choice, arguments = runner.decide(prompt, [], names)
                row: dict[str, Any] = {"prompt": prompt, "expected": expected, "chosen": choice}
                if choice != ANSWER:
                    problem = registry.validation_error(choice, arguments)
                    row.update(arguments=arguments, valid=problem is None, problem=problem)
                rows.append(row)
            seconds_per_prompt = (time.perf_counter() - started) / len(PROMPTS)
            if model == summary_model:
                summary = DocumentSummarizer(index, engine, model.stem).summarize(
                    str(long_report)
                )
                summary_result = {
                    "model": model.stem,
                    "document_pages": 32,
                    "seconds": summary.seconds,
                    "parts": summary.parts,
                    "rounds": summary.rounds,
                    "key_entities": summary.key_entities,
                    "covered_entities": summary.covered_entities,
                    "key_entity_coverage": summary.coverage,
                    "text": summary.text,
                }
        calls = [r for r in rows if r["chosen"] != ANSWER]
        per_tool: dict[str, dict[str, int]] = {}
        for row in rows:
            entry = per_tool.setdefault(row["expected"], {"prompts": 0, "correct": 0})
            entry["prompts"] += 1
            entry["correct"] += row["chosen"] == row["expected"]
        per_model[model.stem] = {
            "prompts": len(rows),
            "tool_calls": len(calls),
            "valid_call_rate": sum(r["valid"] for r in calls) / max(1, len(calls)),
            "selection_accuracy": sum(r["chosen"] == r["expected"] for r in rows) / len(rows),
            "per_tool": per_tool,
            "seconds_per_prompt": seconds_per_prompt,
            "rows": rows,
        }
    index.close()
    # The first model's figures also at the top level, as before per-model results.
    first = per_model[models[0].stem]
    return {
        "model": str(models[0]),
        **{key: first[key] for key in ("prompts", "tool_calls", "valid_call_rate")},
        "selection_accuracy": first["selection_accuracy"],
        "per_tool": first["per_tool"],
        "seconds_per_prompt": first["seconds_per_prompt"],
        "summary": summary_result,
        "per_model": per_model,
        "machine": machine_description(),
    }


def main(argv: list[str] | None = None) -> int:
    from hearth.models.bundled import BUNDLED_MODELS, model_file
    from hearth.offline import enforce_offline

    enforce_offline()
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", type=Path)
    parser.add_argument(
        "--model",
        action="append",
        help="model id or GGUF file, repeatable (default: the default model, then the other "
        "bundled models); the first also writes the summary",
    )
    parser.add_argument("--no-summary", action="store_true", help="tool choice only")
    args = parser.parse_args(argv)
    default = model_file(None)
    models = [model_file(name) for name in args.model] if args.model else [default] + [
        model_file(bundled.id) for bundled in BUNDLED_MODELS if bundled.id != default.stem
    ]
    with tempfile.TemporaryDirectory(prefix="hearth-tools-") as work:
        result = run(models, Path(work), None if args.no_summary else models[0])
    print_table(
        ["model", "prompts", "tool calls", "valid_call_rate", "selection_accuracy", "s/prompt"],
        [
            [
                name,
                m["prompts"],
                m["tool_calls"],
                m["valid_call_rate"],
                m["selection_accuracy"],
                m["seconds_per_prompt"],
            ]
            for name, m in result["per_model"].items()
        ],
    )
    print()
    print_table(
        ["expected tool", *result["per_model"]],
        [
            [tool, *(f"{m['per_tool'][tool]['correct']}/{m['per_tool'][tool]['prompts']}"
                     for m in result["per_model"].values())]
            for tool in result["per_tool"]
        ],
    )
    summary = result["summary"]
    if summary is not None:
        print(
            f"\nsummary of a {summary['document_pages']}-page PDF at 2,048 tokens with "
            f"{summary['model']}: {summary['seconds']:.1f} s, {summary['parts']} parts in "
            f"{summary['rounds']} rounds, key-entity coverage "
            f"{summary['key_entity_coverage']:.2f}"
        )
    write_json(args.out, result)
    return 0
