"""A follow-up is searched with its subject: the earlier question's words are carried."""

from __future__ import annotations

from hearth.assistant.follow_up import standalone_question
from hearth.engine.prompts import ChatMessage

HISTORY: list[ChatMessage] = [
    {"role": "user", "content": "What is holiday mode on the thermostat for?"},
    {"role": "assistant", "content": "It keeps the house at 12 degrees [1]."},
]


def test_a_follow_up_that_refers_back_is_searched_with_the_earlier_words() -> None:
    assert standalone_question("Where is its setting?", HISTORY) == (
        "Where is its setting? (holiday mode thermostat)"
    )
    # Too short to stand alone, though it names nothing back.
    assert standalone_question("And the price?", HISTORY) == (
        "And the price? (holiday mode thermostat)"
    )


def test_a_question_that_stands_alone_or_has_no_history_is_searched_as_asked() -> None:
    alone = "Which battery does the thermostat clock take?"
    assert standalone_question(alone, HISTORY) == alone
    assert standalone_question("Where is its file?", []) == "Where is its file?"
