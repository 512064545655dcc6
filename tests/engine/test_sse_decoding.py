"""How RemoteEngine reads an OpenAI-compatible server's stream of server-sent events, on
canned bytes: _sse_data on lines, and RemoteStream over httpx's MockTransport (httpx splits
the bytes into lines; _sse_data makes events of them; RemoteStream reads their JSON)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from hearth.engine.errors import GenerationError
from hearth.engine.remote import RemoteEngine, _sse_data, estimated_tokens
from hearth.engine.types import GenerationResult, SamplingOptions

BASE_URL = "http://model.test/v1"
SERVED = "served-model"


# -- _sse_data: the data of each event, from lines --------------------------------------------
def events(lines: list[str]) -> list[str]:
    return list(_sse_data(iter(lines)))


def test_each_event_is_its_data_lines_up_to_a_blank_line() -> None:
    assert events(["data: one", "", "data: two", "", "data: [DONE]", ""]) == [
        "one",
        "two",
        "[DONE]",
    ]


def test_comments_pings_other_fields_and_extra_blank_lines_are_skipped() -> None:
    lines = [
        ": ping",
        "",
        "",
        "event: message",
        "id: 7",
        "retry: 1000",
        "data: one",
        ":keep-alive",
        "",
        "",
        "",
        ": ping - 2026-01-01 00:00:00",
        "",
        "data: two",
        "",
    ]
    assert events(lines) == ["one", "two"]


def test_an_event_without_data_is_no_event() -> None:
    assert events(["event: ping", "", ": comment", "", "id: 3", ""]) == []
    assert events([]) == []
    assert events(["", "", ""]) == []


def test_the_data_lines_of_one_event_are_joined_with_newlines() -> None:
    lines = ['data: {"choices":', "data: []}", "", "data: a", "data:", "data: b", ""]
    assert events(lines) == ['{"choices":\n[]}', "a\n\nb"]


def test_the_space_after_the_colon_is_optional() -> None:
    assert events(["data:{}", "", "data:[DONE]", ""]) == ["{}", "[DONE]"]


def test_a_last_event_without_its_blank_line_still_counts() -> None:
    """A server that closes the connection right after its last data line."""
    assert events(["data: one", "", "data: two"]) == ["one", "two"]


# -- RemoteStream over canned bytes -----------------------------------------------------------
def sse(*values: dict[str, Any] | str, newline: str = "\n") -> bytes:
    """Events as a server writes them: one data line each, then a blank line."""
    lines = [v if isinstance(v, str) else json.dumps(v, ensure_ascii=False) for v in values]
    text = "".join(f"data: {line}{newline}{newline}" for line in lines)
    return text.encode()


def delta(content: str, finish: str | None = None) -> dict[str, Any]:
    return {
        "object": "chat.completion.chunk",
        "choices": [{"index": 0, "delta": {"content": content}, "finish_reason": finish}],
    }


ROLE: dict[str, Any] = {"choices": [{"index": 0, "delta": {"role": "assistant"}}]}
USAGE: dict[str, Any] = {"choices": [], "usage": {"prompt_tokens": 21, "completion_tokens": 3}}
# A reply as llama.cpp's and vLLM's servers stream it: a role chunk, pieces, a finish, usage.
REPLY = sse(
    ROLE, delta("Bon"), delta("jour, "), delta("le monde."), delta("", "length"), USAGE, "[DONE]"
)
PIECES = ["Bon", "jour, ", "le monde."]


class CannedServer:
    """An OpenAI-compatible server that lists one model and answers every generation with
    ``chunks`` (each a separate read of the response body)."""

    def __init__(self) -> None:
        self.chunks: list[bytes] = []
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        if request.method == "GET" and request.url.path == "/v1/models":
            return httpx.Response(200, json={"object": "list", "data": [{"id": SERVED}]})
        if request.method == "POST" and request.url.path in (
            "/v1/chat/completions",
            "/v1/completions",
        ):
            return httpx.Response(
                200,
                headers={"Content-Type": "text/event-stream"},
                content=iter(list(self.chunks)),
            )
        return httpx.Response(404, json={"error": {"message": "no such route"}})


@pytest.fixture
def server() -> CannedServer:
    return CannedServer()


@pytest.fixture
def remote(server: CannedServer, tmp_path: Path) -> Iterator[RemoteEngine]:
    """A RemoteEngine whose HTTP goes to ``server`` (no tokenizer there: tokens estimated)."""
    engine = RemoteEngine(BASE_URL)
    engine._http.close()
    engine._http = httpx.Client(transport=httpx.MockTransport(server), trust_env=False)
    engine.load(tmp_path / f"{SERVED}.gguf")
    assert engine.served_model == SERVED
    assert engine.token_counting.startswith("an estimate")
    yield engine
    engine.close()


def answer(
    remote: RemoteEngine, server: CannedServer, chunks: list[bytes]
) -> tuple[list[str], GenerationResult]:
    """The pieces and result of a chat answered with ``chunks``."""
    server.chunks = chunks
    stream = remote.stream_chat([{"role": "user", "content": "Hello"}], SamplingOptions())
    return list(stream), stream.result


def pieces_of(size: int, data: bytes) -> list[bytes]:
    return [data[i : i + size] for i in range(0, len(data), size)]


@pytest.mark.parametrize(
    "chunks",
    [
        pytest.param([REPLY], id="whole"),
        pytest.param(pieces_of(1, REPLY), id="a byte at a time"),
        pytest.param(pieces_of(7, REPLY), id="seven bytes at a time"),
        pytest.param([REPLY[: REPLY.index(b"jour")], REPLY[REPLY.index(b"jour") :]], id="mid-JSON"),
        pytest.param(
            [REPLY[: REPLY.index(b"ta: ")], REPLY[REPLY.index(b"ta: ") :]], id="mid-prefix"
        ),
    ],
)
def test_a_reply_in_any_chunks_is_its_pieces_finish_and_usage(
    remote: RemoteEngine, server: CannedServer, chunks: list[bytes]
) -> None:
    pieces, result = answer(remote, server, chunks)
    assert pieces == PIECES
    assert result.finish_reason == "length"
    assert (result.prompt_tokens, result.completion_tokens) == (21, 3)


@pytest.mark.parametrize("newline", ["\r\n", "\r"])
def test_crlf_and_cr_line_endings(remote: RemoteEngine, server: CannedServer, newline: str) -> None:
    data = sse(ROLE, *(delta(piece) for piece in PIECES), "[DONE]", newline=newline)
    # Split between every CR and its LF too.
    chunks = [part + b"\r" for part in data.split(b"\r")[:-1]] + [data.split(b"\r")[-1]]
    for given in ([data], chunks):
        pieces, result = answer(remote, server, given)
        assert pieces == PIECES
        assert result.finish_reason == "stop"


def test_keep_alive_comments_and_blank_lines_between_events(
    remote: RemoteEngine, server: CannedServer
) -> None:
    data = (
        b": ping\n\n"
        + sse(delta("Bon"))
        + b"\n\n: keep-alive\n\n\n"
        + b"event: message\nid: 2\n"
        + sse(delta("jour"))
        + b":\n\n"
        + sse("[DONE]")
    )
    assert answer(remote, server, pieces_of(5, data))[0] == ["Bon", "jour"]


def test_nothing_after_done_is_read(remote: RemoteEngine, server: CannedServer) -> None:
    data = sse(delta("Bon"), "[DONE]", delta("jour"), "{not json")
    pieces, result = answer(remote, server, [data])
    assert pieces == ["Bon"]
    assert result.finish_reason == "stop"
    # No usage from the server: the pieces are counted (estimated here).
    assert result.completion_tokens == estimated_tokens("Bon")


@pytest.mark.parametrize("done", ["data:[DONE]\n\n", "data: [DONE] \n\n", "data: [DONE]\r\n\r\n"])
def test_done_as_servers_write_it(remote: RemoteEngine, server: CannedServer, done: str) -> None:
    assert answer(remote, server, [sse(delta("Bon")), done.encode(), sse(delta("jour"))])[0] == [
        "Bon"
    ]


def test_a_stream_that_ends_without_done_ends_the_answer(
    remote: RemoteEngine, server: CannedServer
) -> None:
    pieces, result = answer(remote, server, [sse(delta("Bon"), delta("jour", "stop"))])
    assert pieces == ["Bon", "jour"]
    assert result.finish_reason == "stop"


def test_a_multi_line_data_event_is_one_json_value(
    remote: RemoteEngine, server: CannedServer
) -> None:
    data = b'data: {"choices": [{"index": 0,\ndata:  "delta": {"content": "Bonjour"}}]}\n\n'
    assert answer(remote, server, [data, sse("[DONE]")])[0] == ["Bonjour"]


def test_a_character_split_across_chunks_is_whole(
    remote: RemoteEngine, server: CannedServer
) -> None:
    data = sse(delta("café"), delta("灯塔"), "[DONE]")
    split = data.index("é".encode()) + 1  # between the two bytes of é
    pieces, _ = answer(remote, server, [data[:split], data[split:]])
    assert pieces == ["café", "灯塔"]
    assert answer(remote, server, pieces_of(1, data))[0] == ["café", "灯塔"]


def test_json_that_is_not_a_chunk_and_empty_deltas_give_no_piece(
    remote: RemoteEngine, server: CannedServer
) -> None:
    data = sse(
        "42",
        "null",
        '"text"',
        "[]",
        ROLE,
        {"choices": [{"index": 0, "delta": {}}]},
        {"choices": [{"index": 0, "delta": {"content": None}}]},
        {"choices": None},
        {},
        delta("Bon"),
        "[DONE]",
    )
    assert answer(remote, server, [data])[0] == ["Bon"]


def test_a_malformed_event_is_a_generation_error_after_the_pieces_before_it(
    remote: RemoteEngine,
    server: CannedServer,
) -> None:
    stream = remote.stream_chat([{"role": "user", "content": "Hello"}])
    server.chunks = [sse(delta("Bon")), b'data: {"choices": [{"delta": \n\n', sse("[DONE]")]
    assert next(stream) == "Bon"
    with pytest.raises(GenerationError) as raised:
        next(stream)
    assert str(raised.value) == f"the model server at {BASE_URL} sent something that is not JSON"
    assert isinstance(raised.value.__cause__, json.JSONDecodeError)


@pytest.mark.parametrize(
    ("error", "message"),
    [
        ({"message": "the model ran out of memory", "code": 500}, "the model ran out of memory"),
        ("context overflow", "context overflow"),
    ],
)
def test_an_error_event_is_a_generation_error_with_its_message(
    remote: RemoteEngine, server: CannedServer, error: dict[str, Any] | str, message: str
) -> None:
    stream = remote.stream_chat([{"role": "user", "content": "Hello"}])
    server.chunks = [sse(delta("Bon"), {"error": error}, delta("jour"), "[DONE]")]
    assert next(stream) == "Bon"
    with pytest.raises(GenerationError) as raised:
        next(stream)
    assert str(raised.value) == f"the model server failed: {message}"


def test_a_completion_streams_the_text_of_each_choice(
    remote: RemoteEngine, server: CannedServer
) -> None:
    server.chunks = [
        sse(
            {"choices": [{"index": 0, "text": "Once", "finish_reason": None}]},
            {"choices": [{"index": 0, "text": " upon", "finish_reason": "stop"}]},
            "[DONE]",
        )
    ]
    stream = remote.stream_completion("Tell a story:", SamplingOptions(max_tokens=5))
    assert list(stream) == ["Once", " upon"]
    assert stream.result.finish_reason == "stop"
    sent = json.loads(server.requests[-1].content)
    assert server.requests[-1].url.path == "/v1/completions"
    assert (sent["prompt"], sent["stream"], sent["max_tokens"], sent["model"]) == (
        "Tell a story:",
        True,
        5,
        SERVED,
    )
