"""``hearth serve`` as other programs use it: a real server on loopback, the official
``openai`` client and plain HTTP against it."""

from __future__ import annotations

import http.client
import json
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, cast

import httpx
import jsonschema
import numpy as np
import openai
import pytest
from openai.types.chat import (
    ChatCompletionAssistantMessageParam,
    ChatCompletionFunctionToolParam,
    ChatCompletionMessageParam,
)

from bench.processes import free_port, hearth_server, llama_cpp_server, running
from bench.sample_documents import report_pages, write_pdf
from hearth.engine.remote import RemoteEngine, _vocabulary_counter
from hearth.engine.types import SamplingOptions
from hearth.server.run import (
    ServeError,
    allowed_hosts,
    bind_socket,
    host_name,
    is_loopback,
    resolve_token,
)

QWEN = "qwen2.5-coder-0.5b-instruct-q4_k_m"
GEMMA = "gemma-3-270m-q4_k_m"
QUESTION = "How much did the restoration of the lantern room cost?"
COUNTING: list[ChatCompletionMessageParam] = [
    {"role": "user", "content": "Count from 1 to 500, separated by commas: 1, 2, 3,"}
]
STORY: list[ChatCompletionMessageParam] = [
    {"role": "user", "content": "Write a long story about a lighthouse keeper and a storm."}
]
WEATHER_TOOL: ChatCompletionFunctionToolParam = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "The current weather in a city",
        "parameters": {
            "type": "object",
            "properties": {"city": {"type": "string", "minLength": 1}},
            "required": ["city"],
        },
    },
}
WAIT_SECONDS = 120


def client(url: str, token: str = "none") -> openai.OpenAI:
    return openai.OpenAI(base_url=url, api_key=token, timeout=600, max_retries=0)


def indexed_report(tmp_path: Path, shared_embedder: object) -> Path:
    """The sample report in this test's index, written before the server takes the index."""
    from hearth.index.document_index import DocumentIndex
    from hearth.index.embedder import Embedder

    assert isinstance(shared_embedder, Embedder)
    report = tmp_path / "report.pdf"
    write_pdf(report, report_pages())
    index = DocumentIndex(embedder=shared_embedder)
    try:
        index.index_paths([report])
    finally:
        index.close()
    return report


def wait_for(condition: Callable[[], bool], seconds: float = WAIT_SECONDS) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.2)


def status(url: str, token: str | None = None) -> dict[str, Any]:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    reply = httpx.get(f"{url}/hearth/status", headers=headers, timeout=10, trust_env=False)
    assert reply.status_code == 200, reply.text
    result: dict[str, Any] = reply.json()
    return result


