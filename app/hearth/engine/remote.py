"""RemoteEngine: the Engine protocol over an OpenAI-compatible model server.

When a team outgrows one laptop, generation can run on a bigger machine in an engine built
to scale (llama.cpp's server, llama-cpp-python's, vLLM, Ollama); Hearth keeps everything
else: retrieval, prompts, citations, tools. "Loading a model" here means checking that the
server answers and noting which model it serves.

- Chat goes to POST /chat/completions and raw prompts to POST /completions, streamed as
  server-sent events. Sampling options map onto the OpenAI fields; a GBNF ``grammar`` and
  ``repeat_penalty`` are sent as llama.cpp's servers name them (servers without them
  ignore them, and the tool registry still validates every call before it runs).
- The server applies the model's chat template, so Hearth's own tool-call format is not
  available: ``native_tool_calls`` is False and the tool loop takes its two plain steps.
- Tokens are counted by the server's tokenizer endpoint where it has one (llama-cpp-python
  /extras/tokenize/count, llama.cpp and vLLM /tokenize), else with the local GGUF's
  vocabulary when the server serves that file, else estimated on the safe side.
- ``cancel()`` (any thread) ends the stream before its next piece and drops the
  connection, which stops the server's generation; a server that dies mid-answer raises
  EngineCrashed, and the next request simply tries again.

``python -m hearth.engine.remote --model PATH [llama_cpp.server options]`` runs
llama-cpp-python's own server with Hearth's llama.cpp build (see run_llama_cpp_server).
"""

from __future__ import annotations

import contextlib
import json
import logging
import re
import socket
import sys
import threading
import time
from collections.abc import Callable, Generator, Iterator
from pathlib import Path
from typing import Any

import httpx

from hearth.engine.errors import (
    EngineCrashed,
    EngineError,
    GenerationError,
    ModelLoadError,
    NoModelLoaded,
)
from hearth.engine.prompts import ChatMessage
from hearth.engine.types import EngineStatus, GenerationResult, SamplingOptions

log = logging.getLogger(__name__)

API_KEY_VARIABLE = "HEARTH_ENGINE_API_KEY"
CONNECT_SECONDS = 5.0
# A long prompt on a CPU server can take minutes before its first token.
READ_SECONDS = 600.0
PROBE_SECONDS = 10.0
# What a chat template adds around the messages (role markers, separators, a default
# system line some templates insert), counted generously where the server cannot say.
TEMPLATE_TOKENS_PER_MESSAGE = 8
TEMPLATE_TOKENS_FIXED = 32
# No tokenizer at all: a word of ASCII letters is a token per started 6 letters; every
# digit, symbol, other character and run of spacing (beyond one space) is a token. Against
# Qwen2.5's vocabulary that over-counts prose by 15-30% and code by about 45%; a byte count
# fell short on code (Python: 2.2 characters a token).
ASCII_WORD_OR_SPACE = re.compile(r"[A-Za-z]+|\s+|.", re.DOTALL)
LETTERS_PER_TOKEN = 6


class ModelServerUnreachable(EngineCrashed):
    """The model server does not answer (not started, stopped, wrong address)."""


def _error_message(response: httpx.Response) -> str:
    """The reason an OpenAI-style server gives in its error body, in one line."""
    try:
        body = response.json()
    except ValueError:
        return response.text.strip().splitlines()[0][:200] if response.text.strip() else ""
    if isinstance(body, dict):
        error = body.get("error")
        if isinstance(error, dict) and error.get("message"):
            return str(error["message"])
        if isinstance(error, str):
            return error
        if body.get("detail"):
            return str(body["detail"])[:200]
    return str(body)[:200]


def _one_line(error: BaseException) -> str:
    text = str(error).strip().splitlines()
    return text[0] if text else type(error).__name__


# -- counting tokens -----------------------------------------------------------------------
TokenCount = Callable[[str], int]


