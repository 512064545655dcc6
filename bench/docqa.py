"""Answers on real documents: manuals and standards of several formats, asked as users ask.

Five public documents from Debian's documentation packages (two PDF manuals, an EPUB, an
HTML standard and a plain-text manual; about 800 pages), fetched with ``apt-get download``
at the pinned versions (or read from ``--docs DIR``) and checked against pinned SHA-256
sums; they never enter the repository. The questions (docqa_questions.json beside this
file) were written for this benchmark from the documents' text, paraphrased: single facts,
how-to and why questions that need two or three facts, facts in tables and lists,
questions no document answers (ten a half, each a near miss: its subject is in a document,
the fact asked for is not; checked by searching the documents' text), follow-up pairs
(the second makes sense only after the first) and summaries of a section.

Every question goes through the same turn as the window, `hearth ask` and `hearth serve`
(``answer_turn``), with the settings' defaults and the model named (else this computer's
default); a follow-up is asked in the conversation of its first question.

Scoring (stated so figures compare over time):
- right: an answerable question's answer matches every one of its patterns (Python
  ``re.search``, case-insensitive, citation markers removed first) and is not a decline;
  an unanswerable one is right when the answer declines.
- cited right: the answer cites (by marker) a source from the right document, and for a
  PDF from one of the pages that hold the answer; source found: such a source was among
  those the model read (what retrieval gave it).
- grounded: every number, path, option and command the answer states occurs in one of
  its sources (or in the question), by the same check the answer itself passes through.
- halves: each question has a fixed half ("tuning" or "held_out"); tune on the first,
  report both. Seconds per answer and time to the first streamed piece are measured with
  the model warm, tool step included.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.common import machine_description, percentile, print_table, write_json
from hearth.assistant.sources import Source
from hearth.documents.safe_files import file_sha256

QUESTIONS_FILE = Path(__file__).with_name("docqa_questions.json")
KINDS = ("fact", "howto", "table", "unanswerable", "followup", "summary")
HALVES = ("tuning", "held_out")


@dataclass(frozen=True)
class BenchDocument:
    name: str
    package: str  # Debian package and version that ships it
    member: str  # its path inside the package
    sha256: str
    gzipped: bool = False


DOCUMENTS = [
    BenchDocument(
        "gnuplot.pdf",
        "gnuplot-doc=5.4.4+dfsg1-2",
        "usr/share/doc/gnuplot/gnuplot.pdf",
        "df68dd0613f043141512fc4436d17aaf96727d5a758d85233915ac5056a97206",
    ),
    BenchDocument(
        "maint-guide.en.pdf",
        "maint-guide=1.2.53",
        "usr/share/doc/maint-guide/maint-guide.en.pdf",
        "0b94abf28167fb3fe59db3d03f99b5faa50d9f6f696a7864825c5d0378ba27ef",
    ),
    BenchDocument(
        "developers-reference.epub",
        "developers-reference=12.18",
        "usr/share/developers-reference/developers-reference.epub",
        "415d6a1e351e5f72f85bc9428908a55a47b05a15422bbe962a9a963d04467d41",
    ),
    BenchDocument(
        "fhs-3.0.html",
        "debian-policy=4.6.2.0",
        "usr/share/doc/debian-policy/fhs/fhs-3.0.html",
        "05268acaf6ff17aa5f54228967831f2c60f4914ae3101767dcd70acb36cd821c",
    ),
    BenchDocument(
        "policy.txt",
        "debian-policy=4.6.2.0",
        "usr/share/doc/debian-policy/policy.txt.gz",
        "89dba06600463ed858b4ccd3bdf4e72452c512589f1029548346e5284eb71374",
        gzipped=True,
    ),
]


@dataclass(frozen=True)
class DocQuestion:
    id: str
    document: str
    kind: str
    half: str
    question: str
    facts: list[str]
    pages: list[int]
    follows: str | None = None

    @property
    def answerable(self) -> bool:
        return self.kind != "unanswerable"


def load_questions(path: Path = QUESTIONS_FILE) -> list[DocQuestion]:
    return [
        DocQuestion(
            item["id"],
            item["document"],
            item["kind"],
            item["half"],
            item["question"],
            list(item["facts"]),
            list(item.get("pages") or []),
            item.get("follows"),
        )
        for item in json.loads(path.read_text(encoding="utf-8"))
    ]


def locate_documents(folder: Path) -> list[Path]:
    """The benchmark's documents in ``folder``, fetched from Debian's packages (apt-get
    download, the pinned versions) where missing; each checked against its SHA-256."""
    import gzip

    folder.mkdir(parents=True, exist_ok=True)
    missing = [d for d in DOCUMENTS if not (folder / d.name).is_file()]
    packages = sorted({d.package for d in missing})
    if packages:
        print(f"fetching {', '.join(packages)} with apt-get download into {folder}", flush=True)
        with tempfile.TemporaryDirectory(prefix="hearth-docqa-") as temporary:
            work = Path(temporary)
            fetched = subprocess.run(
                ["apt-get", "download", *packages], cwd=work, capture_output=True, text=True
            )
            if fetched.returncode != 0:
                last = (fetched.stderr.strip().splitlines() or ["no output"])[-1]
                raise SystemExit(
                    f"bench_docqa: apt-get download failed ({last}); put the documents in "
                    f"{folder} or pass --docs DIR"
                )
            for deb in work.glob("*.deb"):
                subprocess.run(["dpkg-deb", "-x", str(deb), str(work / "root")], check=True)
            for document in missing:
                member = work / "root" / document.member
                if document.gzipped:
                    with (
                        gzip.open(member, "rb") as source,
                        (folder / document.name).open("wb") as target,
                    ):
                        shutil.copyfileobj(source, target)
                else:
                    shutil.copyfile(member, folder / document.name)
    paths = []
    for document in DOCUMENTS:
        path = folder / document.name
        if file_sha256(path) != document.sha256:
            raise SystemExit(f"bench_docqa: {path} is not the pinned version (SHA-256 differs)")
        paths.append(path)
    return paths


def is_right(answer: str, question: DocQuestion) -> bool:
    from hearth.assistant.citations import CITATION_MARKER
    from hearth.assistant.grounded import is_decline

    if not question.answerable:
        return is_decline(answer)
    if is_decline(answer):
        return False
    text = CITATION_MARKER.sub(" ", answer)
    return all(re.search(pattern, text, re.IGNORECASE) for pattern in question.facts)


def cites_right_source(turn_sources: list[Source], cited: list[int], question: DocQuestion) -> bool:
    for source in turn_sources:
        if source.n not in cited or Path(source.document).name != question.document:
            continue
        if not question.pages or source.page in question.pages:
            return True
    return False


def run(
    documents: list[Path],
    model: Path,
    questions: list[DocQuestion],
    home: Path,
    time_tool_step: bool = False,
    seed: int | None = None,
) -> dict[str, Any]:
    os.environ["HEARTH_HOME"] = str(home)
    from hearth.assistant.chat import (
        ANSWER_SEED,
        TurnRequest,
        answer_turn,
        run_tools,
        tool_could_help,
    )
    from hearth.assistant.grounded import as_checked
    from hearth.assistant.grounding import unsupported_facts
    from hearth.assistant.workspace import Workspace
    from hearth.engine.prompts import ChatMessage

    workspace = Workspace()
    rows: list[dict[str, Any]] = []
    try:
        started = time.perf_counter()
        report = workspace.index.index_paths(documents)
        index_seconds = time.perf_counter() - started
        for skipped in report.skipped:
            print(f"skipped {skipped.path}: {skipped.reason}", flush=True)
        chunks = sum(d.chunk_count for d in workspace.index.documents())
        print(f"{chunks} chunks in the index ({index_seconds:.0f} s to index)", flush=True)
        workspace.load_model(workspace.catalogue.add(model))
        # Warm: the first answer should not pay for loading the embedder or the tool router.
        answer_turn(workspace, TurnRequest("What is this about?"))
        turns: dict[str, tuple[str, str]] = {}
        for question in questions:
            history: list[ChatMessage] = []
            if question.follows:
                asked, answered = turns[question.follows]
                history = [
                    {"role": "user", "content": asked},
                    {"role": "assistant", "content": answered},
                ]
            first_piece: list[float] = []
            streamed: list[str] = []

            def note_first(
                piece: str, first_piece: list[float] = first_piece, streamed: list[str] = streamed
            ) -> None:
                if not first_piece:
                    first_piece.append(time.perf_counter())
                streamed.append(piece)

            tool_step_seconds = None
            if time_tool_step:
                # What the tool step costs where it runs for every question (as it did).
                started = time.perf_counter()
                run_tools(workspace, question.question)
                tool_step_seconds = time.perf_counter() - started
            asked_at = time.perf_counter()
            request = TurnRequest(
                question.question, history, seed=ANSWER_SEED if seed is None else seed
            )
            turn = answer_turn(workspace, request, note_first)
            seconds = time.perf_counter() - asked_at
            turns[question.id] = (question.question, turn.text)
            texts = [s.text for s in turn.sources]
            # As the answer's own check reads them: under each document's name.
            checked = [as_checked(s.document, s.text) for s in turn.sources]
            pairs = zip(turn.sources, checked, strict=True)
            cited = [text for source, text in pairs if source.n in turn.cited]
            row = {
                "id": question.id,
                "kind": question.kind,
                "half": question.half,
                "document": question.document,
                "question": question.question,
                "answer": turn.text,
                # As the model wrote it, before the checks (to replay them without a model).
                "draft": "".join(streamed).strip(),
                "right": is_right(turn.text, question),
                "cited_right": cites_right_source(turn.sources, turn.cited, question),
                # Retrieval's share: the right page was among the sources the model read.
                "found": cites_right_source(turn.sources, [s.n for s in turn.sources], question),
                "grounded": not unsupported_facts(turn.text, cited or checked, question.question),
                "unsupported": turn.unsupported,
                "search_query": turn.search_query,
                "tools": [call["tool"] for call in turn.tool_calls],
                "tool_step_ran": tool_could_help(workspace, question.question),
                "tool_step_seconds": tool_step_seconds,
                "sources": [
                    f"{Path(s.document).name}:{s.page or s.heading or ''}" for s in turn.sources
                ],
                "cited": turn.cited,
                # What the model read of each source: a check can be replayed on them.
                "source_texts": texts,
                "seconds": seconds,
                "first_token_seconds": (first_piece[0] if first_piece else time.perf_counter())
                - asked_at,
            }
            rows.append(row)
            mark = "ok " if row["right"] else "-- "
            print(f"{mark}{question.id:12} {seconds:5.1f} s  {turn.text[:110]!r}", flush=True)
    finally:
        workspace.close()
    return {
        "model": str(model),
        "seed": seed,  # None: Hearth's own (chat.ANSWER_SEED)
        "questions": len(rows),
        "index_seconds": index_seconds,
        "chunks": chunks,
        "summary": summarise(rows),
        "rows": rows,
        "machine": machine_description(),
    }


def replay(result_file: Path, model: Path, home: Path) -> int:
    """The answer's checks run again on the drafts of an earlier run (``--out`` file), over
    the same index and sources, without the model writing: what a change to the checks
    does, in seconds. Changed answers are printed for the tuning half only (the held-out
    half is counted, never read)."""
    os.environ["HEARTH_HOME"] = str(home)
    from hearth.assistant.grounded import GroundedAnswerer, cited_sources
    from hearth.assistant.workspace import Workspace
    from hearth.engine.prompts import ChatMessage

    earlier = json.loads(result_file.read_text(encoding="utf-8"))
    by_id = {q.id: q for q in load_questions()}
    with Workspace() as workspace:
        workspace.load_model(workspace.catalogue.add(model))
        answerer = GroundedAnswerer(workspace.index, workspace.engine)
        settings = workspace.settings
        # Per half/kind: questions, right before, right replayed, right page cited before
        # and replayed (answerable questions).
        before: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0, 0, 0])
        answered = {row["id"]: row["answer"] for row in earlier["rows"]}
        for row in earlier["rows"]:
            question = by_id[row["id"]]
            history: list[ChatMessage] | None = None
            if question.follows:
                # The turn before as the run had it: a follow-up's search reads its answer.
                history = [
                    {"role": "user", "content": by_id[question.follows].question},
                    {"role": "assistant", "content": answered.get(question.follows, "")},
                ]
            answer, _ = answerer.replay(
                question.question,
                row["draft"],
                settings.max_answer_tokens,
                settings.sources_per_answer,
                history,
            )
            right = is_right(answer, question)
            sources = _sources_of(row)
            counts = before[f"{question.half}/{question.kind}"]
            counts[0] += 1
            counts[1] += bool(row["right"])
            counts[2] += right
            if question.answerable:
                counts[3] += bool(row["cited_right"])
                cited, _ = cited_sources(answer, sources)  # markers, else overlap: as the run
                counts[4] += cites_right_source(sources, cited, question)
            if question.half == "tuning" and answer != row["answer"]:
                mark = {(True, False): "LOST", (False, True): "WON "}.get(
                    (row["right"], right), "same"
                )
                print(f"{mark} {question.id:12} {row['answer'][:90]!r}\n{'':17} -> {answer[:90]!r}")
    print_table(
        ["half/kind", "n", "right before", "right replayed", "cited before", "cited replayed"],
        [[key, *counts] for key, counts in sorted(before.items())],
    )
    return 0


def _sources_of(row: dict[str, Any]) -> list[Source]:
    """A stored row's sources as the run numbered them ("name:page" or "name:heading")."""
    sources = []
    for n, label in enumerate(row["sources"], start=1):
        name, _, where = label.partition(":")
        page = int(where) if where.isdigit() else None
        text = row["source_texts"][n - 1]
        sources.append(Source(n, name, page, text, 0.0, None if page else where or None))
    return sources


