"""The HTTP side of ``hearth serve``: OpenAI's routes over HearthService.

- GET /v1/models, POST /v1/chat/completions (streamed as server-sent events or whole),
  POST /v1/embeddings; Hearth's own GET /v1/hearth/search and GET /v1/hearth/status.
- With a token, every request needs "Authorization: Bearer <token>" (401 otherwise).
- A Host header naming none of the allowed hosts is refused (403): a DNS-rebinding page
  would send its own name. No CORS headers are sent, so other origins' pages may not read
  any answer.
- A chat request waits for the one engine in a bounded queue (429 beyond it); a client that
  disconnects, streaming or not, cancels its generation (the model stops within a token).
- Every error is an OpenAI error body with a one-line message, and a 4xx for a bad request.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import secrets
import time
import uuid
from collections.abc import AsyncIterator, Callable, Collection
from concurrent.futures import Future
from typing import Annotated, Any

from fastapi import FastAPI, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, StreamingResponse
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Receive, Scope, Send

from hearth import __version__
from hearth.errors import HearthError
from hearth.jobs import Cancelled, CancelToken
from hearth.server.errors import INVALID_REQUEST, ApiError, api_error, error_body
from hearth.server.run import host_name
from hearth.server.schemas import ChatCompletionRequest, EmbeddingsRequest
from hearth.server.service import ChatOutcome, ChatPlan, HearthService

log = logging.getLogger(__name__)

DISCONNECT_POLL_SECONDS = 0.25
LOOPBACK_HOSTS = ("127.0.0.1", "::1", "localhost")


class TokenGate:
    """Refuses every request without the bearer token (a plain ASGI middleware, so it
    leaves streaming and disconnect detection alone)."""

    def __init__(self, app: ASGIApp, token: str) -> None:
        self.app = app
        self.expected = f"Bearer {token}".encode()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            given = dict(scope.get("headers") or []).get(b"authorization", b"")
            if not secrets.compare_digest(given, self.expected):
                response = JSONResponse(
                    error_body(
                        "a token is required: send 'Authorization: Bearer <token>'",
                        INVALID_REQUEST,
                        "invalid_api_key",
                    ),
                    status_code=401,
                    headers={"WWW-Authenticate": "Bearer"},
                )
                await response(scope, receive, send)
                return
        await self.app(scope, receive, send)


class HostGate:
    """Refuses every request whose Host header names none of ``allowed`` (port ignored): a
    page on another site that rebinds its name to loopback reaches this server under that
    name, so the name is what tells it apart."""

    def __init__(self, app: ASGIApp, allowed: Collection[str]) -> None:
        self.app = app
        self.allowed = frozenset(host_name(name) for name in allowed)
        self.listed = ", ".join(sorted(self.allowed))

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            given = dict(scope.get("headers") or []).get(b"host")
            name = host_name(given.decode("latin-1")) if given is not None else None
            if name not in self.allowed:
                refused = "a request without Host" if name is None else f"Host {name[:100]!r}"
                response = JSONResponse(
                    error_body(
                        f"{refused} is not allowed; this server answers for {self.listed} "
                        "(start it with --allowed-host NAME to add a name)",
                        INVALID_REQUEST,
                        "host_not_allowed",
                    ),
                    status_code=403,
                )
                await response(scope, receive, send)
                return
        await self.app(scope, receive, send)


def _error_response(error: ApiError) -> JSONResponse:
    headers = {"Retry-After": "1"} if error.status == 429 else None
    return JSONResponse(error.body(), status_code=error.status, headers=headers)


def _validation_message(error: RequestValidationError) -> tuple[str, str | None]:
    first = error.errors()[0] if error.errors() else {}
    location = [str(part) for part in first.get("loc", ()) if part not in ("body", "query")]
    where = ".".join(location)
    message = str(first.get("msg", "invalid request"))
    if first.get("type") == "json_invalid":
        return "the request body is not valid JSON", None
    if not where and first.get("type") in ("model_attributes_type", "dict_type"):
        return "the request body must be a JSON object", None
    return (f"{where}: {message}" if where else message), (where or None)


class GenerationJob:
    """One chat request in the engine's queue, its pieces handed to the event loop."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.token = CancelToken()
        self.events: asyncio.Queue[tuple[str, Any]] = asyncio.Queue()
        self.future: Future[ChatOutcome] | None = None

    def push(self, kind: str, value: Any) -> None:
        # The loop may be gone already (the server stopping): nobody is listening then.
        with contextlib.suppress(RuntimeError):
            self.loop.call_soon_threadsafe(self.events.put_nowait, (kind, value))

    def finished(self, future: Future[ChatOutcome]) -> None:
        error = future.exception()
        self.push("error", error) if error is not None else self.push("done", future.result())