def _server_token_counters(engine: RemoteEngine) -> list[tuple[str, TokenCount]]:
    """The tokenizer endpoints of the servers Hearth knows, to be tried in order."""

    # Long timeouts: llama-cpp-python's server tokenizes only between generations.
    def llama_cpp_python(text: str) -> int:
        reply = engine._post_json(
            f"{engine.root_url}/extras/tokenize/count",
            {"input": text, "model": engine.served_model},
            READ_SECONDS,
        )
        return int(reply["count"])

    def llama_cpp(text: str) -> int:
        reply = engine._post_json(f"{engine.root_url}/tokenize", {"content": text}, READ_SECONDS)
        return len(reply["tokens"])

    def vllm(text: str) -> int:
        body = {"model": engine.served_model, "prompt": text, "add_special_tokens": False}
        reply = engine._post_json(f"{engine.root_url}/tokenize", body, READ_SECONDS)
        return int(reply["count"])

    return [
        ("the server's tokenizer (/extras/tokenize)", llama_cpp_python),
        ("the server's tokenizer (/tokenize)", llama_cpp),
        ("the server's tokenizer (/tokenize, vLLM)", vllm),
    ]


def _vocabulary_counter(path: Path) -> TokenCount:
    """Count with the GGUF's own vocabulary (no weights: well under a second to load)."""
    from hearth.engine.host import open_llama

    vocabulary = open_llama(path, vocab_only=True, n_ctx=8)

    def count(text: str) -> int:
        return len(vocabulary.tokenize(text.encode("utf-8"), add_bos=False, special=False))

    return count


def estimated_tokens(text: str) -> int:
    """At least as many tokens as ``text`` takes with any common vocabulary (see above)."""
    count = 0
    for match in ASCII_WORD_OR_SPACE.finditer(text):
        piece = match.group()
        if piece[0].isascii() and piece[0].isalpha():
            count += 1 + len(piece) // LETTERS_PER_TOKEN
        elif piece != " ":
            count += 1
    return count


def _same_model(served: str, path: Path) -> bool:
    """Whether the server's model id names the GGUF at ``path`` (llama.cpp's servers use the
    file's path or name; others an alias such as "qwen2.5-coder-0.5b-instruct-q4_k_m")."""
    name = Path(served).name.lower()
    return name in {path.name.lower(), path.stem.lower()}


# -- streaming -----------------------------------------------------------------------------
def _sse_data(lines: Iterator[str]) -> Iterator[str]:
    """The data of each server-sent event (comments and pings skipped)."""
    data: list[str] = []
    for line in lines:
        if not line:
            if data:
                yield "\n".join(data)
                data = []
            continue
        if line.startswith("data:"):
            data.append(line[5:].lstrip(" "))
    if data:
        yield "\n".join(data)


