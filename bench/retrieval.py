"""Retrieval benchmark on LiHua-World: Hearth against dense-only and BM25-only, same run.

The baselines search bare chunk text (the same chunks): dense-only is cosine over
MiniLM embeddings of the text; BM25-only is SQLite FTS5 (Porter stems, English stop
words dropped from the query). Hearth adds the context line, entity tokens and the graph.

Recall@k is the share of answerable questions whose every evidence session is among the
first k distinct files retrieved (the definition in the benchmark's README).

A fourth row, hearth_deep, is the deep search without a model (the second hop and the
question's own clauses); a fifth, hearth_model, adds the question step
(hearth.assistant.query_step) with the default model for the questions the clauses do not
split, its latency timed on its own. The question step was tuned on the
even-numbered questions only; recall is also printed for each half, so the odd-numbered
(held-out) half shows what tuning did not see. Indexing
throughput (chunks/s through the whole pipeline) is compared with a plain batch
embedding of the very same chunks in the same process.
"""

from __future__ import annotations

import argparse
import sqlite3
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from bench.common import machine_description, percentile, print_table, write_json
from bench.lihua import DEFAULT_DATA, Question, answerable, extract_sessions, load_questions
from hearth.index.keywords import fts_match_expression, query_terms

KS = (1, 3, 5, 10)
FETCH_CHUNKS = 40


def distinct_files(paths: list[str]) -> list[str]:
    seen: list[str] = []
    for path in paths:
        stem = Path(path).stem
        if stem not in seen:
            seen.append(stem)
    return seen


def recall(ranked: dict[str, list[str]], questions: list[Question]) -> dict[str, float]:
    def hit(question: Question, k: int) -> bool:
        return set(question.evidence) <= set(ranked[question.id][:k])

    result = {f"r{k}": sum(hit(q, k) for q in questions) / len(questions) for k in KS}
    multi = [q for q in questions if q.kind == "Multi"]
    result["multi_r5"] = sum(hit(q, 5) for q in multi) / max(1, len(multi))
    # The share that any reordering of the first ten files could bring into the first five.
    result["multi_r10"] = sum(hit(q, 10) for q in multi) / max(1, len(multi))
    return result


def plain_chunk_texts(files: list[Path]) -> list[str]:
    """The chunks' texts exactly as the indexer will store them, in the same order."""
    from hearth.documents.chunking import chunk_document
    from hearth.documents.loaders import load_document

    return [chunk.text for path in files for chunk in chunk_document(load_document(path))]


def halves(questions: list[Question]) -> dict[str, list[Question]]:
    """The tuning half (even ids) and the held-out half (odd ids)."""
    def parity(question: Question) -> int:
        return int(question.id) % 2 if question.id.isdigit() else 1

    return {
        "tuning": [q for q in questions if parity(q) == 0],
        "held_out": [q for q in questions if parity(q) == 1],
    }