def summarise(rows: list[dict[str, Any]]) -> dict[str, Any]:
    groups: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for row in rows:
        for half in (row["half"], "all"):
            groups[f"{half}/all"].append(row)
            groups[f"{half}/{row['kind']}"].append(row)
    summary: dict[str, Any] = {}
    for key, members in sorted(groups.items()):
        answerable = [r for r in members if r["kind"] != "unanswerable"]
        unanswerable = [r for r in members if r["kind"] == "unanswerable"]
        summary[key] = {
            "questions": len(members),
            "right": sum(r["right"] for r in members) / len(members),
            "answerable_right": sum(r["right"] for r in answerable) / max(1, len(answerable)),
            "declined": sum(r["right"] for r in unanswerable) / max(1, len(unanswerable)),
            "cited_right": sum(r["cited_right"] for r in answerable) / max(1, len(answerable)),
            "found": sum(r["found"] for r in answerable) / max(1, len(answerable)),
            "grounded": sum(r["grounded"] for r in members) / len(members),
            "seconds_mean": sum(r["seconds"] for r in members) / len(members),
            "ttft_p50_s": percentile([r["first_token_seconds"] for r in members], 0.5),
            "ttft_p95_s": percentile([r["first_token_seconds"] for r in members], 0.95),
        }
    return summary


