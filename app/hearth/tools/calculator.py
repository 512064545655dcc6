"""A safe calculator: arithmetic on numbers, nothing else.

The expression is parsed with Python's ast module and evaluated by walking the tree,
accepting only numbers, + - * / // % **, parentheses, a few math functions and the
constants pi and e. Names, attributes, subscripts, lambdas and calls to anything else are
refused, and sizes are bounded (no 10**10**10), so an expression can never reach the
interpreter or exhaust memory.
"""

from __future__ import annotations

import ast
import math
import operator
from collections.abc import Callable
from typing import Any

MAX_EXPRESSION_CHARS = 300
MAX_NODES = 200
MAX_RESULT_DIGITS = 300
MAX_EXPONENT = 10_000

Number = int | float


class CalculatorError(ValueError):
    """The expression is not allowed or cannot be computed; str() says why."""


FUNCTIONS: dict[str, Callable[..., Number]] = {
    "sqrt": math.sqrt,
    "log": math.log,
    "log10": math.log10,
    "log2": math.log2,
    "exp": math.exp,
    "sin": math.sin,
    "cos": math.cos,
    "tan": math.tan,
    "abs": abs,
    "round": round,
    "floor": math.floor,
    "ceil": math.ceil,
    "min": min,
    "max": max,
}
CONSTANTS: dict[str, float] = {"pi": math.pi, "e": math.e}
BINARY: dict[type[ast.operator], Callable[[Any, Any], Any]] = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
    ast.FloorDiv: operator.floordiv,
    ast.Mod: operator.mod,
    ast.Pow: operator.pow,
}
UNARY: dict[type[ast.unaryop], Callable[[Any], Any]] = {
    ast.UAdd: operator.pos,
    ast.USub: operator.neg,
}


def _check_size(value: Number) -> Number:
    if isinstance(value, int) and abs(value) >= 10**MAX_RESULT_DIGITS:
        raise CalculatorError("the result is too large")
    if isinstance(value, float) and math.isinf(value):
        raise CalculatorError("the result is too large")
    return value


def _power(base: Number, exponent: Number) -> Number:
    if abs(exponent) > MAX_EXPONENT:
        raise CalculatorError("the exponent is too large")
    if abs(base) > 1 and exponent > 0:
        digits = exponent * math.log10(abs(base))
        if digits > MAX_RESULT_DIGITS:
            raise CalculatorError("the result is too large")
    return _check_size(base**exponent)


def _evaluate(node: ast.AST) -> Number:
    if isinstance(node, ast.Expression):
        return _evaluate(node.body)
    if isinstance(node, ast.Constant) and type(node.value) in (int, float):
        value: Number = node.value  # type: ignore[assignment]  # narrowed just above
        return _check_size(value)
    if isinstance(node, ast.BinOp) and type(node.op) in BINARY:
        left, right = _evaluate(node.left), _evaluate(node.right)
        if isinstance(node.op, ast.Pow):
            return _power(left, right)
        try:
            return _check_size(BINARY[type(node.op)](left, right))
        except ZeroDivisionError as error:
            raise CalculatorError("division by zero") from error
    if isinstance(node, ast.UnaryOp) and type(node.op) in UNARY:
        return _check_size(UNARY[type(node.op)](_evaluate(node.operand)))
    if isinstance(node, ast.Name) and node.id in CONSTANTS:
        return CONSTANTS[node.id]
    if (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Name)
        and node.func.id in FUNCTIONS
        and not node.keywords
        and 1 <= len(node.args) <= 4
    ):
        arguments = [_evaluate(argument) for argument in node.args]
        try:
            return _check_size(FUNCTIONS[node.func.id](*arguments))
        except (ValueError, OverflowError, TypeError) as error:
            raise CalculatorError(f"{node.func.id}: {error}") from error
    if isinstance(node, ast.Name):
        raise CalculatorError(f"unknown name '{node.id}'")
    if isinstance(node, ast.Attribute) or (
        isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
    ):
        raise CalculatorError("attribute access is not allowed")
    if isinstance(node, ast.Call):
        raise CalculatorError("only these functions are allowed: " + ", ".join(FUNCTIONS))
    raise CalculatorError(f"'{type(node).__name__}' is not allowed in a calculation")


def calculate(expression: str) -> Number:
    text = expression.strip().replace("^", "**").replace("×", "*").replace("÷", "/")
    if not text:
        raise CalculatorError("the expression is empty")
    if len(text) > MAX_EXPRESSION_CHARS:
        raise CalculatorError("the expression is too long")
    try:
        tree = ast.parse(text, mode="eval")
    except SyntaxError as error:
        raise CalculatorError("the expression is not valid arithmetic") from error
    if sum(1 for _ in ast.walk(tree)) > MAX_NODES:
        raise CalculatorError("the expression is too complex")
    return _evaluate(tree)


def format_number(value: Number) -> str:
    if isinstance(value, float):
        if value.is_integer() and abs(value) < 1e15:
            return str(int(value))
        return f"{value:.10g}"
    return str(value)
