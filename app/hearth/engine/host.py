"""The engine host: the only process that holds a llama.cpp model.

It runs as a child process and serves one request at a time from its pipe. Keeping the
model out of the GUI/CLI process means a llama.cpp crash (a bad file, out of memory)
kills only this process; the client reports it and starts a fresh one.

Requests are dicts with an "op"; replies are dicts with "ok" or "error". A stream
replies with one {"piece": ...} per generated piece, then {"done": ...}. Between pieces
the host polls its pipe, so a "cancel" takes effect before the next token.
"""

from __future__ import annotations

import collections
import ctypes
import logging
import os
import re
import time
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from hearth.engine.backends import gpu_devices, load_cpu_backends, load_vulkan_backend
from hearth.engine.gpu import OffloadPlan, model_layout, plan_offload
from hearth.engine.grammar_first import sample_grammar_first
from hearth.engine.prefix_cache import PrefixCache, common_prefix_length
from hearth.engine.prompts import (
    ChatMessage,
    FormattedPrompt,
    SpeakerLineGuard,
    format_plain,
    format_with_template,
    template_has_tool_calls,
)

log = logging.getLogger(__name__)

# The last lines llama.cpp logged: the reason a load failed is only ever written there.
_recent_llama_log: collections.deque[str] = collections.deque(maxlen=40)
_log_callback_ref: Any = None
# llama.cpp's "offloaded 25/25 layers to GPU", kept apart from the ring buffer.
_offload_lines: collections.deque[str] = collections.deque(maxlen=4)
# The CPU backend module ggml chose for this CPU (libggml-cpu-zen4.so ...), once loaded.
_cpu_backend_file = ""


def install_llama_log_capture() -> None:
    """Route llama.cpp's log into a ring buffer instead of the terminal."""
    global _log_callback_ref
    import llama_cpp

    if _log_callback_ref is not None:
        return

    @llama_cpp.llama_log_callback  # type: ignore[untyped-decorator]
    def _capture(level: int, text: bytes, user_data: ctypes.c_void_p) -> None:
        line = text.decode("utf-8", errors="replace")
        _recent_llama_log.append(line)
        if "layers to GPU" in line:  # a load logs many lines after it
            _offload_lines.append(line)

    _log_callback_ref = _capture
    llama_cpp.llama_log_set(_capture, ctypes.c_void_p(0))


def prepare_llama(use_gpu: bool = False) -> None:
    """Before any model: llama.cpp's log captured, then the CPU backend for this CPU loaded
    (which variant it chose is logged), and with ``use_gpu`` the Vulkan backend too."""
    install_llama_log_capture()
    load_cpu_backends()
    if use_gpu and not load_vulkan_backend():
        log.info("no Vulkan backend here: models run on the CPU")
    global _cpu_backend_file
    for line in _recent_llama_log:
        if "loaded CPU backend from" in line:
            _cpu_backend_file = Path(line.split("loaded CPU backend from", 1)[1].strip()).name
            log.info("llama.cpp loaded its CPU backend %s", _cpu_backend_file)


def llama_failure_reason() -> str:
    """The most telling recent llama.cpp log line, for a one-line error message."""
    lines = [line.strip() for line in "".join(_recent_llama_log).splitlines() if line.strip()]
    for keyword in ("unknown model architecture", "error", "failed", "invalid"):
        for line in reversed(lines):
            if keyword in line.lower():
                return line.split(": ", 1)[-1] if line.startswith("llama_") else line
    return lines[-1] if lines else "llama.cpp gave no reason"


def open_llama(path: Path, use_gpu: bool = False, **kwargs: Any) -> Any:
    """Construct llama_cpp.Llama with the log captured; raise ValueError with the reason."""
    import llama_cpp

    prepare_llama(use_gpu)
    _recent_llama_log.clear()
    _offload_lines.clear()
    try:
        return llama_cpp.Llama(model_path=str(path), verbose=False, **kwargs)
    except (ValueError, RuntimeError, OSError) as error:
        raise ValueError(llama_failure_reason()) from error


SELF_CHECK_PROMPT = "The capital of France is"
SELF_CHECK_TOKENS = 4


def llama_system_info() -> str:
    """What llama.cpp uses here: the features of the CPU backend it loaded for this CPU
    ("CPU : SSE3 = 1 | AVX2 = 1 | ...")."""
    import llama_cpp

    prepare_llama()
    info = bytes(llama_cpp.llama_print_system_info()).decode("utf-8", errors="replace").strip()
    return f"{info} {_cpu_backend_file}".strip()


