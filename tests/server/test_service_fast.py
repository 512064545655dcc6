"""The API over HearthService in-process: Starlette's TestClient against create_app, the
scripted engine answering (no model, no server, no port). The real-model proof is in
test_serve.py; these check the routes, the request checks and the gates quickly."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, Protocol

import pytest
from fastapi.testclient import TestClient

from hearth.assistant.chat import ANSWER_SEED
from hearth.engine.remote import _sse_data
from hearth.server.app import LOOPBACK_HOSTS, create_app
from hearth.server.service import DOCUMENTS_MODEL, EMBEDDING_MODEL, HearthService
from tests.fakes import boiler_notes

if TYPE_CHECKING:
    from collections.abc import Collection
    from pathlib import Path

    from hearth.assistant.workspace import Workspace
    from hearth.index.embedder import Embedder
    from tests.fakes import ScriptedEngine

MODEL = "tiny-test-model"  # the scripted workspace's installed default
LOOPBACK_URL = "http://127.0.0.1:8765"  # the Host a client of ``hearth serve`` sends
USER: list[dict[str, Any]] = [{"role": "user", "content": "Hello"}]
WEATHER_TOOL: dict[str, Any] = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "The current weather in a city",
        "parameters": {
            "type": "object",
            "properties": {"city": {"type": "string"}},
            "required": ["city"],
        },
    },
}

ServiceFactory = Callable[[int], HearthService]


class Reply(Protocol):
    """What these tests read of TestClient's responses (httpx2's, or httpx's where only
    that is installed)."""

    @property
    def status_code(self) -> int: ...
    @property
    def headers(self) -> Mapping[str, str]: ...
    @property
    def text(self) -> str: ...
    def json(self, **kwargs: Any) -> Any: ...
    def read(self) -> bytes: ...
    def iter_lines(self) -> Iterator[str]: ...


@pytest.fixture
def make_service(
    scripted_workspace: Workspace, shared_embedder: Embedder
) -> Iterator[ServiceFactory]:
    """HearthService over the scripted workspace, with ``max_waiting`` places in its queues
    (one service per test)."""
    from hearth.index.document_index import DocumentIndex

    made: list[HearthService] = []

    def make(max_waiting: int = 4) -> HearthService:
        lookup = DocumentIndex(embedder=shared_embedder)
        service = HearthService(scripted_workspace, lookup, max_waiting)
        made.append(service)
        return service

    yield make
    for service in made:
        service.engine_queue.shutdown()
        service.lookup_queue.shutdown()
        service.lookup_index.close()


@pytest.fixture
def service(make_service: ServiceFactory) -> HearthService:
    return make_service(4)


@contextmanager
def api(
    service: HearthService,
    token: str | None = None,
    hosts: Collection[str] | None = LOOPBACK_HOSTS,
    base_url: str = LOOPBACK_URL,
) -> Iterator[TestClient]:
    with TestClient(create_app(service, token, hosts), base_url=base_url) as client:
        yield client


@pytest.fixture
def client(service: HearthService) -> Iterator[TestClient]:
    """The API as ``hearth serve`` starts it on loopback: no token, the loopback names."""
    with api(service) as client:
        yield client


def error_of(reply: Reply) -> dict[str, Any]:
    """The OpenAI error in ``reply``, checked for its shape and its one-line message."""
    assert reply.headers["content-type"].startswith("application/json"), reply.text
    body = reply.json()
    assert set(body) == {"error"}, body
    error: dict[str, Any] = body["error"]
    assert set(error) == {"message", "type", "param", "code"}, error
    assert isinstance(error["message"], str)
    assert error["message"].strip(), error
    assert "\n" not in error["message"], error
    return error


# -- the request checks: a 4xx with the field named, before (or instead of) any answer --------
BAD_CHATS: list[tuple[str, dict[str, Any] | bytes, int, str | None, str | None]] = [
    # (id, body, status, param, code); the first ten are test_serve.py's former list.
    (
        "unknown model",
        {"model": "no-such-model", "messages": USER},
        404,
        "model",
        "model_not_found",
    ),
    ("no messages", {"messages": []}, 400, "messages", None),
    ("temperature", {"messages": USER, "temperature": 5}, 400, "temperature", None),
    (
        "wrong role",
        {"messages": [{"role": "wizard", "content": "x"}]},
        400,
        "messages.0.role",
        None,
    ),
    ("not JSON", b"{not json", 400, None, None),
    (
        "image content",
        {"messages": [{"role": "user", "content": [{"type": "image_url"}]}]},
        400,
        "messages.0.content",
        None,
    ),
    (
        "tool_choice not among tools",
        {
            "messages": USER,
            "tools": [WEATHER_TOOL],
            "tool_choice": {"type": "function", "function": {"name": "other"}},
        },
        400,
        "tool_choice",
        None,
    ),
    (
        "tool parameters not a schema",
        {
            "messages": USER,
            "tools": [{"type": "function", "function": {"name": "f", "parameters": {"type": 7}}}],
        },
        400,
        "tools.0.function.parameters",
        None,
    ),
    (
        "unknown document",
        {"messages": USER, "hearth": {"documents": ["missing.pdf"]}},
        400,
        "hearth.documents",
        None,
    ),
    (
        "beyond the context",
        {"messages": [{"role": "user", "content": "word " * 6000}]},
        400,
        "messages",
        "context_length_exceeded",
    ),
    ("max_tokens 0", {"messages": USER, "max_tokens": 0}, 400, "max_tokens", None),
    ("max_tokens too many", {"messages": USER, "max_tokens": 8193}, 400, "max_tokens", None),
    ("n 2", {"messages": USER, "n": 2}, 400, "n", None),
    ("top_p 0", {"messages": USER, "top_p": 0}, 400, "top_p", None),
    ("messages not a list", {"messages": "Hello"}, 400, "messages", None),
    ("body not an object", b"[1, 2]", 400, None, None),
    (
        "no user message",
        {"messages": [{"role": "system", "content": "Be brief."}]},
        400,
        "messages",
        None,
    ),
    (
        "empty question to the documents",
        {"model": DOCUMENTS_MODEL, "messages": [{"role": "user", "content": "  "}]},
        400,
        "messages",
        None,
    ),
    (
        "unknown hearth option",
        {"messages": USER, "hearth": {"documents": True, "magic": 1}},
        400,
        "hearth.magic",
        None,
    ),
    (
        "bad tool name",
        {"messages": USER, "tools": [{"type": "function", "function": {"name": "a b"}}]},
        400,
        "tools.0.function.name",
        None,
    ),
]


@pytest.mark.parametrize(
    ("body", "status", "param", "code"),
    [pytest.param(*case[1:], id=case[0]) for case in BAD_CHATS],
)
def test_a_bad_chat_request_is_a_4xx_naming_the_field(
    client: TestClient,
    scripted_engine: ScriptedEngine,
    body: dict[str, Any] | bytes,
    status: int,
    param: str | None,
    code: str | None,
) -> None:
    if isinstance(body, bytes):
        reply = client.post(
            "/v1/chat/completions", content=body, headers={"Content-Type": "application/json"}
        )
    else:
        reply = client.post("/v1/chat/completions", json=body)
    assert reply.status_code == status, reply.text
    error = error_of(reply)
    assert (error["type"], error["param"], error["code"]) == (
        "invalid_request_error",
        param,
        code,
    )
    assert not scripted_engine.requests  # nothing was generated
    # Still serving after it.
    assert client.post("/v1/chat/completions", json={"messages": USER}).status_code == 200


def test_the_messages_of_some_request_errors(client: TestClient) -> None:
    def message(body: dict[str, Any] | bytes) -> str:
        if isinstance(body, bytes):
            reply = client.post(
                "/v1/chat/completions", content=body, headers={"Content-Type": "application/json"}
            )
        else:
            reply = client.post("/v1/chat/completions", json=body)
        text: str = error_of(reply)["message"]
        return text

    assert message(b"{not json") == "the request body is not valid JSON"
    assert message(b"[1, 2]") == "the request body must be a JSON object"
    assert message({"model": "no-such-model", "messages": USER}) == (
        "the model 'no-such-model' does not exist (GET /v1/models lists them)"
    )
    assert message({"messages": [{"role": "system", "content": "x"}]}) == (
        "messages: there is no user message to answer"
    )
    assert message({"messages": USER, "temperature": 5}).startswith("temperature: ")
    assert message({"messages": [{"role": "user", "content": "word " * 6000}]}) == (
        "the messages take 7504 tokens; the model's context holds 4096"
    )


def test_the_other_routes_refuse_bad_requests(client: TestClient) -> None:
    empty_query = client.get("/v1/hearth/search", params={"q": ""})
    assert empty_query.status_code == 400
    assert error_of(empty_query)["param"] == "q"
    too_many = client.get("/v1/hearth/search", params={"q": "lantern", "k": 51})
    assert (too_many.status_code, error_of(too_many)["param"]) == (400, "k")
    not_a_number = client.get("/v1/hearth/search", params={"q": "lantern", "k": "many"})
    assert (not_a_number.status_code, error_of(not_a_number)["param"]) == (400, "k")
    unknown_document = client.get("/v1/hearth/search", params={"q": "x", "document": "no.pdf"})
    assert (unknown_document.status_code, error_of(unknown_document)["param"]) == (400, "document")

    nothing = client.post("/v1/embeddings", json={"input": [], "model": ""})
    assert (nothing.status_code, error_of(nothing)["param"]) == (400, "input")
    blank = client.post("/v1/embeddings", json={"input": ["a", ""]})
    assert (blank.status_code, error_of(blank)["param"]) == (400, "input")
    other_model = client.post("/v1/embeddings", json={"input": "a", "model": "ada-002"})
    assert other_model.status_code == 404
    assert (error_of(other_model)["param"], error_of(other_model)["code"]) == (
        "model",
        "model_not_found",
    )

    nowhere = client.get("/v1/nowhere")
    assert nowhere.status_code == 404
    assert error_of(nowhere)["message"] == "no such route: GET /v1/nowhere"
    wrong_method = client.get("/v1/chat/completions")
    assert wrong_method.status_code == 405
    assert error_of(wrong_method)["message"] == "no such route: GET /v1/chat/completions"


# -- answers ------------------------------------------------------------------------------
def test_models_lists_the_installed_ones_the_documents_model_and_the_embedder(
    client: TestClient,
) -> None:
    reply = client.get("/v1/models")
    assert reply.status_code == 200
    body = reply.json()
    assert body["object"] == "list"
    models = {model["id"]: model for model in body["data"]}
    assert list(models) == [MODEL, DOCUMENTS_MODEL, EMBEDDING_MODEL]
    for model in body["data"]:
        assert (model["object"], model["owned_by"]) == ("model", "hearth")
        assert isinstance(model["created"], int)
    assert "path" not in models[MODEL]["hearth"]  # no file paths given out
    assert models[DOCUMENTS_MODEL]["hearth"] == {"documents": True, "model": MODEL}
    assert models[EMBEDDING_MODEL]["hearth"] == {"embedding_dimensions": 384}


def test_a_whole_answer_comes_back_in_the_openai_shape(
    client: TestClient, scripted_engine: ScriptedEngine, service: HearthService
) -> None:
    scripted_engine.enqueue(["Bonjour", ", ", "le monde."])
    reply = client.post(
        "/v1/chat/completions",
        json={
            "model": MODEL,
            "messages": [{"role": "system", "content": "Be brief."}, *USER],
            "max_tokens": 7,
            "temperature": 0.5,
            "stop": "\n\n",
            "seed": 3,
            "user": "ignored",  # fields OpenAI clients send that make no difference
        },
    )
    assert reply.status_code == 200, reply.text
    body = reply.json()
    assert body["object"] == "chat.completion"
    assert body["id"].startswith("chatcmpl-")
    assert body["model"] == MODEL
    assert isinstance(body["created"], int)
    assert body["choices"] == [
        {
            "index": 0,
            "message": {"role": "assistant", "content": "Bonjour, le monde."},
            "finish_reason": "stop",
            "logprobs": None,
        }
    ]
    # The scripted engine counts 10 prompt tokens and a token per piece.
    assert body["usage"] == {"prompt_tokens": 10, "completion_tokens": 3, "total_tokens": 13}
    assert "hearth" not in body

    # What the engine was asked: the messages as sent, the request's sampling options.
    asked = scripted_engine.requests[-1]
    assert asked.messages == [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "Hello"},
    ]
    assert (asked.options.max_tokens, asked.options.temperature, asked.options.seed) == (7, 0.5, 3)
    assert "\n\n" in asked.options.stop
    counts = client.get("/v1/hearth/status").json()
    assert (counts["object"], counts["model"], counts["engine"]) == (
        "hearth.status",
        MODEL,
        "CPU : scripted",
    )
    assert counts["engine_queue"]["completed"] == 1
    # Without a seed, the one every answer of Hearth's is drawn with (as in the window).
    scripted_engine.enqueue("Encore.")
    assert client.post("/v1/chat/completions", json={"model": MODEL, "messages": USER}).is_success
    assert scripted_engine.requests[-1].options.seed == ANSWER_SEED


def test_a_documents_answer_cut_at_max_tokens_finishes_with_length(
    client: TestClient,
    scripted_engine: ScriptedEngine,
    scripted_workspace: Workspace,
    tmp_path: Path,
) -> None:
    notes = boiler_notes(tmp_path)
    scripted_workspace.index.index_paths([notes])
    scripted_workspace.settings.tools_enabled = False
    question = [{"role": "user", "content": "What should the boiler pressure be?"}]
    pieces = ["It should be ", "1.5 bar [1]. ", "Check it ", "when the boiler ", "is cold [1]."]
    for max_tokens, finish in ((3, "length"), (16, "stop")):
        scripted_engine.enqueue(pieces)
        reply = client.post(
            "/v1/chat/completions",
            json={"model": DOCUMENTS_MODEL, "messages": question, "max_tokens": max_tokens},
        )
        assert reply.status_code == 200, reply.text
        choice = reply.json()["choices"][0]
        assert choice["finish_reason"] == finish, choice
        assert choice["message"]["content"].startswith("It should be 1.5 bar [1].")


def sse_lines(reply: Reply) -> list[str]:
    assert reply.status_code == 200, reply.read()
    assert reply.headers["content-type"].startswith("text/event-stream")
    assert reply.headers["cache-control"] == "no-cache"
    return list(reply.iter_lines())


def test_a_streamed_answer_is_openai_chunks_then_done(
    client: TestClient, scripted_engine: ScriptedEngine
) -> None:
    pieces = ["Bonjour", ", ", "le ", "monde."]
    scripted_engine.enqueue(pieces)
    request = {
        "messages": USER,
        "stream": True,
        "stream_options": {"include_usage": True},
    }
    with client.stream("POST", "/v1/chat/completions", json=request) as reply:
        lines = sse_lines(reply)
    # Every event is one "data: " line and a blank line.
    assert all(line.startswith("data: ") for line in lines[0::2]), lines
    assert all(line == "" for line in lines[1::2]), lines
    assert lines[-2:] == ["data: [DONE]", ""]

    events = list(_sse_data(iter(lines)))  # Hearth's own decoder reads them as sent
    assert events[-1] == "[DONE]"
    chunks = [json.loads(event) for event in events[:-1]]
    assert len({chunk["id"] for chunk in chunks}) == 1
    assert chunks[0]["id"].startswith("chatcmpl-")
    assert {chunk["object"] for chunk in chunks} == {"chat.completion.chunk"}
    assert {chunk["model"] for chunk in chunks} == {MODEL}
    assert chunks[0]["choices"][0]["delta"] == {"role": "assistant", "content": ""}
    deltas = [c["choices"][0]["delta"].get("content") for c in chunks[1:] if c["choices"]]
    assert deltas[: len(pieces)] == pieces
    assert "".join(d or "" for d in deltas) == "Bonjour, le monde."
    finish = chunks[-2]["choices"][0]
    assert (finish["delta"], finish["finish_reason"]) == ({}, "stop")
    assert {c["choices"][0]["finish_reason"] for c in chunks[:-2]} == {None}
    assert chunks[-1]["choices"] == []
    assert chunks[-1]["usage"] == {"prompt_tokens": 10, "completion_tokens": 4, "total_tokens": 14}


def test_a_stream_without_include_usage_has_no_usage_chunk(client: TestClient) -> None:
    with client.stream(
        "POST", "/v1/chat/completions", json={"messages": USER, "stream": True}
    ) as reply:
        events = list(_sse_data(iter(sse_lines(reply))))
    chunks = [json.loads(event) for event in events[:-1]]
    assert events[-1] == "[DONE]"
    assert chunks[-1]["choices"][0]["finish_reason"] == "stop"
    assert all("usage" not in chunk for chunk in chunks)
    assert "".join(c["choices"][0]["delta"].get("content", "") for c in chunks) == (
        "A scripted answer."
    )


def test_a_failure_mid_stream_is_an_error_event_and_no_done(client: TestClient) -> None:
    """The context check runs in the engine's turn, after the stream has begun (200): the
    error comes as the last event, in the OpenAI error shape, and no [DONE] follows."""
    too_long = {"messages": [{"role": "user", "content": "word " * 6000}], "stream": True}
    with client.stream("POST", "/v1/chat/completions", json=too_long) as reply:
        events = list(_sse_data(iter(sse_lines(reply))))
    assert "[DONE]" not in events
    assert json.loads(events[0])["choices"][0]["delta"]["role"] == "assistant"
    error = json.loads(events[-1])["error"]
    assert (error["code"], error["param"]) == ("context_length_exceeded", "messages")
    assert "\n" not in error["message"]


def test_a_full_queue_is_a_429_with_retry_after(
    make_service: ServiceFactory, scripted_engine: ScriptedEngine
) -> None:
    """Also the proof that a full queue is an answer, not a crash: TestClient re-raises what
    escapes to Starlette's outermost handler (as uvicorn logs it with a traceback)."""
    service = make_service(0)  # one answer at a time, none waiting
    scripted_engine.piece_gate = threading.Event()  # the answer waits at its first piece
    with api(service) as client:
        first: list[Reply] = []
        answering = threading.Thread(
            target=lambda: first.append(
                client.post("/v1/chat/completions", json={"messages": USER})
            )
        )
        answering.start()
        try:
            deadline = time.monotonic() + 10
            while service.engine_queue.counts().running == 0:
                assert time.monotonic() < deadline, "the first answer never started"
                time.sleep(0.01)
            refused = client.post("/v1/chat/completions", json={"messages": USER})
            assert refused.status_code == 429
            assert refused.headers["Retry-After"] == "1"
            error = error_of(refused)
            assert (error["type"], error["code"]) == ("rate_limit_error", "rate_limit_exceeded")
            assert error["message"] == "the engine is busy: 0 requests are already waiting"
        finally:
            scripted_engine.piece_gate.set()
            answering.join(10)
    assert first[0].status_code == 200
    assert first[0].json()["choices"][0]["message"]["content"] == "A scripted answer."
    counts = service.engine_queue.counts()
    assert (counts.completed, counts.refused) == (1, 1)


