"""End-to-end answer quality on LiHua-World with the default model (or the one named),
with and without retrieval, on a fixed seeded sample of 100 questions (all three types).

Scoring rule (stated so figures compare over time): both answers are normalised
(lowercase, accents and punctuation removed, English stop words dropped, digits kept;
since 2026-12-01 also [n] citation markers removed, which no model wrote before);
the score is the token F1 between them (as in SQuAD). A gold answer made only of stop
words ("No") keeps them, and so does the answer it is compared with: before 2026-12-03
such a question scored 0 whatever the answer. An answer "matches" when it
contains at least half of the gold answer's tokens. For Null questions (gold
"Insufficient information"), an answer scores 1 when it declines (says the documents do
not say, it does not know, or there is insufficient information) and 0 otherwise.

Citations, with retrieval: cited_share is the share of answers with at least one [n]
marker that names a real source; cited_holds_gold_share the share of answerable questions
whose answer cites (by marker) a source from a gold evidence session. Time to first token
is measured from the question to the answer's first piece, with the model warm.
"""

from __future__ import annotations

import argparse
import json
import random
import re
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

from bench.common import machine_description, percentile, print_table, write_json
from bench.lihua import DEFAULT_DATA, Question, extract_sessions, load_questions
from hearth.assistant.citations import CITATION_MARKER
from hearth.index.keywords import content_words, folded_words
from hearth.settings import Settings

SAMPLE_SIZE = 100
SEED = 20260714
DECLINES = re.compile(
    r"do(?:es)? not (?:say|mention|contain|know)|don't know|not (?:mentioned|stated|say)|"
    r"insufficient|no information|cannot (?:answer|find)|couldn't find|can't answer",
    re.IGNORECASE,
)


def normalised_tokens(text: str, stop_words: bool = False) -> list[str]:
    # Citation markers ("[2]") are not part of what an answer says.
    unmarked = CITATION_MARKER.sub(" ", text)
    return folded_words(unmarked) if stop_words else content_words(unmarked)


def score(answer: str, question: Question) -> tuple[float, bool]:
    if question.kind == "Null":
        declined = bool(DECLINES.search(answer))
        return (1.0 if declined else 0.0), declined
    gold = normalised_tokens(question.answer)
    predicted = normalised_tokens(answer)
    if not gold:  # a gold answer of stop words only ("No") is compared word for word
        gold, predicted = (normalised_tokens(t, stop_words=True) for t in (question.answer, answer))
    if not gold or not predicted:
        return 0.0, False
    common = sum((Counter(gold) & Counter(predicted)).values())
    if common == 0:
        return 0.0, False
    precision, recall = common / len(predicted), common / len(gold)
    return 2 * precision * recall / (precision + recall), recall >= 0.5


def sample(questions: list[Question], seed: int = SEED, size: int = SAMPLE_SIZE) -> list[Question]:
    """The seeded sample; a smaller ``size`` is its first questions (random.sample draws
    another set for another size), so a short run compares with the full one."""
    ordered = sorted(questions, key=lambda q: int(q.id) if q.id.isdigit() else q.id)
    drawn = random.Random(seed).sample(ordered, min(max(size, SAMPLE_SIZE), len(ordered)))
    return drawn[:size]


def run(
    data: Path,
    work: Path,
    model: Path,
    n_ctx: int,
    max_tokens: int,
    seed: int = SEED,
    size: int = SAMPLE_SIZE,
    query_step: bool = False,
    without_retrieval: bool = True,
) -> dict[str, Any]:
    from hearth.assistant.citations import cited_numbers
    from hearth.assistant.grounded import GroundedAnswerer
    from hearth.engine.client import EngineClient
    from hearth.engine.prompts import ChatMessage
    from hearth.engine.types import SamplingOptions
    from hearth.index.document_index import DocumentIndex
    from hearth.settings import DEFAULT_SYSTEM_PROMPT

    if not (work / "sessions").is_dir():
        extract_sessions(data, work / "sessions")
    questions = sample(load_questions(data), seed, size)
    index = DocumentIndex(work / "index")
    index.index_paths([work / "sessions"])
    # As the app answers (chat.answer_options): no carrying on as a speaker of the sources.
    options = SamplingOptions(max_tokens=max_tokens, temperature=0.0, stop_at_new_speaker=True)
    rows: list[dict[str, Any]] = []
    with EngineClient() as engine:
        engine.load(model, n_ctx=n_ctx, n_threads=2)
        answerer = GroundedAnswerer(index, engine, query_step=query_step)
        for question in questions:
            started = time.perf_counter()
            pieces: list[str] = []
            answer = answerer.ask(question.question, options, on_piece=pieces.append)
            grounded = answer.answer
            grounded_seconds = time.perf_counter() - started
            marked = cited_numbers(grounded, len(answer.sources))
            cited_stems = {Path(answer.sources[n - 1].document).stem for n in marked}
            started = time.perf_counter()
            plain = ""
            if without_retrieval:
                messages: list[ChatMessage] = [
                    {"role": "system", "content": DEFAULT_SYSTEM_PROMPT},
                    {"role": "user", "content": question.question},
                ]
                plain = engine.stream_chat(messages, options).text().strip()
            plain_seconds = time.perf_counter() - started
            rows.append(
                {
                    "id": question.id,
                    "type": question.kind,
                    "question": question.question,
                    "gold": question.answer,
                    "with_retrieval": grounded,
                    # As the model wrote it, before the checks (to replay them without a model).
                    "draft": "".join(pieces).strip(),
                    "without_retrieval": plain,
                    "with_score": score(grounded, question),
                    "without_score": score(plain, question),
                    "with_seconds": grounded_seconds,
                    "without_seconds": plain_seconds,
                    "first_token_seconds": answer.first_token_seconds,
                    "cited": marked,
                    "cited_gold": bool(cited_stems & set(question.evidence)),
                    "sources": [Path(s.document).stem for s in answer.sources],
                }
            )
            print(f"{len(rows):3} {question.id} F1 {rows[-1]['with_score'][0]:.2f}", flush=True)
    index.close()

    def summary(key: str, seconds_key: str) -> dict[str, float]:
        return {
            "mean_f1": sum(r[key][0] for r in rows) / len(rows),
            "match_rate": sum(r[key][1] for r in rows) / len(rows),
            "mean_seconds": sum(r[seconds_key] for r in rows) / len(rows),
            "seconds_p50": percentile([r[seconds_key] for r in rows], 0.5),
        }

    answerable = [r for r in rows if r["type"] != "Null"]
    with_retrieval = {
        **summary("with_score", "with_seconds"),
        "cited_share": sum(bool(r["cited"]) for r in rows) / len(rows),
        "cited_holds_gold_share": sum(r["cited_gold"] for r in answerable)
        / max(1, len(answerable)),
        "ttft_p50_s": percentile([r["first_token_seconds"] for r in rows], 0.5),
        "ttft_p95_s": percentile([r["first_token_seconds"] for r in rows], 0.95),
    }

    return {
        "model": str(model),
        "query_step": query_step,
        "questions": len(rows),
        "types": dict(Counter(r["type"] for r in rows)),
        "with_retrieval": with_retrieval,
        "without_retrieval": (
            summary("without_score", "without_seconds") if without_retrieval else None
        ),
        "rows": rows,
        "machine": machine_description(),
    }


