"""A follow-up is searched with its subject: the earlier question's words are carried, and
the first words the earlier answer added where it cited a source."""

from __future__ import annotations

from hearth.assistant.follow_up import standalone_question
from hearth.engine.prompts import ChatMessage

HISTORY: list[ChatMessage] = [
    {"role": "user", "content": "What is holiday mode on the thermostat for?"},
    {"role": "assistant", "content": "It keeps the house at 12 degrees [1]."},
]


def test_a_follow_up_that_refers_back_is_searched_with_the_earlier_words() -> None:
    assert standalone_question("Where is its setting?", HISTORY) == (
        "Where is its setting? (holiday mode thermostat keeps house 12 degrees)"
    )
    # Too short to stand alone, though it names nothing back.
    assert standalone_question("And the price?", HISTORY) == (
        "And the price? (holiday mode thermostat keeps house 12 degrees)"
    )


def test_what_the_earlier_answer_named_is_carried_and_a_decline_names_nothing() -> None:
    asked: ChatMessage = {"role": "user", "content": "Which tool deletes files I uploaded?"}
    named: ChatMessage = {
        "role": "assistant",
        "content": "Yes, the dcut tool from the dput package removes files from the queue [2].",
    }
    assert standalone_question("How do I use it to cancel an upload?", [asked, named]) == (
        "How do I use it to cancel an upload? (tool deletes files uploaded dcut dput package "
        "removes queue)"
    )
    declined: ChatMessage = {"role": "assistant", "content": "I couldn't find that [in them]."}
    assert standalone_question("How do I use it?", [asked, declined]) == (
        "How do I use it? (tool deletes files uploaded)"
    )


def test_a_question_that_stands_alone_or_has_no_history_is_searched_as_asked() -> None:
    alone = "Which battery does the thermostat clock take?"
    assert standalone_question(alone, HISTORY) == alone
    assert standalone_question("Where is its file?", []) == "Where is its file?"