# -- the gates ----------------------------------------------------------------------------
def test_with_a_token_every_request_needs_it(
    service: HearthService, scripted_engine: ScriptedEngine
) -> None:
    with api(service, token="s3cret") as client:
        for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": "s3cret"}):
            refused = client.get("/v1/models", headers=headers)
            assert refused.status_code == 401
            assert refused.headers["WWW-Authenticate"] == "Bearer"
            error = error_of(refused)
            assert (error["type"], error["code"]) == ("invalid_request_error", "invalid_api_key")
            assert error["message"] == ("a token is required: send 'Authorization: Bearer <token>'")
        assert client.post("/v1/chat/completions", json={"messages": USER}).status_code == 401
        assert client.get("/v1/nowhere").status_code == 401  # no route is told either
        assert not scripted_engine.requests

        client.headers["Authorization"] = "Bearer s3cret"
        assert client.get("/v1/models").status_code == 200
        answered = client.post("/v1/chat/completions", json={"messages": USER})
        assert answered.status_code == 200, answered.text
        # The Host gate comes first: a foreign name is refused even with the token.
        assert client.get("/v1/models", headers={"Host": "attacker.example"}).status_code == 403


@pytest.mark.parametrize("host", ["127.0.0.1:8765", "127.0.0.1", "localhost:8765", "[::1]:80"])
def test_the_loopback_names_are_answered(service: HearthService, host: str) -> None:
    with api(service) as client:
        assert client.get("/v1/models", headers={"Host": host}).status_code == 200


