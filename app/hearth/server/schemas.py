"""The requests the API accepts, as OpenAI defines them (the fields Hearth uses), checked
by pydantic: a request outside them is answered 400 naming the field.

Fields OpenAI clients send that make no difference here (user, logprobs: false, n: 1,
presence penalties...) are accepted and ignored, as llama.cpp's servers do.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from hearth.settings import MAX_ANSWER_TOKENS

MAX_EMBEDDING_INPUTS = 2048
FUNCTION_NAME = r"^[A-Za-z0-9_-]{1,64}$"


class MessageIn(BaseModel):
    model_config = ConfigDict(extra="allow")

    role: Literal["system", "developer", "user", "assistant", "tool", "function"]
    # A string, or OpenAI's list of parts (only text parts are read).
    content: str | list[dict[str, Any]] | None = None
    tool_calls: list[dict[str, Any]] | None = None
    tool_call_id: str | None = None
    name: str | None = None


class FunctionIn(BaseModel):
    name: str = Field(pattern=FUNCTION_NAME)
    description: str = ""
    parameters: dict[str, Any] = Field(default_factory=lambda: {"type": "object", "properties": {}})


class ToolIn(BaseModel):
    type: Literal["function"]
    function: FunctionIn


class NamedFunction(BaseModel):
    name: str = Field(pattern=FUNCTION_NAME)


class ToolChoiceIn(BaseModel):
    type: Literal["function"]
    function: NamedFunction


class HearthOptions(BaseModel):
    """Hearth's own part of a request: ``documents`` true answers from the index (all of it,
    or the listed documents: paths or file names as indexed); ``tools`` runs Hearth's own
    tools first (default: as in the settings)."""

    model_config = ConfigDict(extra="forbid")

    documents: bool | list[str] = False
    tools: bool | None = None


class StreamOptions(BaseModel):
    include_usage: bool = False


class ChatCompletionRequest(BaseModel):
    model_config = ConfigDict(extra="allow")

    model: str = ""
    messages: list[MessageIn] = Field(min_length=1)
    stream: bool = False
    stream_options: StreamOptions | None = None
    max_tokens: int | None = Field(default=None, ge=1, le=MAX_ANSWER_TOKENS)
    max_completion_tokens: int | None = Field(default=None, ge=1, le=MAX_ANSWER_TOKENS)
    temperature: float | None = Field(default=None, ge=0.0, le=2.0)
    top_p: float | None = Field(default=None, gt=0.0, le=1.0)
    stop: str | list[str] | None = None
    seed: int | None = None
    n: int = Field(default=1, ge=1, le=1)
    tools: list[ToolIn] | None = None
    tool_choice: Literal["none", "auto", "required"] | ToolChoiceIn | None = None
    hearth: HearthOptions | None = None


class EmbeddingsRequest(BaseModel):
    model_config = ConfigDict(extra="allow")

    input: str | list[str]
    model: str = ""
    encoding_format: Literal["float", "base64"] = "float"
