"""A follow-up made standalone: by the model where it can, else by carrying the earlier
question's words into the search."""

from __future__ import annotations

from hearth.assistant.follow_up import standalone_question
from hearth.engine.prompts import ChatMessage
from tests.fakes import ScriptedEngine

HISTORY: list[ChatMessage] = [
    {"role": "user", "content": "What is holiday mode on the thermostat for?"},
    {"role": "assistant", "content": "It keeps the house at 12 degrees [1]."},
]


def test_a_follow_up_is_rewritten_by_the_model_for_the_search_and_the_answer() -> None:
    engine = ScriptedEngine()
    engine.enqueue("Where is the holiday mode setting of the thermostat?")
    searched, answered = standalone_question("Where is its setting?", HISTORY, engine)
    assert searched == answered == "Where is the holiday mode setting of the thermostat?"
    # The model was shown the earlier question and the follow-up, nothing else.
    messages = engine.requests[-1].messages
    assert messages is not None
    last = messages[-1]["content"]
    assert "What is holiday mode on the thermostat for?" in last
    assert "Where is its setting?" in last


def test_a_rewrite_that_loses_the_follow_up_s_words_is_not_used() -> None:
    engine = ScriptedEngine()
    engine.enqueue("Is holiday mode useful?")  # answers another question
    searched, answered = standalone_question("Where is its setting?", HISTORY, engine)
    assert answered == "Where is its setting?"
    assert searched == "Where is its setting? (holiday mode thermostat)"


def test_a_question_that_stands_alone_is_not_rewritten() -> None:
    engine = ScriptedEngine()
    alone = "Which battery does the thermostat clock take?"
    assert standalone_question(alone, HISTORY, engine) == (alone, alone)
    assert engine.requests == []
    assert standalone_question("Where is its file?", [], engine) == ("Where is its file?",) * 2


def test_without_a_model_the_earlier_words_are_carried_into_the_search() -> None:
    searched, answered = standalone_question("Where is its setting?", HISTORY)
    assert (searched, answered) == (
        "Where is its setting? (holiday mode thermostat)",
        "Where is its setting?",
    )
