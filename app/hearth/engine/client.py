"""The one object the GUI and CLI use to talk to the model: EngineClient.

It starts the engine host (a spawned child process) on first use, sends it requests
over a pipe and turns its replies into return values, token iterators and typed errors.
If the host dies, the pending call raises EngineCrashed; the next call starts a fresh
host and reloads the model that was loaded before.
"""

from __future__ import annotations

import contextlib
import logging
import multiprocessing
import threading
from collections.abc import Callable, Generator, Iterator
from dataclasses import replace
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess
from pathlib import Path
from typing import Any

from hearth.engine.errors import (
    ERROR_TYPES,
    EngineCrashed,
    EngineError,
    EngineUnfitForCpu,
    ModelLoadError,
)
from hearth.engine.gpu import record_load, uses_gpu
from hearth.engine.prompts import ChatMessage
from hearth.engine.types import EngineStatus, GenerationResult, LoadRequest, SamplingOptions
from hearth.machine import cpu_description

log = logging.getLogger(__name__)

POLL_SECONDS = 0.1


class GpuFailed(EngineError):
    """The GPU failed where the CPU may not: EngineClient.load tries the CPU next."""


class TokenStream:
    """Iterator over generated text pieces; ``result`` is filled once it is exhausted.

    Abandoning it half-way (break, close, garbage collection) cancels the generation and
    drains the host's remaining replies, so the pipe is clean for the next request.
    """

    def __init__(self, client: EngineClient, request: dict[str, Any]) -> None:
        self._client = client
        self._request = request
        self.result = GenerationResult()
        self._generator = self._run()

    def __iter__(self) -> Iterator[str]:
        return self

    def __next__(self) -> str:
        return next(self._generator)

    def close(self) -> None:
        self._generator.close()

    def text(self) -> str:
        return "".join(self)

    def _run(self) -> Generator[str, None, None]:
        client = self._client
        with client._request_lock:
            conn = client._ensure_host()
            client._send(conn, self._request)
            finished = False
            try:
                while True:
                    reply = client._receive(conn)
                    if "piece" in reply:
                        yield str(reply["piece"])
                    elif reply.get("done"):
                        finished = True
                        self.result = GenerationResult(
                            prompt_tokens=int(reply["prompt_tokens"]),
                            completion_tokens=int(reply["completion_tokens"]),
                            finish_reason=str(reply["finish_reason"]),
                            seconds=float(reply["seconds"]),
                            first_piece_seconds=float(reply["first_piece_seconds"]),
                        )
                        return
                    else:
                        finished = True
                        client._raise_reply_error(reply)
            finally:
                if not finished and client._conn is conn:
                    client._drain_cancelled_stream(conn)