class RemoteStream:
    """Pieces of one generation on the server; ``result`` is filled once it is exhausted.
    Closing it early (or ``cancel``) drops the connection, which stops the server."""

    def __init__(
        self,
        engine: RemoteEngine,
        path: str,
        body: dict[str, Any],
        count_prompt: Callable[[], int],
    ) -> None:
        self._engine = engine
        self._path = path
        self._body = body
        self._count_prompt = count_prompt
        self.result = GenerationResult()
        self._cancelled = threading.Event()
        self._socket: socket.socket | None = None
        self._generator = self._run()

    def __iter__(self) -> Iterator[str]:
        return self

    def __next__(self) -> str:
        return next(self._generator)

    def text(self) -> str:
        return "".join(self)

    def close(self) -> None:
        self._generator.close()

    def cancel(self) -> None:
        """From any thread: no piece after this one, and the connection is cut."""
        self._cancelled.set()
        sock = self._socket
        if sock is not None:
            # Wakes the reading thread from a blocking read; its own code then closes.
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)

    def _run(self) -> Generator[str, None, None]:
        engine = self._engine
        started = time.perf_counter()
        first_piece_at: float | None = None
        pieces: list[str] = []
        finish_reason = ""
        usage: dict[str, Any] = {}
        engine._streams.add(self)
        url = f"{engine.base_url}{self._path}"
        try:
            with engine._http.stream("POST", url, json=self._body) as response:
                network = response.extensions.get("network_stream")
                self._socket = network.get_extra_info("socket") if network is not None else None
                if self._cancelled.is_set():
                    self.cancel()
                if response.status_code != 200:
                    response.read()
                    raise engine._refusal(response)
                for data in _sse_data(response.iter_lines()):
                    if self._cancelled.is_set():
                        break
                    if data.strip() == "[DONE]":
                        break
                    chunk = json.loads(data)
                    if not isinstance(chunk, dict):
                        continue
                    if chunk.get("error"):
                        error = chunk["error"]
                        message = error.get("message") if isinstance(error, dict) else error
                        raise GenerationError(f"the model server failed: {message}")
                    if chunk.get("usage"):
                        usage = chunk["usage"]
                    for choice in chunk.get("choices") or []:
                        delta = choice.get("delta") or {}
                        piece = delta.get("content") or choice.get("text") or ""
                        if choice.get("finish_reason"):
                            finish_reason = str(choice["finish_reason"])
                        if piece and not self._cancelled.is_set():
                            if first_piece_at is None:
                                first_piece_at = time.perf_counter()
                            pieces.append(piece)
                            yield piece
        except (httpx.TransportError, OSError) as error:
            if not self._cancelled.is_set():
                raise engine._lost(error, mid_answer=bool(pieces)) from error
        except json.JSONDecodeError as error:
            raise GenerationError(
                f"the model server at {engine.base_url} sent something that is not JSON"
            ) from error
        finally:
            engine._streams.discard(self)
            self._socket = None
        ended = time.perf_counter()
        if self._cancelled.is_set():
            # Not asked of the server: it may still be reading the abandoned prompt. Servers
            # stream one piece per token.
            prompt_tokens, completion_tokens = 0, len(pieces)
            finish_reason = "cancelled"
        else:
            text = "".join(pieces)
            prompt_tokens = int(usage.get("prompt_tokens") or self._count_prompt())
            completion_tokens = int(
                usage.get("completion_tokens") or (engine.count_tokens(text) if text else 0)
            )
        self.result = GenerationResult(
            prompt_tokens=prompt_tokens,
            completion_tokens=completion_tokens,
            finish_reason=finish_reason or "stop",
            seconds=ended - started,
            first_piece_seconds=(first_piece_at or ended) - started,
        )


