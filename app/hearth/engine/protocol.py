"""Engine: what the assistant needs from whatever runs the model.

EngineClient (the model in Hearth's own engine host) implements it; so do the remote engine
(an OpenAI-compatible server) and the tests' scripted engine. The assistant, the tools and
the window type against this protocol, never against one implementation.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any, Protocol

from hearth.engine.prompts import ChatMessage
from hearth.engine.types import EngineStatus, GenerationResult, SamplingOptions


class GenerationStream(Protocol):
    """Generated text pieces; ``result`` is filled once the stream is exhausted. Closing it
    early cancels the generation."""

    result: GenerationResult

    def __iter__(self) -> Iterator[str]: ...

    def __next__(self) -> str: ...

    def text(self) -> str: ...

    def close(self) -> None: ...


class Engine(Protocol):
    system_info: str

    def load(
        self, path: Path, n_ctx: int = 4096, n_threads: int = 4, gpu: str = "auto"
    ) -> EngineStatus: ...

    def status(self) -> EngineStatus: ...

    def count_tokens(self, text: str) -> int: ...

    def count_chat_tokens(
        self, messages: list[ChatMessage], tools: list[dict[str, Any]] | None = None
    ) -> int: ...

    def format_chat(
        self, messages: list[ChatMessage], tools: list[dict[str, Any]] | None = None
    ) -> str: ...

    def stream_chat(
        self,
        messages: list[ChatMessage],
        options: SamplingOptions | None = None,
        tools: list[dict[str, Any]] | None = None,
    ) -> GenerationStream: ...

    def stream_completion(
        self, prompt: str, options: SamplingOptions | None = None
    ) -> GenerationStream: ...

    def cancel(self) -> None: ...

    def close(self) -> None: ...