def test_openai_client_lists_chats_streams_embeds_and_grounds(
    qwen05_model: Path, tmp_path: Path, shared_embedder: Any
) -> None:
    report = indexed_report(tmp_path, shared_embedder)
    with running(hearth_server(tmp_path / "serve.log")) as server:
        api = client(server.url)
        ids = {model.id for model in api.models.list()}
        assert {QWEN, "hearth-documents", "all-minilm-l6-v2"} <= ids

        messages: Any = [{"role": "user", "content": "Say hello in French."}]
        whole = api.chat.completions.create(
            model=QWEN, messages=messages, max_tokens=12, temperature=0.0
        )
        assert whole.choices[0].message.content
        assert whole.choices[0].finish_reason in {"stop", "length"}
        assert whole.usage is not None
        assert 0 < whole.usage.completion_tokens <= 13
        streamed = api.chat.completions.create(
            model=QWEN, messages=messages, max_tokens=12, temperature=0.0, stream=True
        )
        pieces = [c.choices[0].delta.content or "" for c in streamed if c.choices]
        # The same greedy answer, whole or piece by piece.
        assert "".join(pieces) == whole.choices[0].message.content

        grounded = api.chat.completions.create(
            model="hearth-documents",
            messages=[{"role": "user", "content": QUESTION}],
            extra_body={"hearth": {"tools": False}},
        )
        assert grounded.choices[0].message.content
        sources = (grounded.model_extra or {})["hearth"]["sources"]
        assert (sources[0]["n"], sources[0]["document"], sources[0]["page"]) == (1, str(report), 2)
        assert "48,500" in sources[0]["text"]
        assert {"n", "document", "page", "text", "score"} <= set(sources[0])

        chunks = list(
            api.chat.completions.create(
                model=QWEN,
                messages=[{"role": "user", "content": QUESTION}],
                stream=True,
                extra_body={"hearth": {"documents": True, "tools": False}},
            )
        )
        final = (chunks[-1].model_extra or {})["hearth"]
        assert final["sources"][0]["page"] == 2
        assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)

        texts = ["the lantern room", "membership fees"]
        embedded = api.embeddings.create(model="all-minilm-l6-v2", input=texts)  # base64
        vectors = np.array([item.embedding for item in embedded.data], dtype=np.float32)
        assert np.allclose(vectors, shared_embedder.embed(texts), atol=1e-5)

        found = httpx.get(
            f"{server.url}/hearth/search", params={"q": QUESTION, "k": 3}, trust_env=False
        ).json()
        assert (found["data"][0]["document"], found["data"][0]["page"]) == (str(report), 2)

        # Hearth as another Hearth's model server: no tokenizer endpoint there, so tokens
        # are counted with the local GGUF's vocabulary, or estimated for a model it lacks.
        remote = RemoteEngine(server.url)
        try:
            remote.load(qwen05_model)
            assert remote.served_model == QWEN
            assert remote.token_counting == f"the vocabulary of {qwen05_model.name}"
            assert remote.count_tokens(QUESTION) == _vocabulary_counter(qwen05_model)(QUESTION)
            options = SamplingOptions(max_tokens=12, temperature=0.0)
            assert remote.stream_chat(messages, options).text() == whole.choices[0].message.content
            remote.load(tmp_path / "a-model-hearth-lacks.gguf")
            assert remote.token_counting.startswith("an estimate")
            assert remote.count_tokens(QUESTION) >= _vocabulary_counter(qwen05_model)(QUESTION)
        finally:
            remote.close()