@pytest.mark.parametrize(
    ("host", "name"),
    [
        ("attacker.example", "attacker.example"),
        ("attacker.example:8765", "attacker.example"),
        ("127.0.0.1.attacker.example", "127.0.0.1.attacker.example"),
        ("[::2]:8765", "::2"),
        ("testserver", "testserver"),  # TestClient's own Host, unless given a base URL
    ],
)
def test_a_foreign_host_is_refused(
    service: HearthService, scripted_engine: ScriptedEngine, host: str, name: str
) -> None:
    with api(service) as client:
        for reply in (
            client.get("/v1/models", headers={"Host": host}),
            client.post("/v1/chat/completions", json={"messages": USER}, headers={"Host": host}),
        ):
            assert reply.status_code == 403
            error = error_of(reply)
            assert (error["type"], error["code"]) == ("invalid_request_error", "host_not_allowed")
            assert error["message"] == (
                f"Host {name!r} is not allowed; this server answers for 127.0.0.1, ::1, "
                "localhost (start it with --allowed-host NAME to add a name)"
            )
    assert not scripted_engine.requests


def test_testclients_own_host_needs_allowing(service: HearthService) -> None:
    """TestClient sends Host "testserver" unless told a base URL: refused by the loopback
    gate, answered once that name is allowed, or when no Host is checked (all interfaces)."""
    with api(service, base_url="http://testserver") as client:
        assert client.get("/v1/models").status_code == 403
    with api(service, hosts=[*LOOPBACK_HOSTS, "testserver"], base_url="http://testserver") as c:
        assert c.get("/v1/models").status_code == 200
    with api(service, hosts=None, base_url="http://testserver") as c:
        assert c.get("/v1/models", headers={"Host": "attacker.example"}).status_code == 200