# -- the engine ----------------------------------------------------------------------------
class RemoteEngine:
    """The Engine protocol against the OpenAI-compatible server at ``base_url`` (…/v1)."""

    def __init__(self, base_url: str, api_key: str = "") -> None:
        """``api_key``: sent as the bearer token where given ($HEARTH_ENGINE_API_KEY, read
        by the Workspace)."""
        from hearth.settings import engine_url_problem

        problem = engine_url_problem(base_url)
        if problem or not base_url:
            raise ModelLoadError(problem or "no engine URL given")
        self.base_url = base_url.rstrip("/")
        self.root_url = self.base_url.removesuffix("/v1")
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self._http = httpx.Client(
            headers=headers,
            timeout=httpx.Timeout(READ_SECONDS, connect=CONNECT_SECONDS),
            # The server is on a LAN or this machine: no proxy from the environment.
            trust_env=False,
        )
        self._streams: set[RemoteStream] = set()
        self._status = EngineStatus(
            loaded=False, model_path=None, n_ctx=0, has_chat_template=True, pid=0, rss_bytes=0
        )
        self._count: TokenCount | None = None
        self.served_model = ""
        self.token_counting = ""
        self.system_info = f"model server at {self.base_url}"

    # -- plumbing -------------------------------------------------------------------------
    def _lost(self, error: BaseException, mid_answer: bool = False) -> EngineCrashed:
        if isinstance(error, httpx.ConnectError | httpx.ConnectTimeout):
            return ModelServerUnreachable(
                f"no model server answers at {self.base_url} ({_one_line(error)})"
            )
        when = " in the middle of an answer" if mid_answer else ""
        return EngineCrashed(
            f"the model server at {self.base_url} stopped answering{when} ({_one_line(error)})"
        )

    def _refusal(self, response: httpx.Response) -> EngineError:
        message = _error_message(response)
        code = response.status_code
        if code in (401, 403):
            return GenerationError(
                f"the model server at {self.base_url} refused Hearth's key ({code}); "
                f"set {API_KEY_VARIABLE}"
            )
        return GenerationError(
            f"the model server at {self.base_url} refused the request ({code}): {message}"
        )

    def _get_json(self, url: str, timeout: float = PROBE_SECONDS) -> Any:
        try:
            response = self._http.get(url, timeout=timeout)
        except httpx.TransportError as error:
            raise self._lost(error) from error
        if response.status_code != 200:
            raise self._refusal(response)
        return response.json()

    def _post_json(self, url: str, body: dict[str, Any], timeout: float = PROBE_SECONDS) -> Any:
        try:
            response = self._http.post(url, json=body, timeout=timeout)
        except httpx.TransportError as error:
            raise self._lost(error) from error
        if response.status_code != 200:
            raise self._refusal(response)
        return response.json()

    # -- Engine ---------------------------------------------------------------------------
    def load(
        self, path: Path, n_ctx: int = 4096, n_threads: int = 4, gpu: str = "auto"
    ) -> EngineStatus:
        """Check the server answers; note the model it serves (the one named like ``path``,
        else the only or first one), its context where it says, and how to count tokens.
        Threads and GPU layers are the server's business."""
        started = time.perf_counter()
        path = Path(path)
        try:
            listing = self._get_json(f"{self.base_url}/models")
        except EngineError as error:
            raise ModelLoadError(str(error)) from error
        models = [m for m in listing.get("data") or [] if isinstance(m, dict) and m.get("id")]
        if not models:
            raise ModelLoadError(f"the model server at {self.base_url} lists no models")
        chosen = next((m for m in models if _same_model(str(m["id"]), path)), models[0])
        if len(models) > 1 and not _same_model(str(chosen["id"]), path):
            log.warning(
                "model server offers %d models, none named %s: using %s",
                len(models),
                path.name,
                chosen["id"],
            )
        self.served_model = str(chosen["id"])
        served_ctx = self._served_context(chosen)
        self._count, self.token_counting = self._token_counter(path)
        self._status = EngineStatus(
            loaded=True,
            model_path=path,
            n_ctx=min(n_ctx, served_ctx) if served_ctx else n_ctx,
            has_chat_template=True,  # the server formats the chat
            pid=0,
            rss_bytes=0,
            load_seconds=time.perf_counter() - started,
            native_tool_calls=False,
        )
        self.system_info = (
            f"model server at {self.base_url} serving {self.served_model}; tokens counted "
            f"with {self.token_counting}"
        )
        log.info("remote engine: %s", self.system_info)
        return self._status

    def _served_context(self, model: dict[str, Any]) -> int | None:
        """The server's context size where it says: vLLM in its model list, llama.cpp's
        server in /props."""
        if isinstance(model.get("max_model_len"), int):
            return int(model["max_model_len"])
        with contextlib.suppress(EngineError, ValueError, KeyError, TypeError):
            props = self._get_json(f"{self.root_url}/props", timeout=CONNECT_SECONDS)
            settings = props.get("default_generation_settings") or {}
            value = settings.get("n_ctx") or props.get("n_ctx")
            if isinstance(value, int) and value > 0:
                return value
        return None

    def _token_counter(self, path: Path) -> tuple[TokenCount, str]:
        for name, count in _server_token_counters(self):
            with contextlib.suppress(EngineError, ValueError, KeyError, TypeError):
                if count("Hearth counts tokens") > 0:
                    return count, name
        if path.is_file() and _same_model(self.served_model, path):
            try:
                return _vocabulary_counter(path), f"the vocabulary of {path.name}"
            except ValueError as error:
                log.warning("cannot read the vocabulary of %s: %s", path, error)
        return estimated_tokens, "an estimate (on the high side)"

    def status(self) -> EngineStatus:
        return self._status

    def _counter(self) -> TokenCount:
        if self._count is None:
            raise NoModelLoaded("no model server is connected yet")
        return self._count

    def count_tokens(self, text: str) -> int:
        return self._counter()(text)

    def count_chat_tokens(
        self, messages: list[ChatMessage], tools: list[dict[str, Any]] | None = None
    ) -> int:
        """The messages' tokens plus a generous allowance for the server's chat template
        (its framing is not something an OpenAI server reports)."""
        text = "\n".join(f"{m['role']}\n{m['content']}" for m in messages)
        if tools:
            text += "\n" + json.dumps(tools)
        return (
            self._counter()(text)
            + TEMPLATE_TOKENS_PER_MESSAGE * len(messages)
            + TEMPLATE_TOKENS_FIXED
        )

    def format_chat(
        self, messages: list[ChatMessage], tools: list[dict[str, Any]] | None = None
    ) -> str:
        raise NotImplementedError("a model server applies its own chat template")

    def _body(self, options: SamplingOptions | None, **prompt: Any) -> dict[str, Any]:
        if not self._status.loaded:
            raise NoModelLoaded("no model server is connected yet")
        options = options or SamplingOptions()
        body: dict[str, Any] = {
            "model": self.served_model,
            "max_tokens": options.max_tokens,
            "temperature": options.temperature,
            "top_p": options.top_p,
            "stream": True,
            **prompt,
        }
        if options.stop:
            body["stop"] = list(options.stop)
        if options.seed is not None:
            body["seed"] = options.seed
        if options.grammar:
            body["grammar"] = options.grammar
        if options.repeat_penalty != 1.0:
            body["repeat_penalty"] = options.repeat_penalty
        return body

    def stream_chat(
        self,
        messages: list[ChatMessage],
        options: SamplingOptions | None = None,
        tools: list[dict[str, Any]] | None = None,
    ) -> RemoteStream:
        """Stream the server's answer to ``messages`` (formatted by the server)."""
        # A "tool" turn needs a call id on strict servers; Hearth's are plain notes.
        sent = [
            {"role": "user", "content": f"Tool result:\n{m['content']}"}
            if m["role"] == "tool"
            else {"role": m["role"], "content": m["content"]}
            for m in messages
        ]
        body = self._body(options, messages=sent)
        return RemoteStream(
            self, "/chat/completions", body, lambda: self.count_chat_tokens(messages)
        )

    def stream_completion(
        self, prompt: str, options: SamplingOptions | None = None
    ) -> RemoteStream:
        """Stream a continuation of raw ``prompt`` text."""
        body = self._body(options, prompt=prompt)
        return RemoteStream(self, "/completions", body, lambda: self.count_tokens(prompt))

    def cancel(self) -> None:
        """Stop every running generation before its next piece (safe from any thread)."""
        for stream in list(self._streams):
            stream.cancel()

    def close(self) -> None:
        self.cancel()
        self._http.close()
        self._status = EngineStatus(
            loaded=False, model_path=None, n_ctx=0, has_chat_template=True, pid=0, rss_bytes=0
        )


# -- llama-cpp-python's server with Hearth's llama.cpp build -------------------------------
def run_llama_cpp_server(argv: list[str]) -> None:
    """``python -m llama_cpp.server`` with the CPU backend loaded first: Hearth's llama.cpp
    keeps it in a module beside the library, which llama.cpp only finds when told where
    (on its own it stops with "no backends are loaded")."""
    import runpy

    from hearth.engine.backends import load_cpu_backends

    load_cpu_backends()
    sys.argv = ["llama_cpp.server", *argv]
    runpy.run_module("llama_cpp.server", run_name="__main__", alter_sys=True)


if __name__ == "__main__":
    run_llama_cpp_server(sys.argv[1:])
