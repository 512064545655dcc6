"""The question step: the loaded model reads the question before retrieval (real model),
and retrieval without it when it fails (scripted engine)."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import pytest

from hearth.assistant.grounded import GroundedAnswerer
from hearth.assistant.query_step import close_json_prefix, plan_question, plan_search
from hearth.engine.client import EngineClient
from hearth.engine.errors import EngineCrashed
from hearth.engine.types import SamplingOptions
from hearth.index.document_index import DocumentIndex
from hearth.index.query_plan import QueryPlan
from tests.fakes import ScriptedEngine

TWO_EVENTS = "Did Priya repaint the garden shed before she planted the tulip bulbs?"


def write_corpus(folder: Path) -> tuple[Path, Path]:
    """Two notes, one per event, among notes that mention both topics together (which the
    whole question matches better than either note)."""
    folder.mkdir()
    shed = folder / "saturday.md"
    shed.write_text("# Saturday\n\nPriya repainted the garden shed dark green.\n", "utf-8")
    bulbs = folder / "october.md"
    bulbs.write_text("# October\n\nPriya planted tulip bulbs along the fence.\n", "utf-8")
    for number in range(8):
        (folder / f"plans-{number}.md").write_text(
            f"# Plans {number}\n\nPriya talked about the garden shed and the tulip bulbs "
            f"again ({number}); nothing was repainted or planted yet.\n",
            "utf-8",
        )
    return shed, bulbs


def top_documents(index: DocumentIndex, question: str, plan: Any = None) -> list[str]:
    return [hit.document for hit in index.search(question, k=5, plan=plan)]


@pytest.mark.parametrize(
    "question",
    ["", "tulips", "x " * 1000, "¿Cuándo plantó Priya los tulipanes?", "2026-10-14"],
)
def test_the_step_parses_for_odd_questions(
    question: str, engine: EngineClient, qwen05_model: Path
) -> None:
    engine.load(qwen05_model, n_ctx=2048, n_threads=2)
    result = plan_question(engine, question)
    if not question:
        assert result.plan is None  # nothing to read
        return
    assert result.plan is not None, result.raw
    assert len(result.plan.parts) <= 3
    assert all(part.strip() for part in result.plan.parts)


def test_a_two_event_question_finds_both_notes_only_with_the_step(
    document_index: DocumentIndex, engine: EngineClient, qwen05_model: Path, tmp_path: Path
) -> None:
    shed, bulbs = write_corpus(tmp_path / "notes")
    document_index.index_paths([tmp_path / "notes"])
    without = top_documents(document_index, TWO_EVENTS)
    assert not {str(shed), str(bulbs)} <= set(without), without
    engine.load(qwen05_model, n_ctx=2048, n_threads=2)
    result = plan_question(engine, TWO_EVENTS)
    assert result.plan is not None
    assert len(result.plan.parts) >= 2, result.plan
    with_step = top_documents(document_index, TWO_EVENTS, result.plan)
    assert {str(shed), str(bulbs)} <= set(with_step), (result.plan.parts, with_step)


def test_a_question_s_own_clauses_split_it_without_a_model() -> None:
    # "she" searched alone would match anyone: it becomes the first clause's subject.
    assert QueryPlan.from_clauses(TWO_EVENTS).split == [
        "Priya repaint the garden shed",
        "Priya planted the tulip bulbs",
    ]
    # A subject that is no name is left alone.
    assert QueryPlan.from_clauses(
        "Did the council close the road after he complained about the noise?"
    ).split == ["the council close the road", "he complained about the noise"]
    # The two ends of an interval are parts too.
    assert QueryPlan.from_clauses(
        "How many days passed between Sam ordering the sofa and the sofa being delivered?"
    ).split == ["Sam ordering the sofa", "the sofa being delivered"]
    assert QueryPlan.from_clauses(
        "How long was it from Sam booking the hall to Maria sending the invitations?"
    ).split == ["Sam booking the hall", "Maria sending the invitations"]
    assert QueryPlan.from_clauses("What did Sam bring from Paris to Rome?").split == []
    # One event, a connective with too short a clause, and no connective: no parts.
    assert QueryPlan.from_clauses("What did Sam cook when at home?").split == []
    assert QueryPlan.from_clauses("Did Sam cook dinner before?").split == []
    assert QueryPlan.from_clauses("What time does the library open on Saturdays?").split == []
    result = plan_search(TWO_EVENTS)
    assert result.plan is not None
    assert result.seconds == 0.0
    assert result.plan.split == QueryPlan.from_clauses(TWO_EVENTS).split


def test_an_answer_without_the_step_still_reads_both_notes_of_a_two_event_question(
    document_index: DocumentIndex, tmp_path: Path
) -> None:
    """The answer's search is deep without a model: the clauses find each event's note."""
    shed, bulbs = write_corpus(tmp_path / "notes")
    document_index.index_paths([tmp_path / "notes"])
    assert not {str(shed), str(bulbs)} <= set(top_documents(document_index, TWO_EVENTS))
    engine = ScriptedEngine(replies=["Yes: the shed in the spring [1], the bulbs later [2]."])
    engine.load(tmp_path / "any.gguf")
    answerer = GroundedAnswerer(document_index, engine)
    answer = answerer.ask(TWO_EVENTS, SamplingOptions(max_tokens=32), max_sources=5)
    assert {str(shed), str(bulbs)} <= {source.document for source in answer.sources}, [
        source.document for source in answer.sources
    ]


class CrashingPlanner(ScriptedEngine):
    """The question step's call dies as if the engine host had crashed; the answer works."""

    def stream_chat(self, messages: Any, options: Any = None, tools: Any = None) -> Any:
        if options is not None and options.grammar and "parts" in options.grammar:
            raise EngineCrashed("the model process stopped unexpectedly (signal 11)")
        return super().stream_chat(messages, options, tools)


