"""SpeakerLineGuard: where a base model's answer ends once it starts a "Name:" line."""

from __future__ import annotations

import random

import pytest

from hearth.engine.prompts import SpeakerLineGuard


def guarded(text: str, pieces: list[str]) -> tuple[str, bool]:
    guard = SpeakerLineGuard()
    shown = "".join(guard.feed(piece) for piece in pieces)
    return shown + guard.flush(), guard.stopped


def splits(text: str) -> list[list[str]]:
    """The text whole, character by character, and in a few random pieces."""
    chooser = random.Random(len(text))
    cuts = sorted(chooser.sample(range(1, len(text)), min(6, len(text) - 1)))
    random_pieces = [text[a:b] for a, b in zip([0, *cuts], [*cuts, len(text)], strict=True)]
    return [[text], list(text), random_pieces]


@pytest.mark.parametrize(
    ("text", "shown", "stopped"),
    [
        ("On 20th of June.\nLiHua: Hey Adam! I just wanted", "On 20th of June.", True),
        ("Removable hooks.\nJennifer Moore: Great idea", "Removable hooks.", True),
        ("At noon.\nDr. Ivo Petrov-Berg: see you", "At noon.", True),
        # A label left at the very end is the start of a turn, not part of the answer.
        ("At noon.\nBen:", "At noon.", False),
        ("Ends on a short line\nOk", "Ends on a short line\nOk", False),
    ],
)
def test_answer_ends_where_a_new_speaker_starts(text: str, shown: str, stopped: bool) -> None:
    for pieces in splits(text):
        assert guarded(text, pieces) == (shown, stopped), pieces


@pytest.mark.parametrize(
    "text",
    [
        "Steps:\n1. Open the valve: slowly\n- Check: done",
        "See\nhttps://example.org/page for more",
        "Two lines\nof plain text.",
        "The list\nThe restaurant I liked best: Sora",
        "Time\n10:30 in the morning",
    ],
)
def test_lines_that_are_no_speakers_turn_go_through_whole(text: str) -> None:
    for pieces in splits(text):
        assert guarded(text, pieces) == (text, False), pieces


def test_text_before_a_line_break_is_never_held_back() -> None:
    guard = SpeakerLineGuard()
    assert guard.feed("It was ") == "It was "
    assert guard.feed("electric!\nLi") == "electric!"
    assert guard.feed("Hua") == ""
    assert guard.feed(": wow") == ""
    assert guard.stopped
    assert guard.feed(" more") == ""
    assert guard.flush() == ""