def main(argv: list[str] | None = None) -> int:
    from hearth.models.bundled import model_file
    from hearth.offline import enforce_offline

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", help="model id or GGUF file (default: this computer's default)")
    parser.add_argument(
        "--docs",
        type=Path,
        default=Path.home() / ".cache/hearth/bench-docqa",
        help="where the documents are kept (fetched there when missing)",
    )
    parser.add_argument("--home", type=Path, help="a HEARTH_HOME to keep (the index is reused)")
    parser.add_argument("--half", choices=[*HALVES, "both"], default="both")
    parser.add_argument("--kind", choices=KINDS, action="append", help="only these kinds")
    parser.add_argument(
        "--question", action="append", metavar="ID", help="only these questions (ids)"
    )
    parser.add_argument(
        "--seed",
        type=int,
        help="draw every answer with this seed instead of Hearth's own (another draw of the "
        "same code: how far two draws differ is the benchmark's noise)",
    )
    parser.add_argument("--out", type=Path)
    parser.add_argument(
        "--time-tool-step",
        action="store_true",
        help="also time the tool step for every question, as if it always ran",
    )
    parser.add_argument(
        "--replay",
        type=Path,
        metavar="RESULT_JSON",
        help="run the answer's checks again on an earlier run's drafts (needs --home)",
    )
    args = parser.parse_args(argv)
    if args.replay:
        if not args.home:
            parser.error("--replay needs the --home whose index the run used")
        enforce_offline()
        return replay(args.replay, model_file(args.model), args.home)
    documents = locate_documents(args.docs)
    enforce_offline()  # fetching the documents was the only network use
    model = model_file(args.model)
    questions = load_questions()
    by_id = {q.id: q for q in questions}
    chosen = [
        q
        for q in questions
        if (args.half == "both" or q.half == args.half)
        and (not args.kind or q.kind in args.kind)
        and (not args.question or q.id in args.question)
    ]
    missing = sorted(set(args.question or []) - {q.id for q in chosen})
    if missing:
        parser.error(f"no such question in the {args.half} half: {', '.join(missing)}")
    # A follow-up is asked after its first question, which is asked too.
    needed = {q.follows for q in chosen if q.follows}
    chosen = [q for q in questions if q in chosen or q.id in needed]
    del by_id
    with tempfile.TemporaryDirectory(prefix="hearth-docqa-") as temporary:
        home = args.home or Path(temporary)
        result = run(documents, model, chosen, home, args.time_tool_step, args.seed)
    summary = result["summary"]
    rows = []
    for half in [*HALVES, "all"]:
        for kind in ["all", *KINDS]:
            entry = summary.get(f"{half}/{kind}")
            if entry is None:
                continue
            rows.append(
                [
                    half,
                    kind,
                    entry["questions"],
                    entry["right"],
                    entry["cited_right"] if kind != "unanswerable" else "-",
                    entry["found"] if kind != "unanswerable" else "-",
                    entry["grounded"],
                    entry["seconds_mean"],
                    entry["ttft_p50_s"],
                    entry["ttft_p95_s"],
                ]
            )
    print_table(
        [
            "half",
            "kind",
            "n",
            "right",
            "cited right",
            "source found",
            "grounded",
            "s/answer",
            "ttft p50",
            "p95",
        ],
        rows,
    )
    tools = sum(bool(r["tools"]) for r in result["rows"])
    stepped = sum(r["tool_step_ran"] for r in result["rows"])
    print(
        f"{result['questions']} questions with {Path(result['model']).stem}; {result['chunks']}"
        f" chunks indexed in {result['index_seconds']:.0f} s; the tool step ran for {stepped},"
        f" a tool was called for {tools}; CPU: {result['machine']['cpu']},"
        f" {result['machine']['cores']} cores"
    )
    timed = [r["tool_step_seconds"] for r in result["rows"] if r["tool_step_seconds"] is not None]
    if timed:
        print(
            f"the tool step for every question (as before): p50 {percentile(timed, 0.5):.2f} s,"
            f" mean {sum(timed) / len(timed):.2f} s"
        )
    write_json(args.out, result)
    return 0


if __name__ == "__main__":
    sys.exit(main())
