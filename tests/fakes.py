"""A scripted engine for the fast tests (as simonw/llm's MockModel): tests enqueue replies,
the assistant streams them as if a model wrote them, and every request is recorded.

It implements hearth.engine.protocol.Engine. It is never the only test of a feature: the
real-model tests (marked slow_model) are the proof; these check logic and wiring quickly.
"""

from __future__ import annotations

import threading
from collections.abc import Generator, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hearth.engine.prompts import ChatMessage
from hearth.engine.protocol import Engine, GenerationStream
from hearth.engine.types import EngineStatus, GenerationResult, SamplingOptions


@dataclass
class Request:
    messages: list[ChatMessage] | None
    prompt: str | None
    options: SamplingOptions
    tools: list[dict[str, Any]] | None = None


class ScriptedStream(GenerationStream):
    """Streams one scripted reply piece by piece; a cancel ends it before the next piece.
    A piece is a token: a reply longer than ``max_tokens`` ends there ("length")."""

    def __init__(self, engine: ScriptedEngine, pieces: list[str], max_tokens: int) -> None:
        self._engine = engine
        self._pieces = pieces
        self._max_tokens = max_tokens
        self.result = GenerationResult()
        self._generator = self._run()

    def __iter__(self) -> Iterator[str]:
        return self

    def __next__(self) -> str:
        return next(self._generator)

    def text(self) -> str:
        return "".join(self)

    def close(self) -> None:
        self._generator.close()

    def _run(self) -> Generator[str, None, None]:
        engine = self._engine
        engine.cancel_requested.clear()
        produced = 0
        finish = "stop"
        for piece in self._pieces:
            if engine.piece_gate is not None:
                engine.piece_gate.wait(timeout=10)
            if engine.piece_budget is not None:
                engine.piece_budget.acquire(timeout=10)
            if engine.cancel_requested.is_set():
                finish = "cancelled"
                break
            if produced == self._max_tokens:
                finish = "length"
                break
            produced += 1
            yield piece
        engine.streamed.append("".join(self._pieces[:produced]))
        self.result = GenerationResult(
            prompt_tokens=10, completion_tokens=produced, finish_reason=finish
        )


@dataclass
class ScriptedEngine(Engine):
    """Replies come from ``replies`` in order (a reply is a list of pieces or one string);
    when they run out, ``default_reply``."""

    replies: list[list[str] | str] = field(default_factory=list)
    default_reply: str = "A scripted answer."
    has_chat_template: bool = True
    native_tool_calls: bool = False
    n_ctx: int = 4096
    system_info: str = "CPU : scripted"
    requests: list[Request] = field(default_factory=list)
    streamed: list[str] = field(default_factory=list)  # what each stream actually produced
    loaded: Path | None = None
    # Set by tests that want to step through pieces (cleared: pieces wait for it).
    piece_gate: threading.Event | None = None
    # Set by tests that let pieces through one release at a time.
    piece_budget: threading.Semaphore | None = None
    cancel_requested: threading.Event = field(default_factory=threading.Event)

    def enqueue(self, *replies: list[str] | str) -> None:
        self.replies.extend(replies)

    def load(
        self, path: Path, n_ctx: int = 4096, n_threads: int = 4, gpu: str = "auto"
    ) -> EngineStatus:
        self.loaded, self.n_ctx = Path(path), n_ctx
        return self.status()

    def status(self) -> EngineStatus:
        return EngineStatus(
            loaded=self.loaded is not None,
            model_path=self.loaded,
            n_ctx=self.n_ctx,
            has_chat_template=self.has_chat_template,
            pid=0,
            rss_bytes=0,
            native_tool_calls=self.native_tool_calls,
        )

    def count_tokens(self, text: str) -> int:
        return max(1, len(text) // 4)

    def count_chat_tokens(
        self, messages: list[ChatMessage], tools: list[dict[str, Any]] | None = None
    ) -> int:
        return sum(self.count_tokens(m["content"]) + 4 for m in messages)

    def format_chat(
        self, messages: list[ChatMessage], tools: list[dict[str, Any]] | None = None
    ) -> str:
        return "\n".join(f"{m['role']}: {m['content']}" for m in messages) + "\nassistant:"

    def _stream(self, request: Request) -> ScriptedStream:
        self.requests.append(request)
        reply = self.replies.pop(0) if self.replies else self.default_reply
        pieces = [reply] if isinstance(reply, str) else list(reply)
        return ScriptedStream(self, pieces, request.options.max_tokens)

    def stream_chat(
        self,
        messages: list[ChatMessage],
        options: SamplingOptions | None = None,
        tools: list[dict[str, Any]] | None = None,
    ) -> ScriptedStream:
        return self._stream(Request(messages, None, options or SamplingOptions(), tools))

    def stream_completion(
        self, prompt: str, options: SamplingOptions | None = None
    ) -> ScriptedStream:
        return self._stream(Request(None, prompt, options or SamplingOptions()))

    def cancel(self) -> None:
        self.cancel_requested.set()
        if self.piece_gate is not None:
            self.piece_gate.set()
        if self.piece_budget is not None:
            self.piece_budget.release(100)

    def close(self) -> None:
        self.loaded = None


def boiler_notes(folder: Path) -> Path:
    """A one-fact note for the fast answer tests: the boiler pressure, 1.5 bar."""
    notes = folder / "notes.md"
    notes.write_text("# Boiler\n\nThe boiler pressure should be 1.5 bar when cold.\n", "utf-8")
    return notes


def tiny_gguf(path: Path, name: str = "Tiny test model", template: bool = True) -> Path:
    """A GGUF file with metadata and one small tensor: enough for the catalogue (no model
    runs from it; the scripted engine answers)."""
    import numpy as np
    from gguf import GGUFWriter

    writer = GGUFWriter(str(path), "llama")
    writer.add_name(name)
    writer.add_context_length(2048)
    writer.add_block_count(1)
    writer.add_embedding_length(8)
    writer.add_head_count(1)
    writer.add_head_count_kv(1)
    if template:
        writer.add_chat_template("{% for m in messages %}{{ m.content }}{% endfor %}")
    writer.add_tensor("token_embd.weight", np.zeros((4, 8), dtype=np.float32))
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    return path