def run(
    data: Path, work: Path, limit: int | None = None, model: Path | None = None
) -> dict[str, Any]:
    from hearth.index.embedder import Embedder
    from hearth.index.indexer import Indexer
    from hearth.index.retrieve import Retriever
    from hearth.index.store import IndexStore

    files = extract_sessions(data, work / "sessions")
    stems = {f.stem for f in files}
    questions = answerable(load_questions(data), stems)
    if limit:
        questions = questions[:limit]
    embedder = Embedder()
    embedder.embed(["warm up the embedder before anything is timed"])
    # The plain embedding runs once before indexing and once after, and the two are
    # averaged: on a 2-core machine whichever runs first or last can be 10% off.
    texts_in_file_order = plain_chunk_texts(files)
    started = time.perf_counter()
    embedder.embed(texts_in_file_order)
    raw_before = time.perf_counter() - started
    store = IndexStore(work / "index")
    started = time.perf_counter()
    report = Indexer(store, embedder).index_paths([work / "sessions"])
    index_seconds = time.perf_counter() - started
    rows = store.rows.db.execute("SELECT text, document_id FROM chunks ORDER BY rowid").fetchall()
    chunk_texts = [str(text) for text, _ in rows]
    if sorted(chunk_texts) != sorted(texts_in_file_order):
        raise RuntimeError("the plain baseline must embed exactly the indexed chunks")
    paths = dict(store.rows.db.execute("SELECT id, path FROM documents").fetchall())
    chunk_paths = [str(paths[document_id]) for _, document_id in rows]
    started = time.perf_counter()
    plain_vectors = embedder.embed(chunk_texts)
    raw_seconds = (raw_before + time.perf_counter() - started) / 2
    # The baselines see bare chunk text only: no context line, no entity tokens.
    plain_keywords = sqlite3.connect(":memory:")
    plain_keywords.execute(
        "CREATE VIRTUAL TABLE plain USING fts5(text, tokenize = 'porter unicode61')"
    )
    plain_keywords.executemany(
        "INSERT INTO plain (rowid, text) VALUES (?, ?)", enumerate(chunk_texts)
    )

    retriever = Retriever(store, embedder)
    latencies: list[float] = []

    def hearth_search(question: str) -> list[str]:
        begin = time.perf_counter()
        hits = retriever.search(question, k=FETCH_CHUNKS)
        latencies.append((time.perf_counter() - begin) * 1000)
        return [hit.document for hit in hits]

    def dense_search(question: str) -> list[str]:
        similarity = plain_vectors @ embedder.embed_one(question)
        best = np.argsort(-similarity)[:FETCH_CHUNKS]
        return [chunk_paths[i] for i in best]

    def bm25_search(question: str) -> list[str]:
        expression = fts_match_expression(query_terms(question))
        if expression is None:
            return []
        found = plain_keywords.execute(
            "SELECT rowid FROM plain WHERE plain MATCH ? ORDER BY bm25(plain) LIMIT ?",
            (expression, FETCH_CHUNKS),
        ).fetchall()
        return [chunk_paths[rowid] for (rowid,) in found]

    systems: dict[str, Callable[[str], list[str]]] = {
        "hearth": hearth_search,
        "dense": dense_search,
        "bm25": bm25_search,
    }
    from hearth.assistant.query_step import plan_search

    deep_latencies: list[float] = []

    def hearth_deep_search(question: str) -> list[str]:
        begin = time.perf_counter()
        hits = retriever.search(question, k=FETCH_CHUNKS, plan=plan_search(question).plan)
        deep_latencies.append((time.perf_counter() - begin) * 1000)
        return [hit.document for hit in hits]

    systems["hearth_deep"] = hearth_deep_search
    step_latencies: list[float] = []
    engine: Any = None
    if model is not None:
        from hearth.engine.client import EngineClient

        engine = EngineClient()
        engine.load(model, n_ctx=4096, n_threads=2)

        def hearth_model_search(question: str) -> list[str]:
            step = plan_search(question, engine)
            if step.seconds > 0:  # the model was asked (the clauses did not split it)
                step_latencies.append(step.seconds * 1000)
            hits = retriever.search(question, k=FETCH_CHUNKS, plan=step.plan)
            return [hit.document for hit in hits]

        systems["hearth_model"] = hearth_model_search
    results: dict[str, Any] = {}
    split = halves(questions)
    for name, search in systems.items():
        ranked = {q.id: distinct_files(search(q.question)) for q in questions}
        results[name] = recall(ranked, questions)
        results[name]["halves"] = {half: recall(ranked, qs) for half, qs in split.items()}
    if engine is not None:
        engine.close()
        results["query_model_asked"] = len(step_latencies)
        results["query_model_ms_p50"] = percentile(step_latencies, 0.5)
        results["query_model_ms_p95"] = percentile(step_latencies, 0.95)
        results["query_model"] = str(model)
    results.update(
        {
            "questions": len(questions),
            "multi_questions": sum(q.kind == "Multi" for q in questions),
            "sessions": len(files),
            "chunks": report.chunks,
            "entities": store.counts()["entities"],
            "index_seconds": index_seconds,
            "index_chunks_per_s": report.chunks / index_seconds,
            "raw_embed_chunks_per_s": len(chunk_texts) / raw_seconds,
            "search_p50_ms": percentile(latencies, 0.5),
            "search_p95_ms": percentile(latencies, 0.95),
            "deep_search_p50_ms": percentile(deep_latencies, 0.5),
            "deep_search_p95_ms": percentile(deep_latencies, 0.95),
            "machine": machine_description(),
        }
    )
    results["throughput_ratio"] = results["index_chunks_per_s"] / results["raw_embed_chunks_per_s"]
    store.close()
    return results


def main(argv: list[str] | None = None) -> int:
    from hearth.offline import enforce_offline

    enforce_offline()
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--out", type=Path)
    parser.add_argument("--limit", type=int, help="only the first N questions (quick runs)")
    parser.add_argument("--model", help="model id or GGUF file for the question step")
    parser.add_argument("--no-model", action="store_true", help="skip the question-step row")
    args = parser.parse_args(argv)
    from hearth.models.bundled import model_file

    model = None if args.no_model else model_file(args.model)
    with tempfile.TemporaryDirectory(prefix="hearth-bench-") as work:
        results = run(args.data.resolve(), Path(work), args.limit, model)
    names = [n for n in ("hearth", "dense", "bm25", "hearth_deep", "hearth_model") if n in results]
    print_table(
        ["retriever", "R@1", "R@3", "R@5", "R@10", "Multi R@5", "Multi R@10"],
        [
            [
                name,
                *(results[name][f"r{k}"] for k in KS),
                results[name]["multi_r5"],
                results[name]["multi_r10"],
            ]
            for name in names
        ],
    )
    print()
    print_table(
        ["retriever", "half", "R@5", "Multi R@5", "Multi R@10"],
        [
            [name, half, h["r5"], h["multi_r5"], h["multi_r10"]]
            for name in names
            for half, h in results[name]["halves"].items()
        ],
    )
    if "query_model_ms_p50" in results:
        print(
            f"question step (asked for {results['query_model_asked']} questions) "
            f"p50 {results['query_model_ms_p50']:.0f} ms, "
            f"p95 {results['query_model_ms_p95']:.0f} ms"
        )
    print(
        f"\n{results['questions']} questions ({results['multi_questions']} Multi), "
        f"{results['sessions']} sessions, {results['chunks']} chunks, "
        f"{results['entities']} entities"
    )
    print(
        f"indexing {results['index_chunks_per_s']:.1f} chunks/s vs raw embedding "
        f"{results['raw_embed_chunks_per_s']:.1f} chunks/s: ratio {results['throughput_ratio']:.3f}"
    )
    print(f"search p50 {results['search_p50_ms']:.1f} ms, p95 {results['search_p95_ms']:.1f} ms")
    print(
        f"deep search (no model) p50 {results['deep_search_p50_ms']:.1f} ms, "
        f"p95 {results['deep_search_p95_ms']:.1f} ms"
    )
    write_json(args.out, results)
    return 0
