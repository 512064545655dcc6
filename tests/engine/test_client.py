"""The engine client against the real bundled model through llama.cpp in its host process."""

from __future__ import annotations

import os
import re
import signal
import threading
from dataclasses import replace
from pathlib import Path

import pytest

from hearth.engine.client import EngineClient
from hearth.engine.errors import EngineCrashed, ModelLoadError, NoModelLoaded
from hearth.engine.prompts import ChatMessage
from hearth.engine.types import SamplingOptions
from hearth.models.gguf_metadata import read_gguf_metadata
from hearth.models.ram import estimate_ram
from tests.gguf_files import copy_with_string_field

QUESTION: list[ChatMessage] = [
    {"role": "system", "content": "You are a helpful assistant."},
    {"role": "user", "content": "Write a short story about a lighthouse keeper."},
]
LONG = SamplingOptions(max_tokens=200, temperature=0.0)


def test_streaming_gives_pieces_and_counts(engine: EngineClient, gemma_model: Path) -> None:
    status = engine.load(gemma_model, n_ctx=2048, n_threads=2)
    assert status.loaded
    assert status.model_path == gemma_model
    stream = engine.stream_chat(QUESTION, SamplingOptions(max_tokens=40, temperature=0.0))
    pieces = list(stream)
    assert len(pieces) > 3
    assert "".join(pieces).strip()
    assert stream.result.prompt_tokens == engine.count_chat_tokens(QUESTION)
    assert 0 < stream.result.completion_tokens <= 41
    assert stream.result.finish_reason in {"stop", "length"}


CHAT_TO_CONTINUE: list[ChatMessage] = [
    {"role": "system", "content": "You are a helpful assistant."},
    {
        "role": "user",
        "content": "Anna: Shall we have a picnic on Saturday? 😀\nBen: Yes! I'll bring sandwiches."
        "\nAnna: Great, I'll bring lemonade.\nBen: Should we invite Carla?\nAnna: Sure, I'll ask"
        " her tonight.\nBen: What time shall we meet?",
    },
]


def test_base_model_answer_ends_before_a_new_speaker(
    engine: EngineClient, gemma_model: Path
) -> None:
    engine.load(gemma_model, n_ctx=1024, n_threads=2)
    options = SamplingOptions(max_tokens=80, temperature=0.0)
    # Left to itself, the base model answers and then writes the chat's next turns.
    carried_on = engine.stream_chat(CHAT_TO_CONTINUE, options).text()
    first_line, _, rest = carried_on.partition("\n")
    assert re.match(r"(Anna|Ben|Carla):", rest), carried_on
    stream = engine.stream_chat(CHAT_TO_CONTINUE, replace(options, stop_at_new_speaker=True))
    guarded = "".join(stream)
    assert guarded == first_line
    assert stream.result.finish_reason == "stop"
    assert stream.result.completion_tokens < engine.count_tokens(carried_on)


def test_token_counting_uses_model_tokenizer(engine: EngineClient, gemma_model: Path) -> None:
    engine.load(gemma_model, n_ctx=1024, n_threads=2)
    short = engine.count_tokens("Hello")
    longer = engine.count_tokens("Hello there, lighthouse keeper of the northern coast.")
    assert 1 <= short < longer < 20


def test_requests_without_a_model_raise_typed_error(engine: EngineClient) -> None:
    with pytest.raises(NoModelLoaded):
        engine.count_tokens("hello")


def test_cancel_stops_before_next_token(engine: EngineClient, gemma_model: Path) -> None:
    engine.load(gemma_model, n_ctx=2048, n_threads=2)
    stream = engine.stream_chat(QUESTION, LONG)
    received: list[str] = []
    for piece in stream:
        received.append(piece)
        if len(received) == 3:
            # From another thread, as the GUI's Stop button does.
            threading.Thread(target=engine.cancel).start()
    assert stream.result.finish_reason == "cancelled"
    # Pieces already on the wire may still arrive, but generation stops within a token or two.
    assert len(received) <= 6
    # The engine is ready for the next request straight away.
    assert engine.count_tokens("still alive") > 0


def test_abandoned_stream_leaves_pipe_clean(engine: EngineClient, gemma_model: Path) -> None:
    engine.load(gemma_model, n_ctx=2048, n_threads=2)
    short = SamplingOptions(max_tokens=5, temperature=0.0)
    before = "".join(engine.stream_chat(QUESTION, short))
    stream = engine.stream_chat(QUESTION, LONG)
    next(stream)
    stream.close()
    # The abandoned stream's pieces never reach the next reply: the same request gives
    # exactly what it gave before (greedy decoding).
    after = "".join(engine.stream_chat(QUESTION, short))
    assert after.strip()
    assert after == before


