from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from hearth.index.document_index import DocumentIndex
from hearth.tools.builtin import BUILTIN_TOOLS, builtin_registry
from hearth.tools.grammar import schema_grammar
from hearth.tools.registry import Tool, ToolContext, ToolRegistry


def test_invalid_arguments_never_reach_the_tool(document_index: DocumentIndex) -> None:
    reached: list[dict[str, Any]] = []

    def spy(arguments: dict[str, Any], context: ToolContext) -> str:
        reached.append(arguments)
        return "ran"

    schema = {
        "type": "object",
        "properties": {"k": {"type": "integer", "minimum": 1, "maximum": 5}},
        "required": ["k"],
        "additionalProperties": False,
    }
    registry = ToolRegistry([Tool("spy", "records calls", schema, spy)])
    context = ToolContext(index=document_index)
    for bad in ({}, {"k": "3"}, {"k": 0}, {"k": 6}, {"k": 2, "extra": 1}, [1], "k=2"):
        call = registry.call("spy", bad, context)
        assert not call.ok
        assert call.result.startswith("invalid arguments")
    assert reached == []
    assert registry.call("spy", {"k": 3}, context).result == "ran"
    assert reached == [{"k": 3}]
    assert not registry.call("delete_everything", {}, context).ok


@pytest.mark.parametrize("tool", BUILTIN_TOOLS, ids=lambda t: t.name)
def test_builtin_schemas_are_valid_and_have_grammars(tool: Tool) -> None:
    jsonschema.Draft202012Validator.check_schema(tool.parameters)
    grammar = schema_grammar(tool.parameters)
    assert grammar.startswith("root ::=")
    assert tool.description
    assert "\n" not in tool.description


def test_document_arguments_resolve_only_against_the_index(
    document_index: DocumentIndex, tmp_path: Path
) -> None:
    outside = tmp_path / "secret.txt"
    outside.write_text("the password is swordfish", "utf-8")
    registry = builtin_registry()
    context = ToolContext(index=document_index)
    for name in (str(outside), "secret.txt", "/etc/passwd", "../secret"):
        call = registry.call("read_page", {"document": name, "page": 1}, context)
        assert not call.ok
        assert "no indexed document" in call.result
        assert "swordfish" not in call.result
    assert json.loads(json.dumps(call.to_json()))["tool"] == "read_page"