def replay(result_file: Path, data: Path, work: Path, model: Path, n_ctx: int) -> int:
    """The answer's checks run again on an earlier run's drafts over the same index (kept
    with ``--work``), without the model writing; prints the scores before and after only
    (the answers are not shown)."""
    from hearth.assistant.grounded import GroundedAnswerer
    from hearth.engine.client import EngineClient
    from hearth.index.document_index import DocumentIndex

    earlier = json.loads(result_file.read_text(encoding="utf-8"))
    by_id = {q.id: q for q in load_questions(data)}
    before = after = changed = 0.0
    with DocumentIndex(work / "index") as index, EngineClient() as engine:
        engine.load(model, n_ctx=n_ctx, n_threads=2)
        answerer = GroundedAnswerer(index, engine)
        for row in earlier["rows"]:
            answer, _ = answerer.replay(row["question"], row["draft"], Settings().max_answer_tokens)
            before += row["with_score"][0]
            after += score(answer, by_id[row["id"]])[0]
            changed += answer != row["with_retrieval"]
    count = len(earlier["rows"])
    print(
        f"replayed {count} drafts: mean F1 {before / count:.3f} -> {after / count:.3f};"
        f" {changed:.0f} answers changed"
    )
    return 0


def main(argv: list[str] | None = None) -> int:
    from hearth.models.bundled import model_file
    from hearth.offline import enforce_offline

    enforce_offline()
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--out", type=Path)
    parser.add_argument("--model", help="model id or GGUF file (default: the default model)")
    parser.add_argument("--ctx", type=int, default=4096)
    # The app's answer length (Settings.max_answer_tokens, 384): until 2026-12-06 this was 48,
    # which, once answers had no 20-word cap, cut many before their first citation.
    parser.add_argument("--max-tokens", type=int, default=Settings().max_answer_tokens)
    # Another seed draws other questions: tune prompts on those, report on the default.
    parser.add_argument("--seed", type=int, default=SEED)
    parser.add_argument("--questions", type=int, default=SAMPLE_SIZE)
    parser.add_argument(
        "--query-step", action="store_true", help="answer with the question step (deep search)"
    )
    parser.add_argument(
        "--with-retrieval-only",
        action="store_true",
        help="skip the answers without retrieval (the model alone): half the time",
    )
    parser.add_argument(
        "--work", type=Path, help="keep the sessions and their index here (reused next time)"
    )
    parser.add_argument(
        "--replay",
        type=Path,
        metavar="RESULT_JSON",
        help="run the answer's checks again on an earlier run's drafts (needs --work)",
    )
    args = parser.parse_args(argv)
    model = model_file(args.model)
    if args.replay:
        if not args.work:
            parser.error("--replay needs the --work folder the run used")
        return replay(args.replay, args.data.resolve(), args.work, model, args.ctx)
    with tempfile.TemporaryDirectory(prefix="hearth-answers-") as temporary:
        work = args.work or Path(temporary)
        work.mkdir(parents=True, exist_ok=True)
        result = run(
            args.data.resolve(),
            work,
            model,
            args.ctx,
            args.max_tokens,
            args.seed,
            args.questions,
            args.query_step,
            not args.with_retrieval_only,
        )
    print_table(
        ["mode", "mean F1", "match rate", "s/answer"],
        [
            [
                mode,
                result[mode]["mean_f1"],
                result[mode]["match_rate"],
                result[mode]["mean_seconds"],
            ]
            for mode in ("with_retrieval", "without_retrieval")
            if result[mode] is not None
        ],
    )
    cited = result["with_retrieval"]
    print(
        f"with retrieval: cited_share {cited['cited_share']:.3f}, cited_holds_gold_share "
        f"{cited['cited_holds_gold_share']:.3f}, first token p50/p95 {cited['ttft_p50_s']:.2f}"
        f"/{cited['ttft_p95_s']:.2f} s, seconds p50 {cited['seconds_p50']:.2f}"
    )
    print(f"{result['questions']} questions {result['types']} with {Path(result['model']).stem}")
    write_json(args.out, result)
    return 0
