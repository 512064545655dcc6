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
        low = int(schema.get("minLength", 0))
        high = int(schema.get("maxLength", 200))
        return f'"\\"" {STRING_CHAR}{{{low},{high}}} "\\""'
    if kind == "integer":
        return _integer_rule(int(schema.get("minimum", 0)), int(schema.get("maximum", 10**6)))
    if kind == "boolean":
        return '"true" | "false"'
    raise NotImplementedError(f"no built-in grammar for {schema!r}")


def flat_object_grammar(schema: dict[str, Any]) -> str:
    """All properties, required and in schema order, each constrained to its schema."""
    properties: dict[str, Any] = schema.get("properties", {})
    if schema.get("type") != "object" or set(schema.get("required", [])) != set(properties):
        raise NotImplementedError("only objects whose properties are all required")
    if not properties:
        return 'root ::= "{" space "}"\n' + JSON_SPACE
    rules = []
    members = []
    for number, (name, property_schema) in enumerate(properties.items()):
        rule = f"value{number}"
        rules.append(f"{rule} ::= {_value_rule(property_schema)}")
        members.append(f'{literal(json.dumps(name))} space ":" space {rule}')
    body = ' "," space '.join(members)
    return "\n".join([f'root ::= "{{" space {body} space "}}"', *rules, JSON_SPACE])


def schema_grammar(schema: dict[str, Any]) -> str:
    try:
        return flat_object_grammar(schema)
    except NotImplementedError:
        from llama_cpp.llama_grammar import json_schema_to_gbnf

        return str(json_schema_to_gbnf(json.dumps(schema)))