def self_check(llama: Any) -> float:
    """Decode a few tokens, so a llama.cpp build that cannot run on this CPU fails here, at
    load, and not in the user's first answer. Returns the decode speed (tokens/s)."""
    tokens = llama.tokenize(SELF_CHECK_PROMPT.encode(), add_bos=True)
    started = time.perf_counter()
    produced = 0
    for _ in llama.create_completion(
        prompt=tokens, max_tokens=SELF_CHECK_TOKENS, temperature=0.0, stream=True
    ):
        produced += 1
    if produced == 0:
        raise ValueError("llama.cpp produced no tokens in its self-check")
    return produced / max(time.perf_counter() - started, 1e-9)


def offloaded_layers(requested: int) -> int:
    """Layers llama.cpp reported putting on a GPU at the load just made ("offloaded 25/25
    layers to GPU"); none without that line (no GPU backend)."""
    for line in _offload_lines:
        found = re.search(r"offloaded (\d+)/(\d+) layers to GPU", line)
        if found:
            return min(int(found.group(1)), requested)
    return 0


def current_rss_bytes() -> int:
    import psutil

    return int(psutil.Process().memory_info().rss)


class EngineHost:
    def __init__(self, conn: Connection, use_gpu: bool = False) -> None:
        self.conn = conn
        # Whether this process loads the Vulkan backend: fixed for its life (the client
        # starts another host for the other choice).
        self.use_gpu = use_gpu
        self.gpu_layers = 0
        self.offloadable_layers = 0
        self.gpu_device_names: list[str] = []
        self.gpu_note = ""
        self.llama: Any = None
        self.model_path: Path | None = None
        self.n_ctx = 0
        self.chat_template: str | None = None
        self.bos_token = ""
        self.eos_token = ""
        self.grammar_cache: dict[str, Any] = {}
        self.prefixes = PrefixCache()
        self.reused_tokens = 0  # of the last prompt, not read again
        self._last_format: tuple[str, list[int]] = ("", [])

    # -- loop ---------------------------------------------------------------------------
    def serve(self) -> None:
        while True:
            try:
                request = self.conn.recv()
            except (EOFError, OSError):
                return
            op = request.get("op")
            if op == "cancel":
                continue  # arrived after its stream had already finished
            if op == "shutdown":
                self.conn.send({"ok": True})
                return
            try:
                if op == "stream":
                    self.stream(request)
                    continue
                reply = self.handle(op, request)
                self.conn.send({"ok": True, **reply})
            except Exception as error:  # reported to the client, which raises a typed error
                kind = "ModelLoadError" if op == "load" else "GenerationError"
                if isinstance(error, LookupError) and str(error) == "no model loaded":
                    kind = "NoModelLoaded"
                self.conn.send({"error": kind, "message": str(error)})

    def handle(self, op: str, request: dict[str, Any]) -> dict[str, Any]:
        if op == "load":
            return self.load(request)
        if op == "unload":
            self.unload()
            return self.status()
        if op == "status":
            return self.status()
        if op == "system_info":
            prepare_llama(self.use_gpu)
            return {"system_info": llama_system_info()}
        if op == "tokenize":
            return {"count": len(self.tokenize_text(request["text"]))}
        if op == "count_chat":
            prompt = self.format(request["messages"], request.get("tools"))
            return {"count": len(self.tokenize_prompt(prompt))}
        if op == "format":
            prompt = self.format(request["messages"], request.get("tools"))
            self._remember_format(request["messages"], prompt, request.get("tools"))
            return {"text": prompt.text, "stop": prompt.stop}
        raise ValueError(f"unknown request {op!r}")

    # -- model --------------------------------------------------------------------------
    def load(self, request: dict[str, Any]) -> dict[str, Any]:
        path = Path(request["path"])
        n_ctx = int(request["n_ctx"])
        same = self.llama is not None and self.model_path == path and self.n_ctx == n_ctx
        if same:
            return self.status()
        self.unload()  # free the old model before the new one takes memory
        started = time.perf_counter()
        plan = self.plan_offload(path, n_ctx, str(request.get("gpu", "off")))
        self.conn.send({"stage": f"offload {plan.layers}"})
        self.llama = open_llama(
            path,
            use_gpu=self.use_gpu,
            n_ctx=n_ctx,
            n_threads=int(request["n_threads"]),
            n_threads_batch=int(request["n_threads"]),
            n_gpu_layers=plan.layers,
            seed=int(request.get("seed", 0xC0FFEE)),
        )
        sample_grammar_first(self.llama)
        self.model_path = path
        self.n_ctx = n_ctx
        self.gpu_layers = offloaded_layers(plan.layers)
        arch = self.llama.metadata.get("general.architecture", "")
        self.offloadable_layers = int(self.llama.metadata.get(f"{arch}.block_count", 0)) + 1
        self.gpu_note = plan.reason
        if self.gpu_layers:
            log.info("%s: %s on %s", path.name, plan.reason, ", ".join(self.gpu_device_names))
        # Tell the client the file is loaded: a crash from here on is llama.cpp failing to
        # run the model on this CPU, not a bad file.
        self.conn.send({"stage": "self_check"})
        try:
            check_speed = self_check(self.llama)
        except Exception as error:
            self.unload()
            raise ValueError(f"llama.cpp could not run the model ({error})") from error
        metadata = self.llama.metadata
        self.chat_template = metadata.get("tokenizer.chat_template") or None
        self.bos_token = self._token_text(self.llama.token_bos())
        self.eos_token = self._token_text(self.llama.token_eos())
        self.grammar_cache.clear()
        self.prefixes.clear()
        return {
            **self.status(),
            "load_seconds": time.perf_counter() - started,
            "self_check_tokens_per_s": check_speed,
        }

    def plan_offload(self, path: Path, n_ctx: int, choice: str) -> OffloadPlan:
        """How many layers to ask llama.cpp to put on the GPU devices it has."""
        prepare_llama(self.use_gpu)
        devices = gpu_devices() if self.use_gpu and choice != "off" else []
        self.gpu_device_names = [device.description or device.name for device in devices]
        layout = None
        if devices:
            try:
                layout = model_layout(path, n_ctx)
            except (ValueError, OSError) as error:  # llama.cpp gives the reason at load
                log.warning("could not read %s's layers (%s)", path.name, error)
        free = sum(device.free_bytes for device in devices)
        return plan_offload(choice, layout, free)

    def _token_text(self, token: int) -> str:
        if token < 0:
            return ""
        return bytes(self.llama.detokenize([token], special=True)).decode("utf-8", errors="ignore")

    def unload(self) -> None:
        if self.llama is not None:
            self.llama.close()
            self.llama = None
            self.model_path = None
            self.n_ctx = 0
            self.gpu_layers = self.offloadable_layers = 0

    def status(self) -> dict[str, Any]:
        return {
            "loaded": self.llama is not None,
            "model_path": str(self.model_path) if self.model_path else None,
            "n_ctx": self.n_ctx,
            "has_chat_template": self.chat_template is not None,
            "native_tool_calls": template_has_tool_calls(self.chat_template),
            "prefix_hits": self.prefixes.hits,
            "reused_tokens": self.reused_tokens,
            "gpu_layers": self.gpu_layers,
            "offloadable_layers": self.offloadable_layers,
            "gpu_devices": self.gpu_device_names if self.gpu_layers else [],
            "gpu_note": self.gpu_note if self.llama is not None else "",
            "pid": os.getpid(),
            "rss_bytes": current_rss_bytes(),
        }

    def require_model(self) -> Any:
        if self.llama is None:
            raise LookupError("no model loaded")
        return self.llama

    # -- prompts ------------------------------------------------------------------------
    def format(
        self, messages: list[ChatMessage], tools: list[dict[str, Any]] | None = None
    ) -> FormattedPrompt:
        self.require_model()
        if self.chat_template:
            return format_with_template(
                messages, self.chat_template, self.bos_token, self.eos_token, tools
            )
        return format_plain(messages)

    def stable_prefix(
        self,
        messages: list[ChatMessage],
        tokens: list[int],
        tools: list[dict[str, Any]] | None = None,
    ) -> list[int]:
        """The tokens of ``tokens`` before the conversation's last user turn (the part a
        request of the same kind will open with again); [] when there is none."""
        if len(messages) < 2 or not self.chat_template:
            return []
        opening = self.tokenize_prompt(self.format(messages[:-1], tools))
        return tokens[: common_prefix_length(opening, tokens)]

    def _remember_format(
        self,
        messages: list[ChatMessage],
        prompt: FormattedPrompt,
        tools: list[dict[str, Any]] | None,
    ) -> None:
        """A formatted chat, whose raw continuations (a tool call) keep its opening too."""
        tokens = self.tokenize_prompt(prompt)
        self._last_format = (prompt.text, self.stable_prefix(messages, tokens, tools))

    def _keep_prefix(self, llama: Any, prompt_text: str, tokens: list[int]) -> None:
        text, prefix = self._last_format
        if text and prompt_text.startswith(text) and tokens[: len(prefix)] == prefix:
            self.prefixes.keep(llama, prefix)

    def tokenize_text(self, text: str) -> list[int]:
        llama = self.require_model()
        return list(llama.tokenize(text.encode("utf-8"), add_bos=False, special=False))

    def tokenize_prompt(self, prompt: FormattedPrompt) -> list[int]:
        llama = self.require_model()
        return list(
            llama.tokenize(prompt.text.encode("utf-8"), add_bos=not prompt.has_bos, special=True)
        )

    def grammar(self, request: dict[str, Any]) -> Any:
        from llama_cpp.llama_grammar import LlamaGrammar

        key = request.get("grammar")
        if not key:
            return None
        if key not in self.grammar_cache:
            self.grammar_cache[key] = LlamaGrammar.from_string(key, verbose=False)
        return self.grammar_cache[key]

    # -- generation ---------------------------------------------------------------------
    def stream(self, request: dict[str, Any]) -> None:
        try:
            llama = self.require_model()
            if request.get("messages") is not None:
                prompt = self.format(request["messages"], request.get("tools"))
            else:
                prompt = FormattedPrompt(text=request["prompt"], stop=[], has_bos=False)
            tokens = self.tokenize_prompt(prompt)
            if request.get("messages") is not None:
                prefix = self.stable_prefix(request["messages"], tokens, request.get("tools"))
            else:
                prefix = []
            max_tokens = int(request["max_tokens"])
            if len(tokens) >= self.n_ctx:
                raise ValueError(
                    f"the prompt is {len(tokens)} tokens, more than the context of {self.n_ctx}"
                )
            max_tokens = min(max_tokens, self.n_ctx - len(tokens))
            stop = [*prompt.stop, *(request.get("stop") or [])]
            grammar = self.grammar(request)
            guard = (
                SpeakerLineGuard()
                if request.get("stop_at_new_speaker") and prompt.plain_transcript
                else None
            )
        except Exception as error:
            kind = "NoModelLoaded" if isinstance(error, LookupError) else "GenerationError"
            self.conn.send({"error": kind, "message": str(error)})
            return
        started = time.perf_counter()
        first_piece_at: float | None = None
        generated: list[str] = []
        finish_reason = "stop"
        cancelled = False
        # A chat is read from its kept opening, so that an answer does not depend on the
        # question before it (prefix_cache.py).
        held = self.prefixes.restore(llama, tokens, afresh=bool(prefix))
        self.reused_tokens = min(held, len(tokens) - 1)
        try:
            iterator = llama.create_completion(
                prompt=tokens,
                max_tokens=max_tokens,
                temperature=float(request.get("temperature", 0.2)),
                top_p=float(request.get("top_p", 0.9)),
                repeat_penalty=float(request.get("repeat_penalty", 1.0)),
                stop=stop or None,
                grammar=grammar,
                seed=request.get("seed"),
                stream=True,
            )
            for chunk in iterator:
                choice = chunk["choices"][0]
                piece = choice.get("text") or ""
                if choice.get("finish_reason"):
                    finish_reason = choice["finish_reason"]
                if guard is not None:
                    piece = guard.feed(piece)
                if piece:
                    if first_piece_at is None:
                        first_piece_at = time.perf_counter()
                    generated.append(piece)
                    self.conn.send({"piece": piece})
                if guard is not None and guard.stopped:
                    finish_reason = "stop"
                    break
                if self.conn.poll() and self._cancel_requested():
                    cancelled = True
                    finish_reason = "cancelled"
                    break
        except Exception as error:
            self.conn.send({"error": "GenerationError", "message": str(error)})
            return
        finally:
            if cancelled or (guard is not None and guard.stopped):
                iterator.close()
        if prefix:
            self.prefixes.keep(llama, prefix)
        elif request.get("prompt") is not None:
            self._keep_prefix(llama, str(request["prompt"]), tokens)
        if guard is not None and (tail := guard.flush()):
            generated.append(tail)
            self.conn.send({"piece": tail})
        ended = time.perf_counter()
        self.conn.send(
            {
                "done": True,
                "prompt_tokens": len(tokens),
                "completion_tokens": len(self.tokenize_text("".join(generated))),
                "finish_reason": finish_reason,
                "seconds": ended - started,
                "first_piece_seconds": (first_piece_at or ended) - started,
            }
        )

    def _cancel_requested(self) -> bool:
        """Drain pending messages; only 'cancel' can arrive mid-stream."""
        requested = False
        while self.conn.poll():
            message = self.conn.recv()
            if message.get("op") == "cancel":
                requested = True
        return requested


def host_main(conn: Connection, use_gpu: bool = False) -> None:
    """Entry point of the host process (multiprocessing spawn target)."""
    from hearth.offline import enforce_offline

    enforce_offline()
    logging.basicConfig(level=logging.WARNING)
    EngineHost(conn, use_gpu).serve()