def _completion_id() -> str:
    return f"chatcmpl-{uuid.uuid4().hex}"


def _usage(outcome: ChatOutcome) -> dict[str, int]:
    return {
        "prompt_tokens": outcome.prompt_tokens,
        "completion_tokens": outcome.completion_tokens,
        "total_tokens": outcome.prompt_tokens + outcome.completion_tokens,
    }


def _completion_json(plan: ChatPlan, outcome: ChatOutcome, started: int) -> dict[str, Any]:
    message: dict[str, Any] = {"role": "assistant", "content": outcome.text or None}
    if outcome.tool_calls:
        message["tool_calls"] = outcome.tool_calls
    elif message["content"] is None:
        message["content"] = ""
    body: dict[str, Any] = {
        "id": _completion_id(),
        "object": "chat.completion",
        "created": started,
        "model": plan.model_name,
        "choices": [
            {
                "index": 0,
                "message": message,
                "finish_reason": outcome.finish_reason,
                "logprobs": None,
            }
        ],
        "usage": _usage(outcome),
    }
    if outcome.hearth is not None:
        body["hearth"] = outcome.hearth
    return body


def create_app(
    service: HearthService,
    token: str | None = None,
    allowed_hosts: Collection[str] | None = LOOPBACK_HOSTS,
) -> FastAPI:
    """The API; ``allowed_hosts`` None answers any Host header (an all-interfaces bind,
    where the token is the defence)."""
    app = FastAPI(title="Hearth", version=__version__, docs_url=None, redoc_url=None)
    # No CORSMiddleware, on purpose: a browser then lets no other origin read an answer.
    if token:
        app.add_middleware(TokenGate, token=token)
    if allowed_hosts is not None:
        app.add_middleware(HostGate, allowed=allowed_hosts)  # added last: runs first

    @app.exception_handler(ApiError)
    async def on_api_error(request: Request, error: ApiError) -> JSONResponse:
        return _error_response(error)

    @app.exception_handler(HearthError)
    async def on_hearth_error(request: Request, error: HearthError) -> JSONResponse:
        # Hearth's own errors (a full queue's 429) are answers, handled here: the catch-all
        # Exception handler below runs in Starlette's outermost middleware, which re-raises
        # after answering, so the server would log a traceback for each of them.
        return _error_response(api_error(error))

    @app.exception_handler(RequestValidationError)
    async def on_invalid(request: Request, error: RequestValidationError) -> JSONResponse:
        message, param = _validation_message(error)
        return _error_response(ApiError(400, message, param=param))

    @app.exception_handler(StarletteHTTPException)
    async def on_http_error(request: Request, error: StarletteHTTPException) -> JSONResponse:
        message = (
            f"no such route: {request.method} {request.url.path}"
            if error.status_code in (404, 405)
            else str(error.detail)
        )
        return _error_response(ApiError(error.status_code, message))

    @app.exception_handler(Exception)
    async def on_failure(request: Request, error: Exception) -> JSONResponse:
        return _error_response(api_error(error))

    async def in_thread(work: Callable[[], Any]) -> Any:
        return await asyncio.get_running_loop().run_in_executor(None, work)

    async def on_lookup_queue(request: Request, work: Callable[[], Any]) -> Any:
        job_token = CancelToken()
        future = service.lookup_queue.submit(work, job_token)
        return await _wait(request, future, job_token)

    async def _wait(request: Request, future: Future[Any], job_token: CancelToken) -> Any:
        """The result; a client that leaves first cancels the work."""
        waiting = asyncio.wrap_future(future)
        while True:
            done, _ = await asyncio.wait({waiting}, timeout=DISCONNECT_POLL_SECONDS)
            if done:
                try:
                    return waiting.result()
                except BaseException as error:
                    raise api_error(error) from error
            if await request.is_disconnected():
                job_token.cancel()
                raise ApiError(499, "the client went away")

    @app.get("/v1/models")
    async def list_models() -> dict[str, Any]:
        models: list[dict[str, Any]] = await in_thread(service.models)
        return {"object": "list", "data": models}

    @app.get("/v1/hearth/status")
    async def status() -> dict[str, Any]:
        counts: dict[str, Any] = await in_thread(service.status)
        return counts

    @app.post("/v1/embeddings")
    async def embeddings(body: EmbeddingsRequest, request: Request) -> dict[str, Any]:
        result: dict[str, Any] = await on_lookup_queue(request, lambda: service.embed(body))
        return result

    @app.get("/v1/hearth/search")
    async def search(
        request: Request,
        q: Annotated[str, Query(description="what to look for")] = "",
        k: Annotated[int, Query(description="how many passages")] = 5,
        document: Annotated[list[str] | None, Query(description="only these documents")] = None,
    ) -> dict[str, Any]:
        result: dict[str, Any] = await on_lookup_queue(
            request, lambda: service.search(q, k, document or [])
        )
        return result

    @app.post("/v1/chat/completions", response_model=None)
    async def chat_completions(
        body: ChatCompletionRequest, request: Request
    ) -> JSONResponse | StreamingResponse:
        plan: ChatPlan = await in_thread(lambda: service.plan_chat(body))
        started = int(time.time())
        job = GenerationJob(asyncio.get_running_loop())

        def work() -> ChatOutcome:
            return service.answer(plan, lambda piece: job.push("piece", piece), job.token)

        job.future = service.engine_queue.submit(work, job.token)  # QueueFull: 429
        job.future.add_done_callback(job.finished)
        if not body.stream:
            outcome: ChatOutcome = await _wait(request, job.future, job.token)
            return JSONResponse(_completion_json(plan, outcome, started))
        return StreamingResponse(
            _event_stream(plan, job, started),
            media_type="text/event-stream",
            headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
        )

    return app


