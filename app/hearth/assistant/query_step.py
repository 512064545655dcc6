"""The question step: one short, grammar-bound call to the loaded model before retrieval.

As in MiniRAG, the model turns the question into JSON before the search. Hearth's index
already reads the names, dates and titles a question mentions (the rules it indexes with,
plus the graph's own names), so the model is asked only for what rules cannot do: how many
events the question joins, and for two or more ("did X happen before Y?") the parts, each
naming who acts, to search for separately; the index reads each part's entities as it
reads the question's. (Asking for names and keywords as well made the step's p50 2.1 s
against 1.2 s without them on LiHua-World, and appending them to the question lost
recall.) A grammar makes every reply a valid prefix of that JSON; generation is capped,
and a reply cut off by the cap is closed and used. The step is skipped for base models
(no instructions to follow) and, failing or crashing, falls back to model-free retrieval
with a log line, never an error to the user.

The worked examples describe no real document: they show the shape of a good reply.
"""

from __future__ import annotations

import json
import logging
import time
from dataclasses import dataclass

from hearth.engine.errors import EngineError
from hearth.engine.prompts import ChatMessage
from hearth.engine.protocol import Engine
from hearth.engine.types import SamplingOptions
from hearth.index.query_plan import MAX_PARTS, QueryPlan

log = logging.getLogger(__name__)

MAX_TOKENS = 64
MAX_QUESTION_CHARS = 600  # a longer question is cut for this step only
QUERY_SYSTEM = (
    'You prepare a search of the user\'s documents. Reply with JSON only: "events", how '
    "many separate events the question joins: 1 for a question about one thing; 2 when it "
    "asks whether one event happened before or after another, or the time between them. "
    'For 2 or more, "parts": each event as a short statement that names who does what, '
    "in the question's words."
)
EXAMPLES: list[tuple[str, QueryPlan]] = [
    (
        "Did Maria pay the plumber before she moved into the flat on Elm Road?",
        QueryPlan(parts=["Maria paid the plumber", "Maria moved into the flat on Elm Road"]),
    ),
    ("What time does the library open on Saturdays?", QueryPlan(parts=[])),
    ("Which film did Sam and Priya watch on Friday?", QueryPlan(parts=[])),
]

_STRING = r'"\"" [^"\\\x00-\x1f]+ "\""'


def _parts_rule(count: int) -> str:
    strings = ' ", " '.join(["str"] * count)
    return f'"{count}, \\"parts\\": [" {strings} "]}}"'


# The count comes first and is one token: a question about one thing (most of them) costs
# a reply of three tokens, and a lone part, which searches nothing new, cannot be written.
PLAN_GRAMMAR = "\n".join(
    [
        'root ::= "{\\"events\\": " ("1}" | '
        + " | ".join(_parts_rule(count) for count in range(2, MAX_PARTS + 1))
        + ")",
        f"str ::= {_STRING}",
    ]
)


@dataclass(frozen=True)
class QueryStepResult:
    plan: QueryPlan | None  # None: the step was skipped or failed (search without it)
    seconds: float
    raw: str = ""


def _closed(text: str) -> str:
    """``text`` with its open string, arrays and objects closed, a dangling comma dropped."""
    stack: list[str] = []
    in_string = escaped = False
    for char in text:
        if in_string:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                in_string = False
        elif char == '"':
            in_string = True
        elif char in "[{":
            stack.append("]" if char == "[" else "}")
        elif char in "]}" and stack:
            stack.pop()
    closed = (text + ('"' if in_string else "")).rstrip().rstrip(",")
    return closed + "".join(reversed(stack))


def close_json_prefix(text: str) -> str:
    """Complete a valid JSON prefix (a reply cut off by the token cap). Where closing alone
    is not enough (cut inside a key), the shortest cut-back that parses."""
    for end in range(len(text), 0, -1):
        candidate = _closed(text[:end])
        try:
            json.loads(candidate)
        except ValueError:
            continue
        return candidate
    return "{}"


def query_messages(question: str) -> list[ChatMessage]:
    messages: list[ChatMessage] = [{"role": "system", "content": QUERY_SYSTEM}]
    for example, plan in EXAMPLES:
        messages.append({"role": "user", "content": example})
        messages.append({"role": "assistant", "content": json.dumps(plan.to_json())})
    messages.append({"role": "user", "content": question[:MAX_QUESTION_CHARS]})
    return messages


def plan_question(engine: Engine, question: str) -> QueryStepResult:
    """The question step, or a result without a plan when it cannot run or fails."""
    started = time.perf_counter()
    if not question.strip():
        return QueryStepResult(None, 0.0)
    try:
        if not engine.status().has_chat_template:
            return QueryStepResult(None, time.perf_counter() - started)
        raw = engine.stream_chat(
            query_messages(question),
            SamplingOptions(
                max_tokens=MAX_TOKENS, temperature=0.0, grammar=PLAN_GRAMMAR, repeat_penalty=1.0
            ),
        ).text()
    except EngineError as error:
        log.warning("question step failed (%s); searching without it", error)
        return QueryStepResult(None, time.perf_counter() - started)
    try:
        plan = QueryPlan.from_json(json.loads(close_json_prefix(raw)))
    except ValueError:
        log.warning("question step reply did not parse (%r); searching without it", raw)
        return QueryStepResult(None, time.perf_counter() - started, raw)
    seconds = time.perf_counter() - started
    log.info("question step in %.2f s: %s", seconds, plan.to_json())
    return QueryStepResult(plan, seconds, raw)


def plan_search(question: str, engine: Engine | None = None) -> QueryStepResult:
    """The deep search's plan: the question's own clauses where a connective joins two
    (no model: on LiHua-World they found as much as the 0.5B's parts), else the question
    step's when given an engine, else no parts (the deep search still takes its second
    hop). ``seconds`` is 0 where no model was asked."""
    clauses = QueryPlan.from_clauses(question)
    if clauses.split or engine is None:
        return QueryStepResult(clauses, 0.0)
    step = plan_question(engine, question)
    return step if step.plan is not None else QueryStepResult(clauses, step.seconds, step.raw)
