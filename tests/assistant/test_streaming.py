"""stream_reply, the one stream-and-cancel loop: pieces shown as they come, and a Stop
(mid-stream, or just after the last piece) is Cancelled, never a cut-off text."""

from __future__ import annotations

import pytest

from hearth.assistant.streaming import looping_chars, stream_reply
from hearth.engine.prompts import ChatMessage
from hearth.engine.types import SamplingOptions
from hearth.jobs import Cancelled
from tests.fakes import ScriptedEngine

MESSAGES: list[ChatMessage] = [{"role": "user", "content": "Where is the flue?"}]
OPTIONS = SamplingOptions(max_tokens=16)


def test_pieces_are_shown_as_they_come_and_joined() -> None:
    engine = ScriptedEngine(replies=[[" It is ", "in the attic [1]. "]])
    events: list[str] = []
    reply = stream_reply(
        engine,
        MESSAGES,
        OPTIONS,
        "answering",
        on_piece=events.append,
        on_first_piece=lambda: events.append("<first>"),
    )
    assert events == ["<first>", " It is ", "in the attic [1]. "]
    assert reply.text == " It is in the attic [1]. "  # as written: callers strip
    assert (reply.result.finish_reason, reply.result.completion_tokens) == ("stop", 2)
    assert reply.first_piece_at is not None
    assert engine.requests[0].options == OPTIONS


def test_no_piece_means_no_first_piece() -> None:
    reply = stream_reply(ScriptedEngine(replies=[[]]), MESSAGES, OPTIONS, "answering")
    assert (reply.text, reply.first_piece_at) == ("", None)


def test_a_stream_the_engine_cancelled_is_cancelled() -> None:
    engine = ScriptedEngine(replies=[["one ", "two ", "three"]])
    shown: list[str] = []

    def stop_after_first(piece: str) -> None:
        shown.append(piece)
        engine.cancel()  # as a turn's cancel hook does

    with pytest.raises(Cancelled, match="summarising was cancelled"):
        stream_reply(engine, MESSAGES, OPTIONS, "summarising", on_piece=stop_after_first)
    assert shown == ["one "]


def test_a_stop_after_the_last_piece_is_cancelled_too() -> None:
    stopped = False

    def should_cancel() -> bool:
        return stopped

    def stop(piece: str) -> None:
        nonlocal stopped
        stopped = True

    engine = ScriptedEngine(replies=[["all of it"]])
    with pytest.raises(Cancelled, match="suggesting questions was cancelled"):
        stream_reply(engine, MESSAGES, OPTIONS, "suggesting questions", should_cancel, stop)
    assert engine.streamed == ["all of it"]  # the engine finished; the reply is not kept


def test_a_reply_that_loops_ends_where_its_loop_began() -> None:
    # The 1.5B, its repeat penalty off, once wrote "[source 4]" to its token limit.
    answer = "Logs go in /var/log/package [4]."
    engine = ScriptedEngine(replies=[[answer, *[" [source 4]"] * 40]])
    shown: list[str] = []
    reply = stream_reply(engine, MESSAGES, OPTIONS, "answering", on_piece=shown.append)
    assert reply.text == answer + " [source 4]"  # the repeated words kept once
    assert reply.result.finish_reason == "looped"
    assert len(shown) == 5  # the model was stopped at the fourth repeat, not the fortieth


def test_repeated_marks_and_short_repeats_are_no_loop() -> None:
    for text in (
        "| option | default |\n|---|---|---|---|---|---|---|---|",
        "```\n0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0\n",
        "========================================",
        "Yes. Yes. Yes. Yes.",
        "It is in the attic [1]. The flue is on the roof [2].",
    ):
        assert looping_chars(text) == 0, text
    assert looping_chars("Done [1]." + " see [1]" * 4) == len(" see [1]") * 3
