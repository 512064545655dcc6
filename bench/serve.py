"""Load and faults beyond one laptop: ``hearth serve`` under 50 concurrent requests, a
remote model server killed mid-answer, a chromadb server restarted mid-index.

- load: the same greedy requests first one at a time (the baseline answers), then 50 at
  once, half streamed; every request must be answered (200) or refused (429), and every
  answer must be its own prompt's baseline answer (a mix-up would be another prompt's).
  Run with a queue that holds them all and with one that must refuse some.
- remote engine killed: hearth serve in front of llama-cpp-python's server; the server is
  killed while an answer streams. The client must get an error event, Hearth must keep
  answering (status, a clear 503 while the model server is away) and recover once the
  model server is back.
- chromadb restarted: a folder of notes indexed with the vectors on ``chroma run``, the
  server killed at a few moments and restarted 4 s later (waited out), and once for longer
  than the retry window (reported; the next run completes); each time SQLite and chromadb
  must agree afterwards.

The server processes (started through bench.processes, which the tests use too) bind
127.0.0.1.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import shutil
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx

from bench.common import machine_description, median, percentile, print_table, write_json
from bench.processes import (
    ServerProcess,
    chroma_server,
    free_port,
    hearth_server,
    llama_cpp_server,
    running,
)


def prepare_home(home: Path, model: Path) -> None:
    """A data folder with ``model`` as the chosen default (first start done)."""
    previous = os.environ.get("HEARTH_HOME")
    os.environ["HEARTH_HOME"] = str(home)
    try:
        from hearth.models.bundled import SET_UP_AT_FIRST_START
        from hearth.models.catalogue import ModelCatalogue

        catalogue = ModelCatalogue()
        target = catalogue.folder / model.name
        try:
            os.link(model, target)
        except OSError:
            shutil.copyfile(model, target)
        for bundled in SET_UP_AT_FIRST_START:
            catalogue.mark_set_up(bundled.id)
        catalogue.set_default(target.stem)
    finally:
        if previous is None:
            os.environ.pop("HEARTH_HOME", None)
        else:
            os.environ["HEARTH_HOME"] = previous


# -- load -------------------------------------------------------------------------------------
WORDS = [
    "apple",
    "harbour",
    "violet",
    "granite",
    "lantern",
    "meadow",
    "copper",
    "falcon",
    "thistle",
    "orchard",
]


def load_prompt(word: str) -> dict[str, Any]:
    return {
        "messages": [{"role": "user", "content": f"Reply with exactly this word: {word}"}],
        "max_tokens": 8,
        "temperature": 0.0,
        "seed": 7,
    }


async def _one_request(
    http: httpx.AsyncClient, url: str, body: dict[str, Any], stream: bool
) -> dict[str, Any]:
    started = time.perf_counter()
    try:
        if not stream:
            reply = await http.post(f"{url}/chat/completions", json=body)
            text = ""
            if reply.status_code == 200:
                text = reply.json()["choices"][0]["message"]["content"]
            return {"status": reply.status_code, "text": text, "seconds": _since(started)}
        pieces: list[str] = []
        async with http.stream(
            "POST", f"{url}/chat/completions", json={**body, "stream": True}
        ) as r:
            if r.status_code != 200:
                await r.aread()
                return {"status": r.status_code, "text": "", "seconds": _since(started)}
            errored = False
            async for line in r.aiter_lines():
                if not line.startswith("data: ") or line == "data: [DONE]":
                    continue
                chunk = json.loads(line[6:])
                if "error" in chunk:
                    errored = True
                for choice in chunk.get("choices") or []:
                    pieces.append((choice.get("delta") or {}).get("content") or "")
        status = 500 if errored else 200
        return {"status": status, "text": "".join(pieces), "seconds": _since(started)}
    except httpx.HTTPError as error:
        return {"status": 0, "text": "", "seconds": _since(started), "error": str(error)}


def _since(started: float) -> float:
    return time.perf_counter() - started


async def _fire(url: str, bodies: list[tuple[dict[str, Any], bool]]) -> list[dict[str, Any]]:
    limits = httpx.Limits(max_connections=len(bodies) + 5, max_keepalive_connections=0)
    async with httpx.AsyncClient(timeout=1800, limits=limits, trust_env=False) as http:
        return list(await asyncio.gather(*(_one_request(http, url, b, s) for b, s in bodies)))


def load_run(work: Path, max_queue: int, requests: int) -> dict[str, Any]:
    log = work / f"serve-queue-{max_queue}.log"
    with running(hearth_server(log, "--max-queue", str(max_queue))) as server:
        baseline: dict[str, str] = {}
        single: list[float] = []
        for word in WORDS:
            result = asyncio.run(_fire(server.url, [(load_prompt(word), False)]))[0]
            if result["status"] != 200:
                raise RuntimeError(f"baseline request failed: {result}")
            baseline[word] = result["text"]
            single.append(result["seconds"])
        plan = [(WORDS[i % len(WORDS)], i % 2 == 1) for i in range(requests)]
        started = time.perf_counter()
        results = asyncio.run(_fire(server.url, [(load_prompt(w), s) for w, s in plan]))
        wall = time.perf_counter() - started
        queue = httpx.get(f"{server.url}/hearth/status", trust_env=False).json()["engine_queue"]
    statuses = Counter(r["status"] for r in results)
    answered = [(w, r) for (w, _), r in zip(plan, results, strict=True) if r["status"] == 200]
    own = sum(1 for w, r in answered if r["text"] == baseline[w])
    others = {text: word for word, text in baseline.items()}
    mixed = sum(
        1 for w, r in answered if r["text"] != baseline[w] and others.get(r["text"], w) != w
    )
    seconds = [r["seconds"] for _, r in answered]
    return {
        "max_queue": max_queue,
        "requests": requests,
        "answered": statuses.get(200, 0),
        "refused_429": statuses.get(429, 0),
        "other": {str(k): v for k, v in statuses.items() if k not in (200, 429)},
        "lost": requests - statuses.get(200, 0) - statuses.get(429, 0),
        "same_as_baseline": own,
        "mixed_up": mixed,
        "distinct_baseline_answers": len(set(baseline.values())),
        "wall_seconds": wall,
        "answers_per_second": len(answered) / wall if wall else 0.0,
        "latency_p50_s": median(seconds),
        "latency_p95_s": percentile(seconds, 0.95),
        "single_request_s": median(single),
        "server_counts": queue,
    }


# -- the remote model server killed -----------------------------------------------------------
STORY = [{"role": "user", "content": "Write a long story about a lighthouse keeper and a storm."}]


def remote_engine_killed(work: Path, model: Path) -> dict[str, Any]:
    port = free_port()
    model_server = llama_cpp_server(model, work / "llama.log", port)
    env = {"HEARTH_ENGINE_URL": model_server.url}
    result: dict[str, Any] = {}
    with running(model_server), running(hearth_server(work / "serve-remote.log", env=env)) as hs:
        http = httpx.Client(timeout=600, trust_env=False)
        body = {"messages": STORY, "max_tokens": 300, "temperature": 0.0, "stream": True}
        pieces = 0
        killed_at: float | None = None
        error_event: dict[str, Any] | None = None
        with http.stream("POST", f"{hs.url}/chat/completions", json=body) as stream:
            for line in stream.iter_lines():
                if not line.startswith("data: ") or line == "data: [DONE]":
                    continue
                chunk = json.loads(line[6:])
                if "error" in chunk:
                    error_event = chunk["error"]
                    break
                if any((c.get("delta") or {}).get("content") for c in chunk["choices"]):
                    pieces += 1
                if pieces == 5 and killed_at is None:
                    model_server.kill()
                    killed_at = time.perf_counter()
        result["pieces_before_kill"] = pieces
        result["error_event"] = error_event
        result["error_event_after_kill_s"] = (
            time.perf_counter() - killed_at if killed_at is not None else None
        )
        status = http.get(f"{hs.url}/hearth/status")
        result["hearth_up_after"] = status.status_code == 200
        result["failed_count"] = status.json()["engine_queue"]["failed"]
        started = time.perf_counter()
        down = http.post(f"{hs.url}/chat/completions", json={**body, "stream": False})
        result["while_down"] = {
            "status": down.status_code,
            "message": down.json()["error"]["message"],
            "seconds": time.perf_counter() - started,
        }
        restarted = time.perf_counter()
        model_server.start()
        result["model_server_restart_s"] = time.perf_counter() - restarted
        started = time.perf_counter()
        again = http.post(
            f"{hs.url}/chat/completions",
            json={"messages": STORY, "max_tokens": 8, "temperature": 0.0},
        )
        result["recovered"] = again.status_code == 200
        result["first_answer_after_restart_s"] = time.perf_counter() - started
    return result


# -- chromadb restarted mid-index -------------------------------------------------------------
def write_notes(folder: Path, count: int) -> list[Path]:
    """Notes of about eight chunks each, every one with its own numbers and names."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for number in range(count):
        lines = [f"# Harbour log {number}", ""]
        for day in range(1, 25):
            lines.append(
                f"Day {day} of log {number}: the tide rose to {day * 7 % 31} metres, the "
                f"keeper Anna Petrov{number} logged {day * number % 13} ships and repaired "
                f"lamp {day % 5} on the north pier. Weather: wind from the "
                f"{['north', 'south', 'east', 'west'][day % 4]}, rain {day % 3} hours.\n"
            )
        path = folder / f"log-{number:03d}.md"
        path.write_text("\n".join(lines), "utf-8")
        paths.append(path)
    return paths


