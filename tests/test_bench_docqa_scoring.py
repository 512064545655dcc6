"""bench_docqa's question file and its scoring rule, without a model."""

from __future__ import annotations

import re
from collections import Counter

from bench.docqa import (
    DOCUMENTS,
    DocQuestion,
    cites_right_source,
    is_right,
    load_questions,
)
from hearth.assistant.sources import Source


def test_the_questions_are_well_formed_and_the_halves_balanced() -> None:
    questions = load_questions()
    ids = {q.id for q in questions}
    assert len(ids) == len(questions) >= 80
    names = {d.name for d in DOCUMENTS}
    for question in questions:
        assert question.document in names
        assert question.half in ("tuning", "held_out")
        assert bool(question.facts) == question.answerable, question.id
        for pattern in question.facts:
            re.compile(pattern)
        if question.kind == "followup":
            assert question.follows in ids, question.id
    halves = Counter((q.half, q.kind) for q in questions)
    for kind in ("fact", "howto", "table", "unanswerable", "followup", "summary"):
        assert halves[("tuning", kind)] >= 2, kind
        assert halves[("held_out", kind)] >= 2, kind


def test_right_means_every_pattern_and_no_decline() -> None:
    question = DocQuestion("x-1", "policy.txt", "fact", "tuning", "Q?", ["cron\\.d", "\\b5\\b"], [])
    assert is_right("Put it in /etc/cron.d, field 5 [1].", question)
    assert not is_right("Put it in /etc/cron.d [1].", question)  # one fact missing
    assert not is_right("I couldn't find that in your documents.", question)
    assert not is_right("It is in /etc/cron.d [5].", question)  # a marker is not a fact
    unanswerable = DocQuestion("x-2", "policy.txt", "unanswerable", "tuning", "Q?", [], [])
    assert is_right("I couldn't find that in your documents.", unanswerable)
    assert not is_right("It is 1777 [1].", unanswerable)


def test_the_right_source_is_the_right_document_and_page() -> None:
    question = DocQuestion("x-3", "gnuplot.pdf", "fact", "tuning", "Q?", ["x"], [42])
    sources = [
        Source(1, "/docs/gnuplot.pdf", 41, "", 0.0),
        Source(2, "/docs/gnuplot.pdf", 42, "", 0.0),
    ]
    assert cites_right_source(sources, [2], question)
    assert not cites_right_source(sources, [1], question)
