"""Stream-and-cancel, written once: every model call whose words are shown as they come,
or that a Stop may end (an answer, a chat, a summary's part, suggested questions), runs
through ``stream_reply``. The engine stops mid-token when cancelled (the turn's cancel
hook calls ``engine.cancel()``) and ends its stream with the finish reason "cancelled";
a cancel that came just after the last token is caught by the check after the stream.
Either way the caller gets Cancelled, never a cut-off text to keep. A reply that loops is
stopped there (finish reason "looped") and keeps its repeated words once."""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from dataclasses import dataclass, replace

from hearth.engine.prompts import ChatMessage
from hearth.engine.protocol import Engine, GenerationStream
from hearth.engine.types import GenerationResult, SamplingOptions
from hearth.jobs import CancelCheck, Cancelled, check_cancelled


@dataclass
class StreamedReply:
    text: str  # the pieces joined, as the model wrote them (not stripped)
    result: GenerationResult
    # When the first piece came (time.perf_counter()); None when none came.
    first_piece_at: float | None = None


def stream_reply(
    engine: Engine,
    messages: list[ChatMessage],
    options: SamplingOptions,
    what: str,
    should_cancel: CancelCheck | None = None,
    on_piece: Callable[[str], None] | None = None,
    on_first_piece: Callable[[], None] | None = None,
) -> StreamedReply:
    """The model's reply to ``messages``, each piece passed to ``on_piece`` as it comes
    (``on_first_piece`` runs before the first). Raises Cancelled ("<what> was cancelled")
    when the engine's stream was cancelled or ``should_cancel`` says so once it ends."""
    stream = engine.stream_chat(messages, options)
    return _collected(stream, what, should_cancel, on_piece, on_first_piece)


def stream_continuation(
    engine: Engine,
    prompt: str,
    options: SamplingOptions,
    what: str,
    should_cancel: CancelCheck | None = None,
    on_piece: Callable[[str], None] | None = None,
) -> StreamedReply:
    """As ``stream_reply``, for raw ``prompt`` text the model goes on from (a reply begun
    already, as the model reads it)."""
    stream = engine.stream_completion(prompt, options)
    return _collected(stream, what, should_cancel, on_piece, None)


def _collected(
    stream: GenerationStream,
    what: str,
    should_cancel: CancelCheck | None,
    on_piece: Callable[[str], None] | None,
    on_first_piece: Callable[[], None] | None,
) -> StreamedReply:
    pieces: list[str] = []
    first_piece_at: float | None = None
    tail = ""
    looped = 0
    for piece in stream:
        if first_piece_at is None:
            first_piece_at = time.perf_counter()
            if on_first_piece is not None:
                on_first_piece()
        pieces.append(piece)
        if on_piece is not None:
            on_piece(piece)
        tail = (tail + piece)[-LOOP_WINDOW_CHARS:]
        looped = looping_chars(tail)
        if looped:
            stream.close()  # cancels the generation; the host is ready for the next
            break
    # Closed for its loop, the stream may say "cancelled": only the user's cancel counts.
    if stream.result.finish_reason == "cancelled" and not looped:
        raise Cancelled(f"{what} was cancelled")
    check_cancelled(should_cancel, what)
    text = "".join(pieces)
    if looped:
        result = replace(stream.result, finish_reason=LOOPED, completion_tokens=len(pieces))
        return StreamedReply(text[: len(text) - looped], result, first_piece_at)
    return StreamedReply(text, stream.result, first_piece_at)


# A small model can loop until its token limit: the 1.5B, its repeat penalty off, wrote
# "[source 4]" over and over after its answer, to its token limit (bench_docqa tuning,
# policy-07). A reply ends where its last piece of text has come LOOP_REPEATS times in a
# row, and keeps it once. A unit has a letter and some length, so a rule of dashes, a
# table's "---|" or a row of zeros in a code block is no loop.
LOOPED = "looped"
LOOP_REPEATS = 4
LOOP_MIN_UNIT_CHARS = 8
LOOP_WINDOW_CHARS = 800
_WORD_CHAR = re.compile(r"[A-Za-z]")


def looping_chars(text: str) -> int:
    """How many characters at the end of ``text`` repeat what came just before them,
    where its end is one unit written LOOP_REPEATS times over; 0 where it is not."""
    longest = len(text) // LOOP_REPEATS
    for size in range(LOOP_MIN_UNIT_CHARS, longest + 1):
        unit = text[-size:]
        if text.endswith(unit * LOOP_REPEATS) and _WORD_CHAR.search(unit):
            return size * (LOOP_REPEATS - 1)
    return 0