class _RetryCounter(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.count = 0

    def emit(self, record: logging.LogRecord) -> None:
        if "not answering" in record.getMessage():
            self.count += 1


DOWN_SECONDS = 4.0
# Chunks embedded per write, smaller than the indexer's 128 so that a write (the only time
# the server is needed; embedding is most of the time) is never far from a kill: as in a
# large folder, where writes follow each other all along.
CHUNKS_PER_WRITE = 16


class ServerFault:
    """Kills ``server`` ``after`` seconds from ``begin()``, and starts it again ``down_for``
    seconds later (None: not at all); ``finish()`` waits for both."""

    def __init__(self, server: ServerProcess, after: float, down_for: float | None) -> None:
        self.server = server
        self.after = after
        self.down_for = down_for
        self.killed_at: float | None = None
        self._thread = threading.Thread(target=self._run, daemon=True)

    def begin(self) -> None:
        self._thread.start()

    def _run(self) -> None:
        time.sleep(self.after)
        self.server.kill()
        self.killed_at = time.perf_counter()
        if self.down_for is not None:
            time.sleep(self.down_for)
            self.server.start()

    def finish(self) -> None:
        self._thread.join()


def _index_once(
    folder: Path, notes: list[Path], embedder: Any, url: str, fault: ServerFault | None = None
) -> dict[str, Any]:
    from hearth.index.document_index import DocumentIndex, IndexSettings
    from hearth.index.store import VectorStoreUnavailable

    index = DocumentIndex(folder, embedder, IndexSettings(chroma_url=url))
    counter = _RetryCounter()
    store_log = logging.getLogger("hearth.index.vectors")
    store_log.addHandler(counter)
    started = time.perf_counter()
    outcome: dict[str, Any] = {}
    try:
        if fault is not None:
            fault.begin()
        report = index.index_paths(notes)
        outcome.update(indexed=len(report.indexed), skipped=len(report.skipped), error=None)
    except VectorStoreUnavailable as error:
        outcome.update(indexed=None, skipped=None, error=str(error))
    finally:
        store_log.removeHandler(counter)
    ended = time.perf_counter()
    outcome["seconds"] = ended - started
    outcome["retries_logged"] = counter.count
    if fault is not None:
        fault.finish()
        outcome["killed_during_index"] = fault.killed_at is not None and fault.killed_at < ended
    outcome["documents"] = len(index.documents())
    if fault is None or fault.down_for is not None:
        outcome["consistency"] = index.store.consistency()
    index.close()
    return outcome


def chroma_restarted(work: Path, notes_count: int) -> dict[str, Any]:
    from hearth.index import indexer, vectors
    from hearth.index.embedder import Embedder

    embedder = Embedder()
    notes = write_notes(work / "notes", notes_count)
    server = chroma_server(work / "chroma-data", work / "chroma.log")
    runs: list[dict[str, Any]] = []
    window = vectors.CHROMA_RETRY_SECONDS
    batch = indexer.EMBED_BATCH_CHUNKS
    indexer.EMBED_BATCH_CHUNKS = CHUNKS_PER_WRITE
    with running(server):
        try:
            embedder.embed(["warm up"])
            baseline = _index_once(work / "index-baseline", notes, embedder, server.url)
            runs.append({"case": "no restart", **baseline})
            # Kills at a fifth, half and four fifths of an undisturbed run.
            for share in (0.2, 0.5, 0.8):
                after = round(baseline["seconds"] * share, 1)
                fault = ServerFault(server, after, DOWN_SECONDS)
                outcome = _index_once(work / f"index-{share:g}", notes, embedder, server.url, fault)
                runs.append(
                    {"case": f"killed at {after:g} s, back {DOWN_SECONDS:g} s later", **outcome}
                )
            # Longer than the retry window: reported, then the next run completes.
            vectors.CHROMA_RETRY_SECONDS = 5.0
            folder = work / "index-outage"
            after = round(baseline["seconds"] * 0.5, 1)
            outcome = _index_once(
                folder, notes, embedder, server.url, ServerFault(server, after, None)
            )
            runs.append(
                {"case": f"killed at {after:g} s, away beyond a 5 s retry window", **outcome}
            )
            vectors.CHROMA_RETRY_SECONDS = window
            server.start()
            rerun = _index_once(folder, notes, embedder, server.url)
            runs.append({"case": "that index again, the server back", **rerun})
        finally:
            vectors.CHROMA_RETRY_SECONDS = window
            indexer.EMBED_BATCH_CHUNKS = batch
    return {
        "notes": notes_count,
        "chunks_per_write": CHUNKS_PER_WRITE,
        "retry_window_s": window,
        "runs": runs,
    }


def wait_until(condition: Callable[[], bool], seconds: float = 60.0) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            raise RuntimeError("the chromadb server did not come back")
        time.sleep(0.2)


# -- main ---------------------------------------------------------------------------------------
def main(argv: list[str] | None = None) -> int:
    from hearth.models.bundled import model_file
    from hearth.offline import enforce_offline

    enforce_offline()
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", type=Path)
    parser.add_argument("--model", help="model id or GGUF file (default: the default model)")
    parser.add_argument("--requests", type=int, default=50)
    parser.add_argument(
        "--queues", default="64,16", help="--max-queue values to load (default 64,16)"
    )
    parser.add_argument("--notes", type=int, default=40, help="notes indexed per chroma run")
    parser.add_argument("--skip", default="", help="comma list of load,remote,chroma to skip")
    args = parser.parse_args(argv)
    skip = {part.strip() for part in args.skip.split(",") if part.strip()}
    model = model_file(args.model)
    results: dict[str, Any] = {"model": model.stem, "machine": machine_description()}
    with tempfile.TemporaryDirectory(prefix="hearth-serve-bench-") as folder:
        work = Path(folder)
        home = work / "home"
        prepare_home(home, model)
        os.environ["HEARTH_HOME"] = str(home)
        if "load" not in skip:
            results["load"] = [
                load_run(work, int(q), args.requests) for q in args.queues.split(",")
            ]
            print_table(
                [
                    "max queue",
                    "answered",
                    "429",
                    "lost",
                    "mixed up",
                    "same as alone",
                    "wall s",
                    "answers/s",
                    "p50 s",
                    "p95 s",
                    "alone s",
                ],
                [
                    [
                        r["max_queue"],
                        r["answered"],
                        r["refused_429"],
                        r["lost"],
                        r["mixed_up"],
                        r["same_as_baseline"],
                        r["wall_seconds"],
                        r["answers_per_second"],
                        r["latency_p50_s"],
                        r["latency_p95_s"],
                        r["single_request_s"],
                    ]
                    for r in results["load"]
                ],
            )
        if "remote" not in skip:
            remote = remote_engine_killed(work, model)
            results["remote_engine_killed"] = remote
            print()
            print_table(
                [
                    "pieces before kill",
                    "error event",
                    "after kill s",
                    "hearth up",
                    "while down",
                    "recovered",
                    "restart s",
                ],
                [
                    [
                        remote["pieces_before_kill"],
                        bool(remote["error_event"]),
                        remote["error_event_after_kill_s"],
                        remote["hearth_up_after"],
                        remote["while_down"]["status"],
                        remote["recovered"],
                        remote["model_server_restart_s"],
                    ]
                ],
            )
            if remote["error_event"]:
                print(f"error event: {remote['error_event']['message']}")
            print(f"while down: {remote['while_down']['message']}")
        if "chroma" not in skip:
            chroma = chroma_restarted(work, args.notes)
            results["chroma_restarted"] = chroma
            print()
            print_table(
                [
                    "case",
                    "killed mid-index",
                    "indexed",
                    "error",
                    "retries",
                    "seconds",
                    "documents",
                    "orphans",
                    "missing",
                ],
                [
                    [
                        run["case"],
                        run.get("killed_during_index", ""),
                        run["indexed"],
                        "yes" if run["error"] else "",
                        run["retries_logged"],
                        run["seconds"],
                        run["documents"],
                        run.get("consistency", {}).get("orphan_passage_vectors", "-"),
                        run.get("consistency", {}).get("chunks_without_vectors", "-"),
                    ]
                    for run in chroma["runs"]
                ],
            )
            for run in chroma["runs"]:
                if run["error"]:
                    print(f"reported: {run['error']}")
    write_json(args.out, results)
    return 0
