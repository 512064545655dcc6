"""What every engine takes and returns: load requests, status, sampling options, results.

Shared by the engine host's client, the remote (OpenAI-compatible) engine and the tests'
scripted engine, so the assistant depends on these and on the Engine protocol only.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class LoadRequest:
    path: Path
    n_ctx: int = 4096
    n_threads: int = 4
    gpu: str = "auto"  # "auto", "off" or a number of layers (engine/gpu.py)


@dataclass(frozen=True)
class EngineStatus:
    loaded: bool
    model_path: Path | None
    n_ctx: int
    has_chat_template: bool
    pid: int
    rss_bytes: int
    load_seconds: float | None = None
    self_check_tokens_per_s: float | None = None
    # The model's template has its own tool-call format (Qwen2.5's <tool_call>).
    native_tool_calls: bool = False
    # How often a kept prompt opening was put back instead of read again (prefix_cache.py).
    prefix_hits: int = 0
    # Of the last prompt, the tokens not read again (its kept opening, or all of it).
    reused_tokens: int = 0
    # Layers llama.cpp put on a GPU, of those it could (the blocks and the output layer);
    # the devices; why so many, or why the GPU was given up for the CPU.
    gpu_layers: int = 0
    offloadable_layers: int = 0
    gpu_devices: tuple[str, ...] = ()
    gpu_note: str = ""

    def device_summary(self) -> str:
        """Where the model runs, as the status bar says it: "GPU: 25 of 25 layers" or "CPU"
        ("" where Hearth cannot tell: no model, or a model server's)."""
        if self.offloadable_layers == 0:
            return ""
        if self.gpu_layers > 0:
            return f"GPU: {self.gpu_layers} of {self.offloadable_layers} layers"
        return "CPU"

    @classmethod
    def from_reply(cls, reply: dict[str, Any]) -> EngineStatus:
        return cls(
            loaded=bool(reply["loaded"]),
            model_path=Path(reply["model_path"]) if reply.get("model_path") else None,
            n_ctx=int(reply["n_ctx"]),
            has_chat_template=bool(reply["has_chat_template"]),
            native_tool_calls=bool(reply.get("native_tool_calls")),
            prefix_hits=int(reply.get("prefix_hits", 0)),
            reused_tokens=int(reply.get("reused_tokens", 0)),
            pid=int(reply["pid"]),
            rss_bytes=int(reply["rss_bytes"]),
            load_seconds=reply.get("load_seconds"),
            self_check_tokens_per_s=reply.get("self_check_tokens_per_s"),
            gpu_layers=int(reply.get("gpu_layers", 0)),
            offloadable_layers=int(reply.get("offloadable_layers", 0)),
            gpu_devices=tuple(str(name) for name in reply.get("gpu_devices", ())),
            gpu_note=str(reply.get("gpu_note", "")),
        )


@dataclass
class GenerationResult:
    prompt_tokens: int = 0
    completion_tokens: int = 0
    finish_reason: str = ""
    seconds: float = 0.0
    first_piece_seconds: float = 0.0


@dataclass(frozen=True)
class SamplingOptions:
    max_tokens: int = 256
    temperature: float = 0.2
    top_p: float = 0.9
    stop: list[str] = field(default_factory=list)
    grammar: str | None = None  # llama.cpp GBNF text
    seed: int | None = None
    # Small models loop on their own words without it; 1.0 turns it off. Grounded answers
    # keep it too: without it the 1.5B gained within the scatter (bench_docqa tuning 38 ->
    # 40 of 60, held-out 43 -> 45) and the 0.5B wrote "[1]" where a number went.
    repeat_penalty: float = 1.1
    # End a base model's answer where it starts a new "Name:" line (prompts.SpeakerLineGuard);
    # models with a chat template end their turn themselves and are left alone.
    stop_at_new_speaker: bool = False