def test_a_crashed_step_falls_back_to_search_without_it(
    document_index: DocumentIndex, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    write_corpus(tmp_path / "notes")
    document_index.index_paths([tmp_path / "notes"])
    engine = CrashingPlanner(replies=["Priya repainted the shed green [1]."])
    engine.load(tmp_path / "any.gguf")
    with caplog.at_level(logging.WARNING):
        answerer = GroundedAnswerer(document_index, engine, query_step=True)
        answer = answerer.ask("What colour is the garden shed?", SamplingOptions(max_tokens=32))
    assert "question step failed" in caplog.text
    assert answer.answer == "Priya repainted the shed green [1]."
    assert answer.sources


def test_a_reply_cut_off_by_the_token_cap_is_closed_and_used() -> None:
    cut = '{"events": 2, "parts": ["Priya repainted the shed", "Priya planted the tul'
    closed = json.loads(close_json_prefix(cut))
    assert closed["parts"] == ["Priya repainted the shed", "Priya planted the tul"]
    assert QueryPlan.from_json(closed).parts == closed["parts"]
    assert json.loads(close_json_prefix('{"events": 2, "par')) == {"events": 2}
    assert QueryPlan.from_json({"parts": "not a list"}).parts == []


def test_a_deep_search_follows_the_best_note_to_the_next_one_on_its_thread(
    document_index: DocumentIndex, tmp_path: Path
) -> None:
    """The reminder shares the invitation's words (the noodle bar, half past six), not the
    question's: only the second hop, from the invitation, brings it into the top three."""
    folder = tmp_path / "chats"
    folder.mkdir()
    invitation = folder / "monday.md"
    invitation.write_text(
        "# Monday\n\nSam: Want to watch the film Northern Lights on Friday, Priya? "
        "We could eat at the noodle bar beside the Roxy first, at half past six.\n",
        "utf-8",
    )
    reminder = folder / "friday.md"
    reminder.write_text(
        "# Friday\n\nSam: Reminder: noodle bar beside the Roxy, half past six tonight. "
        "Bring the tickets!\n",
        "utf-8",
    )
    for number, topic in enumerate(
        [
            "a film review",
            "a film festival",
            "film cameras",
            "a film club",
            "a film score",
            "the film's actors",
        ]
    ):
        (folder / f"other-{number}.md").write_text(
            f"# Note {number}\n\nPriya wrote about {topic} and what to watch next.\n", "utf-8"
        )
    document_index.index_paths([folder])
    question = "Who does Priya go to watch the film Northern Lights with?"
    without = [hit.document for hit in document_index.search(question, k=3)]
    deep = [hit.document for hit in document_index.search(question, k=3, plan=QueryPlan())]
    assert without[0] == deep[0] == str(invitation)
    assert str(reminder) not in without, without
    assert str(reminder) in deep, deep
