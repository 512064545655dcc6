"""GBNF grammars that make a model's output valid by construction.

For the flat argument objects Hearth's tools take (strings with a length limit, integers
within a range, enums), the grammar here accepts exactly the values the JSON schema
accepts, so a grammar-constrained call always validates. Richer schemas fall back to
llama.cpp's own converter, and validation still guards the tool.
"""

from __future__ import annotations

import json
from typing import Any

STRING_CHAR = r'[^"\\\x00-\x1f]'
JSON_SPACE = 'space ::= " "?'


def literal(text: str) -> str:
    """A GBNF literal for ``text``."""
    return json.dumps(text)


def choice_grammar(options: list[str]) -> str:
    """Exactly one of ``options``."""
    return "root ::= " + " | ".join(literal(option) for option in options)


def _integer_rule(minimum: int, maximum: int) -> str:
    if minimum < 0 or maximum - minimum > 200:
        # Wide ranges: digits without a leading zero; validation checks the bounds.
        low = "[1-9]" if minimum >= 1 else "[0-9]"
        return f"{low} [0-9]{{0,{max(0, len(str(maximum)) - 1)}}}"
    return " | ".join(literal(str(n)) for n in range(minimum, maximum + 1))


def _value_rule(schema: dict[str, Any]) -> str:
    if "enum" in schema:
        return " | ".join(literal(json.dumps(value)) for value in schema["enum"])
    kind = schema.get("type")
    if kind == "string":
        # No upper bound in the grammar: llama.cpp expands "{1,300}" into 300 nested rules,
        # which made sampling take seconds per token. max_tokens bounds the length and the
        # registry's validation checks maxLength.
        repeat = "+" if int(schema.get("minLength", 0)) >= 1 else "*"
        return f'"\\"" {STRING_CHAR}{repeat} "\\""'
    if kind == "integer":
        return _integer_rule(int(schema.get("minimum", 0)), int(schema.get("maximum", 10**6)))
    if kind == "boolean":
        return '"true" | "false"'
    raise NotImplementedError(f"no built-in grammar for {schema!r}")


def _flat_object_rules(schema: dict[str, Any], name: str) -> list[str]:
    """Rules whose first, ``name``, accepts exactly the flat objects ``schema`` accepts."""
    properties: dict[str, Any] = schema.get("properties", {})
    if schema.get("type") != "object" or set(schema.get("required", [])) != set(properties):
        raise NotImplementedError("only objects whose properties are all required")
    if not properties:
        return [f'{name} ::= "{{" space "}}"']
    rules = []
    members = []
    for number, (property_name, property_schema) in enumerate(properties.items()):
        rule = f"{name}-value{number}"
        rules.append(f"{rule} ::= {_value_rule(property_schema)}")
        members.append(f'{literal(json.dumps(property_name))} space ":" space {rule}')
    body = ' "," space '.join(members)
    return [f'{name} ::= "{{" space {body} space "}}"', *rules]


def flat_object_grammar(schema: dict[str, Any]) -> str:
    """All properties, required and in schema order, each constrained to its schema."""
    return "\n".join([*_flat_object_rules(schema, "root"), JSON_SPACE])


def tool_call_grammar(tools: dict[str, dict[str, Any]]) -> str:
    """The JSON of one call in Qwen2.5's format, {"name": ..., "arguments": {...}}, for one
    of ``tools`` (name -> flat argument schema), its arguments matching that tool's schema.
    Raises NotImplementedError for a schema that is not flat."""
    alternatives: list[str] = []
    rules: list[str] = []
    for number, (tool_name, schema) in enumerate(tools.items()):
        arguments = f"tool{number}-arguments"
        rules += _flat_object_rules(schema, arguments)
        alternatives.append(f'{literal(json.dumps(tool_name))} ", \\"arguments\\": " {arguments}')
    root = f'root ::= "{{\\"name\\": " ({" | ".join(alternatives)}) "}}"'
    return "\n".join([root, *rules, JSON_SPACE])


def schema_grammar(schema: dict[str, Any]) -> str:
    try:
        return flat_object_grammar(schema)
    except NotImplementedError:
        from llama_cpp.llama_grammar import json_schema_to_gbnf

        return str(json_schema_to_gbnf(json.dumps(schema)))