def _sse(value: dict[str, Any] | str) -> str:
    return f"data: {value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)}\n\n"


async def _event_stream(plan: ChatPlan, job: GenerationJob, started: int) -> AsyncIterator[str]:
    """OpenAI's chunks: the role, a delta per piece, then the finish (with ``hearth`` for a
    grounded answer, and usage when asked); an error ends the stream with an error event.
    When the client disconnects, Starlette cancels this generator: the job is cancelled."""
    completion_id = _completion_id()

    def chunk(delta: dict[str, Any], finish: str | None = None) -> dict[str, Any]:
        return {
            "id": completion_id,
            "object": "chat.completion.chunk",
            "created": started,
            "model": plan.model_name,
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish, "logprobs": None}],
        }

    finished = False
    try:
        yield _sse(chunk({"role": "assistant", "content": ""}))
        while True:
            kind, value = await job.events.get()
            if kind == "piece":
                yield _sse(chunk({"content": value}))
                continue
            finished = True
            if kind == "error":
                if not isinstance(value, Cancelled):
                    yield _sse(api_error(value).body())
                return
            outcome: ChatOutcome = value
            if outcome.tool_calls:
                calls = [{"index": i, **call} for i, call in enumerate(outcome.tool_calls)]
                yield _sse(chunk({"tool_calls": calls}))
            last = chunk({}, outcome.finish_reason)
            if outcome.hearth is not None:
                last["hearth"] = outcome.hearth
            yield _sse(last)
            options = plan.request.stream_options
            if options is not None and options.include_usage:
                yield _sse({**chunk({}), "choices": [], "usage": _usage(outcome)})
            yield _sse("[DONE]")
            return
    finally:
        if not finished:
            job.token.cancel()  # the client went away (or the server is stopping)