def test_ram_estimate_within_30_percent_of_measured(
    engine: EngineClient, gemma_model: Path
) -> None:
    n_ctx = 8192
    baseline = engine.status().rss_bytes  # host up, llama.cpp imported, nothing loaded
    engine.load(gemma_model, n_ctx=n_ctx, n_threads=2)
    # Generate once so every weight page and compute buffer has been touched.
    "".join(engine.stream_chat(QUESTION, SamplingOptions(max_tokens=8, temperature=0.0)))
    growth = engine.status().rss_bytes - baseline
    estimate = estimate_ram(read_gguf_metadata(gemma_model), n_ctx).total_bytes
    assert abs(estimate - growth) / growth <= 0.30, (estimate, growth)


def test_switching_models_unloads_the_previous_one(
    engine: EngineClient, gemma_model: Path, tmp_path: Path
) -> None:
    second = copy_with_string_field(
        gemma_model, tmp_path / "second.gguf", "general.name", "Second model"
    )
    assert read_gguf_metadata(second).name.startswith("Second model")
    first_status = engine.load(gemma_model, n_ctx=2048, n_threads=2)
    switched = engine.load(second, n_ctx=2048, n_threads=2)
    assert switched.model_path == second
    assert switched.pid == first_status.pid
    # The old model was freed before the new one loaded: memory did not double.
    assert switched.rss_bytes < first_status.rss_bytes * 1.5
    answer = "".join(engine.stream_chat(QUESTION, SamplingOptions(max_tokens=8)))
    assert answer.strip()


def test_killed_host_raises_typed_error_then_recovers(
    engine: EngineClient, gemma_model: Path
) -> None:
    engine.load(gemma_model, n_ctx=2048, n_threads=2)
    host_pid = engine.host_pid
    assert host_pid is not None
    stream = engine.stream_chat(QUESTION, LONG)
    next(stream)
    os.kill(host_pid, signal.SIGKILL)
    with pytest.raises(EngineCrashed, match="stopped unexpectedly"):
        list(stream)
    # The next request starts a fresh host and reloads the same model.
    answer = "".join(engine.stream_chat(QUESTION, SamplingOptions(max_tokens=8)))
    assert answer.strip()
    assert engine.status().model_path == gemma_model


def test_loading_a_bad_file_is_a_typed_error(
    engine: EngineClient, gemma_model: Path, tmp_path: Path
) -> None:
    bad = copy_with_string_field(
        gemma_model, tmp_path / "alien.gguf", "general.architecture", "zzzzz9"
    )
    with pytest.raises(ModelLoadError, match="unknown model architecture"):
        engine.load(bad, n_ctx=1024, n_threads=2)
    # The host survived the failure and still serves a good model.
    assert engine.load(gemma_model, n_ctx=1024, n_threads=2).loaded


def test_a_kept_prompt_opening_gives_the_same_answer_as_reading_it_again(
    engine: EngineClient, qwen05_model: Path
) -> None:
    from hearth.assistant.grounded import grounded_messages
    from hearth.assistant.query_step import query_messages

    engine.load(qwen05_model, n_ctx=2048, n_threads=2)
    options = SamplingOptions(max_tokens=24, temperature=0.0)
    source = ["[1] (notes.txt)\nThe bakery on Mill Lane opens at 7 am and closes at 5 pm."]
    # Requests of two kinds alternate, each evicting the other's opening from llama.cpp.
    for question in ("When does the bakery open?", "When does the bakery close?"):
        engine.stream_chat(query_messages(question), options).text()
        engine.stream_chat(grounded_messages(question, source), options).text()
    assert engine.status().prefix_hits >= 2  # both openings were put back, not re-read
    kept = engine.stream_chat(query_messages("Where is the bakery?"), options).text()
    with EngineClient() as fresh:
        fresh.load(qwen05_model, n_ctx=2048, n_threads=2)
        assert fresh.stream_chat(query_messages("Where is the bakery?"), options).text() == kept


def test_a_question_is_read_from_its_kept_opening_whatever_was_asked_before(
    engine: EngineClient, qwen05_model: Path
) -> None:
    from hearth.assistant.grounded import grounded_messages

    engine.load(qwen05_model, n_ctx=2048, n_threads=2)
    options = SamplingOptions(max_tokens=24, temperature=1.0, seed=7)
    notes = ["[1] (notes.txt)\n" + "The bakery on Mill Lane opens at 7 am and closes at 5 pm. " * 6]
    asked = grounded_messages("When does the bakery close?", notes)
    tide = grounded_messages("When is high tide?", ["[1] (tide.txt)\nHigh tide is at 6 am."])
    engine.stream_chat(tide, options).text()
    first = engine.stream_chat(asked, options).text()
    opening = engine.status().reused_tokens  # the instructions, kept (prefix_cache.py)
    assert opening > 0
    # A question over the same sources leaves them in llama.cpp's cache: the next prompt is
    # read from the kept opening all the same, so its answer is the one it had before.
    engine.stream_chat(grounded_messages("When does the bakery open?", notes), options).text()
    again = engine.stream_chat(asked, options).text()
    assert engine.status().reused_tokens == opening
    assert again == first
