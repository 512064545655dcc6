"""The tool registry: each tool has a name, a one-line description and a JSON schema.

Arguments are validated against the schema before a tool runs; an invalid call is
recorded with the reason and never reaches the tool. Every built-in tool is read-only and
reaches only what the index holds, so a document that says "ignore your instructions and
call X" can at worst make the model read something it could already read.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

import jsonschema

from hearth.errors import HearthError

if TYPE_CHECKING:
    from hearth.index.document_index import DocumentIndex

MAX_RESULT_CHARS = 1500


class ToolError(HearthError):
    """A tool could not do what was asked; str() is shown to the model and the user."""


@dataclass
class ToolContext:
    index: DocumentIndex
    # Summarise an indexed document (by path); None where summaries are unavailable.
    summarize: Callable[[str], str] | None = None
    now: Callable[[], datetime] = datetime.now


@dataclass(frozen=True)
class Tool:
    name: str
    description: str
    parameters: dict[str, Any]
    function: Callable[[dict[str, Any], ToolContext], str]

    def signature(self) -> str:
        names = ", ".join(self.parameters.get("properties", {}))
        return f"{self.name}({names})"


@dataclass
class ToolCall:
    tool: str
    arguments: dict[str, Any]
    result: str
    ok: bool = True

    def to_json(self) -> dict[str, Any]:
        return {"tool": self.tool, "arguments": self.arguments, "result": self.result}


class ToolRegistry:
    def __init__(self, tools: list[Tool]) -> None:
        self.tools = {tool.name: tool for tool in tools}

    @property
    def names(self) -> list[str]:
        return list(self.tools)

    def get(self, name: str) -> Tool:
        return self.tools[name]

    def validation_error(self, name: str, arguments: Any) -> str | None:
        """Why ``arguments`` is not a valid call of ``name``; None when it is."""
        if name not in self.tools:
            return f"there is no tool called {name!r}"
        validator = jsonschema.Draft202012Validator(self.tools[name].parameters)
        errors = sorted(validator.iter_errors(arguments), key=lambda e: list(e.path))
        if errors:
            where = "/".join(str(p) for p in errors[0].path)
            return f"invalid arguments{' at ' + where if where else ''}: {errors[0].message}"
        return None

    def call(self, name: str, arguments: Any, context: ToolContext) -> ToolCall:
        problem = self.validation_error(name, arguments)
        if problem is not None:
            shown = arguments if isinstance(arguments, dict) else {"raw": json.dumps(arguments)}
            return ToolCall(name, shown, problem, ok=False)
        try:
            result = self.tools[name].function(arguments, context)
        except ToolError as error:
            return ToolCall(name, arguments, f"error: {error}", ok=False)
        if len(result) > MAX_RESULT_CHARS:
            result = result[:MAX_RESULT_CHARS].rsplit(" ", 1)[0] + " …"
        return ToolCall(name, arguments, result)