def test_the_token_and_the_instance_lock(
    gemma_model: Path, tmp_path: Path, hearth_home: Path
) -> None:
    token = "s3cret-token"
    with running(hearth_server(tmp_path / "serve.log", "--token", token)) as server:
        url = server.url
        http = httpx.Client(trust_env=False, timeout=300)
        refused = http.get(f"{url}/models")
        assert refused.status_code == 401
        assert refused.json()["error"]["code"] == "invalid_api_key"
        assert (
            http.get(f"{url}/models", headers={"Authorization": "Bearer wrong"}).status_code == 401
        )
        with pytest.raises(openai.AuthenticationError):
            client(url, "wrong").models.list()

        http.headers["Authorization"] = f"Bearer {token}"
        # The request checks (a 4xx naming the field) are tested in test_service_fast.py.
        user: Any = [{"role": "user", "content": "Hello"}]
        # With the token, the model answers.
        ok = http.post(f"{url}/chat/completions", json={"messages": user, "max_tokens": 4})
        assert ok.status_code == 200, ok.text

        # The server holds the data folder: a second Hearth on it says so.
        second = subprocess.run(
            [sys.executable, "-m", "hearth", "search", "lantern"],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert second.returncode == 3
        assert "hearth serve" in second.stderr


def test_the_queue_refuses_beyond_its_bound_and_a_disconnect_cancels(
    gemma_model: Path, tmp_path: Path
) -> None:
    with running(hearth_server(tmp_path / "serve.log", "--max-queue", "0")) as server:
        url = server.url
        http = httpx.Client(trust_env=False, timeout=300)
        long_answer = {"model": GEMMA, "messages": COUNTING, "max_tokens": 400, "temperature": 0}
        with http.stream(
            "POST", f"{url}/chat/completions", json={**long_answer, "stream": True}
        ) as streaming:
            assert streaming.status_code == 200
            lines = streaming.iter_lines()
            contents = 0
            while contents < 2:  # the model is writing
                line = next(lines)
                if line.startswith("data: ") and '"content": "' in line and '""' not in line:
                    contents += 1
            refused = http.post(f"{url}/chat/completions", json=long_answer)
            assert refused.status_code == 429
            assert refused.json()["error"]["code"] == "rate_limit_exceeded"
            assert refused.headers["Retry-After"]
        # The stream's connection is closed: its answer stops, the engine is free.
        wait_for(lambda: status(url)["engine_queue"]["running"] == 0)
        counts = status(url)["engine_queue"]
        assert (counts["cancelled"], counts["completed"], counts["refused"]) == (1, 0, 1)

        # A client that gives up on a whole (non-streamed) answer cancels it too.
        impatient = httpx.Client(trust_env=False, timeout=3)
        with pytest.raises(httpx.ReadTimeout):
            impatient.post(f"{url}/chat/completions", json=long_answer)
        impatient.close()
        wait_for(lambda: status(url)["engine_queue"]["cancelled"] == 2)
        wait_for(lambda: status(url)["engine_queue"]["running"] == 0)

        short = http.post(f"{url}/chat/completions", json={**long_answer, "max_tokens": 4})
        assert short.status_code == 200
        assert status(url)["engine_queue"]["completed"] == 1


def test_tool_calls_follow_the_openai_shape(qwen05_model: Path, tmp_path: Path) -> None:
    with running(hearth_server(tmp_path / "serve.log")) as server:
        api = client(server.url)
        question: list[ChatCompletionMessageParam] = [
            {"role": "user", "content": "What's the weather like in Paris today?"}
        ]
        forced = api.chat.completions.create(
            model=QWEN,
            messages=question,
            tools=[WEATHER_TOOL],
            tool_choice={"type": "function", "function": {"name": "get_weather"}},
        )
        choice = forced.choices[0]
        assert choice.finish_reason == "tool_calls"
        assert choice.message.tool_calls is not None
        call = choice.message.tool_calls[0]
        assert call.type == "function"
        assert call.function.name == "get_weather"
        arguments = json.loads(call.function.arguments)
        jsonschema.validate(arguments, WEATHER_TOOL["function"]["parameters"])

        # The client runs the tool and sends its result back; the model answers from it.
        answered = api.chat.completions.create(
            model=QWEN,
            messages=[
                *question,
                # The SDK's reply message, dumped, is the assistant message it takes back.
                cast(
                    ChatCompletionAssistantMessageParam,
                    choice.message.model_dump(exclude_none=True),
                ),
                {"role": "tool", "tool_call_id": call.id, "content": "18 °C and sunny"},
            ],
            tools=[WEATHER_TOOL],
            max_tokens=40,
        )
        assert answered.choices[0].finish_reason in {"stop", "length"}
        reply = answered.choices[0].message.content
        assert reply is not None
        # The answer comes from the tool's result, not from nothing.
        assert "18" in reply or "sunny" in reply.lower(), reply
        assert not answered.choices[0].message.tool_calls

        streamed = list(
            api.chat.completions.create(
                model=QWEN,
                messages=question,
                tools=[WEATHER_TOOL],
                tool_choice="required",
                stream=True,
            )
        )
        deltas = [
            c.choices[0].delta for c in streamed if c.choices and c.choices[0].delta.tool_calls
        ]
        assert deltas
        assert deltas[0].tool_calls is not None  # the comprehension kept deltas with calls
        streamed_function = deltas[0].tool_calls[0].function
        assert streamed_function is not None
        assert streamed_function.name == "get_weather"
        assert streamed_function.arguments is not None
        jsonschema.validate(
            json.loads(streamed_function.arguments), WEATHER_TOOL["function"]["parameters"]
        )
        assert streamed[-1].choices[0].finish_reason == "tool_calls"

        plain = api.chat.completions.create(
            model=QWEN, messages=question, tools=[WEATHER_TOOL], tool_choice="none", max_tokens=8
        )
        assert plain.choices[0].message.tool_calls is None
        assert plain.choices[0].message.content


def test_over_a_remote_engine_a_dying_model_server_is_an_error_event_and_hearth_stays_up(
    qwen05_model: Path, tmp_path: Path
) -> None:
    port = free_port()
    model_server = llama_cpp_server(qwen05_model, tmp_path / "llama.log", port)
    with running(model_server):
        env = {"HEARTH_ENGINE_URL": model_server.url}
        with running(hearth_server(tmp_path / "serve.log", env=env)) as server:
            api = client(server.url)
            assert status(server.url)["engine"].startswith(f"model server at {model_server.url}")
            stream = api.chat.completions.create(
                model=QWEN, messages=STORY, max_tokens=400, temperature=0.0, stream=True
            )
            received: list[str] = []

            def read_until_killed() -> None:
                for chunk in stream:
                    received.append((chunk.choices[0].delta.content or "") if chunk.choices else "")
                    if len("".join(received)) > 8 and model_server.alive:
                        model_server.kill()

            assert model_server.process is not None
            with pytest.raises(openai.APIError, match="stopped answering"):
                read_until_killed()
            assert received
            counts = status(server.url)["engine_queue"]
            assert counts["failed"] == 1
            with pytest.raises(openai.InternalServerError, match="no model server answers"):
                api.chat.completions.create(model=QWEN, messages=COUNTING, max_tokens=4)
            model_server.start()
            again = api.chat.completions.create(model=QWEN, messages=COUNTING, max_tokens=4)
            assert again.choices[0].message.content


@pytest.mark.parametrize(
    ("host", "loopback"),
    [
        ("127.0.0.1", True),
        ("localhost", True),
        ("::1", True),
        ("0.0.0.0", False),
        ("192.168.1.20", False),
        ("example.org", False),
    ],
)
def test_a_token_is_required_beyond_loopback(host: str, loopback: bool) -> None:
    assert is_loopback(host) is loopback
    token, made_up = resolve_token(host, None)
    assert (token is None) is loopback
    assert made_up is not loopback
    if token is not None:
        assert len(token) >= 24
    assert resolve_token(host, "given") == ("given", False)


def test_one_line_errors_for_a_port_in_use(gemma_model: Path) -> None:
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        started = subprocess.run(
            [sys.executable, "-m", "hearth", "serve", "--port", str(port)],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
    assert started.returncode == 1
    assert started.stderr.strip().splitlines() == [
        f"hearth: error: cannot listen on 127.0.0.1:{port} (Address already in use)"
    ]


# -- the Host header and other origins (a DNS-rebinding page in the user's browser) -----------
ATTACKER = "attacker.example"


def raw_request(
    port: int,
    path: str,
    host: str | None,
    method: str = "GET",
    headers: dict[str, str] | None = None,
) -> tuple[int, dict[str, str], Any]:
    """One request with exactly the Host header given (None: none), as a browser whose page
    rebinds its name to 127.0.0.1 sends it: status, headers (lower case), body (parsed if JSON)."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    try:
        connection.putrequest(method, path, skip_host=True, skip_accept_encoding=True)
        if host is not None:
            connection.putheader("Host", host)
        for name, value in (headers or {}).items():
            connection.putheader(name, value)
        connection.endheaders()
        reply = connection.getresponse()
        body = reply.read()
        received = {name.lower(): value for name, value in reply.getheaders()}
        is_json = received.get("content-type", "").startswith("application/json")
        return reply.status, received, json.loads(body) if is_json else body.decode()
    finally:
        connection.close()


@contextmanager
def api_on_loopback(app: Any) -> Iterator[int]:
    """``app`` served by uvicorn on 127.0.0.1 in a thread, as ``serve`` binds it; the port."""
    import uvicorn

    sock = bind_socket("127.0.0.1", 0)
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="off"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    try:
        wait_for(lambda: server.started, 30)
        yield int(sock.getsockname()[1])
    finally:
        server.should_exit = True
        thread.join(30)
        sock.close()


@pytest.fixture
def service(scripted_workspace: object, shared_embedder: object) -> Iterator[Any]:
    """A HearthService over the scripted engine (no model): routes that only look up."""
    from hearth.assistant.workspace import Workspace
    from hearth.index.document_index import DocumentIndex
    from hearth.index.embedder import Embedder
    from hearth.server.service import HearthService

    assert isinstance(shared_embedder, Embedder)
    assert isinstance(scripted_workspace, Workspace)
    lookup = DocumentIndex(embedder=shared_embedder)
    hearth = HearthService(scripted_workspace, lookup, 4)
    yield hearth
    hearth.engine_queue.shutdown()
    hearth.lookup_queue.shutdown()
    lookup.close()


def test_a_foreign_host_header_is_refused_and_no_origin_gets_cors_permission(
    service: Any,
) -> None:
    from hearth.server.app import create_app

    hosts = allowed_hosts("127.0.0.1", "127.0.0.1", ["hearth.test"])
    with api_on_loopback(create_app(service, None, hosts)) as port:
        search = "/v1/hearth/search?q=lantern&k=3"
        for host in (f"{ATTACKER}:{port}", ATTACKER, f"127.0.0.1.{ATTACKER}", f"[::2]:{port}"):
            code, _, body = raw_request(port, search, host)
            assert code == 403, (host, body)
            error = body["error"]
            assert (error["type"], error["code"]) == ("invalid_request_error", "host_not_allowed")
            assert error["message"] == (
                f"Host {host_name(host)!r} is not allowed; this server answers for 127.0.0.1, "
                "hearth.test, localhost (start it with --allowed-host NAME to add a name)"
            )
        assert raw_request(port, "/v1/models", ATTACKER)[0] == 403
        assert raw_request(port, "/v1/chat/completions", ATTACKER, "POST")[0] == 403
        code, _, body = raw_request(port, "/v1/models", None, headers={"Connection": "close"})
        assert code in (400, 403)  # HTTP/1.1 needs a Host: uvicorn or the gate refuses it
        assert "data" not in str(body)

        for host in (
            f"127.0.0.1:{port}",
            "127.0.0.1",
            f"localhost:{port}",
            "LocalHost.",
            "hearth.test",
        ):
            code, _, body = raw_request(port, search, host)
            assert code == 200, (host, body)
            assert body["object"] == "list"

        # No CORS permission for another origin: its preflight is not granted, and a plain
        # GET's answer carries no Access-Control-Allow-Origin (the browser hides it).
        origin = {"Origin": f"http://{ATTACKER}:{port}"}
        preflight = {**origin, "Access-Control-Request-Method": "GET"}
        for host in (f"127.0.0.1:{port}", f"{ATTACKER}:{port}"):
            code, headers, _ = raw_request(port, search, host, "OPTIONS", preflight)
            assert code >= 400
            assert not [name for name in headers if name.startswith("access-control-")]
            code, headers, _ = raw_request(port, search, host, headers=origin)
            assert code == (200 if host.startswith("127.") else 403)
            assert not [name for name in headers if name.startswith("access-control-")]


def test_an_all_interfaces_bind_answers_any_host_behind_its_token(service: Any) -> None:
    from hearth.server.app import create_app

    assert allowed_hosts("0.0.0.0", "0.0.0.0") is None
    assert allowed_hosts("::", "::", ["hearth.test"]) is None
    with api_on_loopback(create_app(service, "s3cret", None)) as port:
        code, _, body = raw_request(port, "/v1/models", ATTACKER)
        assert (code, body["error"]["code"]) == (401, "invalid_api_key")
        code, _, body = raw_request(
            port, "/v1/models", "hearth.lan", headers={"Authorization": "Bearer s3cret"}
        )
        assert code == 200, body


@pytest.mark.parametrize(
    ("header", "name"),
    [
        ("127.0.0.1:8765", "127.0.0.1"),
        ("[::1]:8765", "::1"),
        ("[0:0:0:0:0:0:0:1]", "::1"),
        ("LOCALHOST.:80", "localhost"),
        ("attacker.example:8765", "attacker.example"),
        ("::1", "::1"),
    ],
)
def test_host_names_compare_without_port_case_or_brackets(header: str, name: str) -> None:
    assert host_name(header) == name


@pytest.mark.parametrize("given", ["http://hearth.lan", "", "hearth lan", "user@hearth.lan"])
def test_an_allowed_host_must_be_a_name(given: str) -> None:
    with pytest.raises(ServeError, match="--allowed-host"):
        allowed_hosts("127.0.0.1", "127.0.0.1", [given])


def test_serve_allowed_host_adds_a_name(gemma_model: Path, tmp_path: Path) -> None:
    log = tmp_path / "serve.log"
    with running(hearth_server(log, "--allowed-host", "Hearth.Test")) as server:
        port = int(server.url.rsplit(":", 1)[1].split("/")[0])
        assert raw_request(port, "/v1/models", f"hearth.test:{port}")[0] == 200
        assert raw_request(port, "/v1/models", f"localhost:{port}")[0] == 200
        code, _, body = raw_request(port, "/v1/hearth/search?q=lantern", f"{ATTACKER}:{port}")
        assert code == 403
        assert body["error"]["message"].startswith(f"Host '{ATTACKER}' is not allowed")
        assert "127.0.0.1, hearth.test, localhost" in body["error"]["message"]
    refused = subprocess.run(
        [sys.executable, "-m", "hearth", "serve", "--port", "0", "--allowed-host", "http://x"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert refused.returncode == 1
    assert refused.stderr.strip().splitlines() == [
        "hearth: error: --allowed-host 'http://x': give a host name or address, nothing else"
    ]