class EngineClient:
    """Load, unload, stream, cancel, tokenize and status, against one engine host."""

    def __init__(self) -> None:
        self._context = multiprocessing.get_context("spawn")
        self._process: BaseProcess | None = None
        self._conn: Connection | None = None
        self._request_lock = threading.RLock()
        self._send_lock = threading.Lock()
        self._loaded: LoadRequest | None = None
        # Whether the running host loaded the Vulkan backend (fixed for its life).
        self._host_uses_gpu = False
        # Why the loaded model runs on the CPU though the GPU was asked for ("" if not).
        self._gpu_failure = ""
        # What llama.cpp in the host reports about its build and this CPU (for the log).
        self.system_info = ""

    # -- host lifecycle -----------------------------------------------------------------
    def _start_host(self, use_gpu: bool = False) -> Connection:
        from hearth.engine.host import host_main

        parent_conn, child_conn = self._context.Pipe(duplex=True)
        process = self._context.Process(
            target=host_main, args=(child_conn, use_gpu), name="hearth-engine-host", daemon=True
        )
        process.start()
        child_conn.close()  # so the parent sees EOF the moment the child dies
        self._process, self._conn = process, parent_conn
        self._host_uses_gpu = use_gpu
        self.system_info = str(self._call(parent_conn, {"op": "system_info"})["system_info"])
        log.info("engine host started (pid %s): llama.cpp %s", process.pid, self.system_info)
        return parent_conn

    def _ensure_host(self, restore_model: bool = True, use_gpu: bool | None = None) -> Connection:
        """The running host; a fresh one if it died, or if ``use_gpu`` asks for the other
        kind (the Vulkan backend is loaded for a process's life, or never)."""
        if use_gpu is None:
            use_gpu = self._loaded is not None and uses_gpu(self._loaded.gpu)
        alive = self._conn is not None and self._process is not None and self._process.is_alive()
        if alive and self._host_uses_gpu == use_gpu:
            assert self._conn is not None
            return self._conn
        self._discard_host()
        conn = self._start_host(use_gpu)
        if restore_model and self._loaded is not None:
            # A fresh host after a crash: bring back the model the user had.
            self._call(conn, self._load_message(self._loaded))
        return conn

    def _discard_host(self) -> None:
        if self._conn is not None:
            self._conn.close()
        if self._process is not None:
            if self._process.is_alive():
                self._process.kill()
            self._process.join(timeout=5)
        self._conn, self._process = None, None

    @property
    def host_pid(self) -> int | None:
        return self._process.pid if self._process is not None else None

    def close(self) -> None:
        """Stop the host process (the model is freed with it)."""
        with self._request_lock:
            if self._conn is not None and self._process is not None and self._process.is_alive():
                with contextlib.suppress(EngineError):
                    self._call(self._conn, {"op": "shutdown"})
                self._process.join(timeout=5)
            self._discard_host()

    def __enter__(self) -> EngineClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # -- plumbing -----------------------------------------------------------------------
    def _send(self, conn: Connection, message: dict[str, Any]) -> None:
        try:
            with self._send_lock:
                conn.send(message)
        except (OSError, EOFError, ValueError) as error:
            self._host_died()
            raise self._crash_error() from error

    def _receive(self, conn: Connection) -> dict[str, Any]:
        try:
            while not conn.poll(POLL_SECONDS):
                if self._process is None or not self._process.is_alive():
                    raise EOFError
            reply: dict[str, Any] = conn.recv()
            return reply
        except (OSError, EOFError, ValueError) as error:
            crash = self._crash_error()
            self._host_died()
            raise crash from error

    def _crash_error(self) -> EngineCrashed:
        code = self._process.exitcode if self._process is not None else None
        if self._process is not None and code is None:
            self._process.join(timeout=2)
            code = self._process.exitcode
        how = f" (signal {-code})" if code is not None and code < 0 else ""
        return EngineCrashed(
            f"the model process stopped unexpectedly{how}; your next request will restart it"
        )

    def _host_died(self) -> None:
        log.warning("engine host died")
        self._discard_host()

    def _raise_reply_error(self, reply: dict[str, Any]) -> None:
        error_type = ERROR_TYPES.get(str(reply.get("error")), EngineError)
        raise error_type(str(reply.get("message", "unknown engine error")))

    def _call(
        self,
        conn: Connection,
        message: dict[str, Any],
        on_stage: Callable[[str], None] | None = None,
    ) -> dict[str, Any]:
        self._send(conn, message)
        reply = self._receive(conn)
        while "stage" in reply:  # a step of a longer request (loading: the self-check)
            if on_stage is not None:
                on_stage(str(reply["stage"]))
            reply = self._receive(conn)
        if "error" in reply:
            self._raise_reply_error(reply)
        return reply

    def _request(self, message: dict[str, Any]) -> dict[str, Any]:
        with self._request_lock:
            return self._call(self._ensure_host(), message)

    def _drain_cancelled_stream(self, conn: Connection) -> None:
        """After an abandoned stream: cancel it and read replies up to its end."""
        try:
            self._send(conn, {"op": "cancel"})
            while True:
                reply = self._receive(conn)
                if reply.get("done") or "error" in reply:
                    return
        except EngineCrashed:
            return

    @staticmethod
    def _load_message(request: LoadRequest) -> dict[str, Any]:
        return {
            "op": "load",
            "path": str(request.path),
            "n_ctx": request.n_ctx,
            "n_threads": request.n_threads,
            "gpu": request.gpu,
        }

    # -- public API ---------------------------------------------------------------------
    def load(
        self, path: Path, n_ctx: int = 4096, n_threads: int = 4, gpu: str = "auto"
    ) -> EngineStatus:
        """Load a model, unloading the previous one first; with ``gpu`` "auto" or a number of
        layers, on the Vulkan GPU where there is one. A GPU that fails (at start, at load or
        in the self-check) is given up for the CPU, with one line in the log and the
        status's gpu_note. Raises ModelLoadError."""
        request = LoadRequest(Path(path), n_ctx, n_threads, gpu)
        with self._request_lock:
            self._gpu_failure = ""
            try:
                status = self._load_on_host(request)
            except GpuFailed as failed:
                reason = str(failed.__cause__ or failed)
                log.warning(
                    "The GPU could not run %s (%s); running it on the CPU instead",
                    request.path.name,
                    reason,
                )
                status = self._load_on_host(replace(request, gpu="off"))
                self._gpu_failure = f"the GPU failed ({reason}); running on the CPU"
                status = replace(status, gpu_note=self._gpu_failure)
            record_load(request.path, status)
            return status

    def _load_on_host(self, request: LoadRequest) -> EngineStatus:
        on_gpu = uses_gpu(request.gpu)
        stages: list[str] = []
        try:
            conn = self._ensure_host(restore_model=False, use_gpu=on_gpu)
            reply = self._call(conn, self._load_message(request), stages.append)
        except (EngineCrashed, ModelLoadError) as error:
            # The host says how many layers it gave the GPU before it loads; a failure
            # before that (the Vulkan driver starting) or with layers on it is the GPU's.
            if on_gpu and "offload 0" not in stages:
                raise GpuFailed(str(error)) from error
            if isinstance(error, EngineCrashed) and "self_check" in stages:
                raise self._unfit_for_cpu(request.path, error) from error
            raise
        self._loaded = request
        return EngineStatus.from_reply(reply)

    def _unfit_for_cpu(self, path: Path, crash: EngineCrashed) -> EngineUnfitForCpu:
        signal_text = str(crash).partition("(")[2].partition(")")[0]
        how = f" ({signal_text})" if signal_text else ""
        log.error(
            "llama.cpp crashed in its self-check with %s%s; llama.cpp reported: %s; CPU: %s",
            path.name,
            how,
            self.system_info or "nothing",
            cpu_description().summary(),
        )
        return EngineUnfitForCpu(
            f"llama.cpp crashed while running the model on this computer's CPU{how}. "
            "Documents and search still work; answers need a llama.cpp build that suits "
            "this CPU: delete .venv and run ./scripts/run again, or report the output of "
            "'hearth doctor'"
        )

    def status(self) -> EngineStatus:
        status = EngineStatus.from_reply(self._request({"op": "status"}))
        # The host on the CPU knows nothing of the GPU that failed before it.
        return replace(status, gpu_note=self._gpu_failure) if self._gpu_failure else status

    def count_tokens(self, text: str) -> int:
        """Tokens ``text`` takes with the loaded model's own tokenizer."""
        return int(self._request({"op": "tokenize", "text": text})["count"])

    def count_chat_tokens(
        self, messages: list[ChatMessage], tools: list[dict[str, Any]] | None = None
    ) -> int:
        """Tokens the formatted conversation (with its answer prefix) takes."""
        request = {"op": "count_chat", "messages": messages, "tools": tools}
        return int(self._request(request)["count"])

    def format_chat(
        self, messages: list[ChatMessage], tools: list[dict[str, Any]] | None = None
    ) -> str:
        """The conversation as the loaded model reads it (its template, with ``tools``)."""
        return str(self._request({"op": "format", "messages": messages, "tools": tools})["text"])

    def stream_chat(
        self,
        messages: list[ChatMessage],
        options: SamplingOptions | None = None,
        tools: list[dict[str, Any]] | None = None,
    ) -> TokenStream:
        """Stream the answer to a conversation, formatted for the loaded model."""
        return TokenStream(self, self._stream_message(options, messages=messages, tools=tools))

    def stream_completion(self, prompt: str, options: SamplingOptions | None = None) -> TokenStream:
        """Stream a continuation of raw prompt text (for grammar-constrained steps)."""
        return TokenStream(self, self._stream_message(options, prompt=prompt))

    def _stream_message(self, options: SamplingOptions | None, **prompt: Any) -> dict[str, Any]:
        options = options or SamplingOptions()
        return {
            "op": "stream",
            "max_tokens": options.max_tokens,
            "temperature": options.temperature,
            "top_p": options.top_p,
            "stop": list(options.stop),
            "grammar": options.grammar,
            "seed": options.seed,
            "repeat_penalty": options.repeat_penalty,
            "stop_at_new_speaker": options.stop_at_new_speaker,
            **prompt,
        }

    def cancel(self) -> None:
        """Stop the running generation before its next token (safe from any thread)."""
        conn = self._conn
        if conn is None:
            return
        try:
            with self._send_lock:
                conn.send({"op": "cancel"})
        except (OSError, ValueError):
            pass
