"""`when` conditions on params: parsed once, compiled to an ASL Choice rule, or evaluated directly."""

from __future__ import annotations

import ast
import datetime as dt
import re
from collections.abc import Mapping
from typing import Any

_OPS = {ast.Eq: "==", ast.NotEq: "!=", ast.Lt: "<", ast.LtE: "<=", ast.Gt: ">", ast.GtE: ">=", ast.In: "in",
        ast.NotIn: "not in"}
_FLIP = {"<": ">", "<=": ">=", ">": "<", ">=": "<=", "==": "==", "!=": "!="}
_ASL = {"string": "String", "date": "String", "int": "Numeric", "number": "Numeric", "bool": "Boolean"}
_SUFFIX = {"==": "Equals", "<": "LessThan", "<=": "LessThanEquals", ">": "GreaterThan", ">=": "GreaterThanEquals"}
_PY_TYPES: dict[str, type | tuple[type, ...]] = {"string": str, "date": str, "int": (int, float),
                                                  "number": (int, float), "bool": bool}
_NAMES = {"true": True, "false": False, "True": True, "False": False}

Cond = tuple[Any, ...]  # ("and"|"or", [..]) | ("not", c) | ("cmp", param, op, literal) | ("truthy", param)


class ConditionError(ValueError):
    """A `when` expression that is not a valid condition on params."""


def _quoted(text: str, limit: int = 80) -> str:
    """The expression as a message quotes it: whole when short, its start when long (a 20 kB line helps nobody)."""
    return f"'{text}'" if len(text) <= limit else f"'{text[:limit]}...' ({len(text):,} characters)"


def parse(text: str, param_types: Mapping[str, str]) -> Cond:
    """Parse and type-check a condition such as "params.env == 'prod' and not params.dry_run"."""
    if "\0" in text:
        raise ConditionError(f"{text!r} is not a condition: it contains a NUL character")
    try:
        tree = ast.parse(text.strip(), mode="eval").body
        return _node(tree, param_types, text)
    except SyntaxError as exc:
        raise ConditionError(f"{_quoted(text)} is not a condition: {exc.msg}") from None
    except (RecursionError, MemoryError):
        raise ConditionError(f"{_quoted(text)} is nested too deeply to be a condition") from None


def _node(node: ast.AST, types: Mapping[str, str], text: str) -> Cond:
    if isinstance(node, ast.BoolOp):
        return ("and" if isinstance(node.op, ast.And) else "or", [_node(v, types, text) for v in node.values])
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not):
        return ("not", _node(node.operand, types, text))
    if isinstance(node, ast.Compare):
        if len(node.ops) != 1 or type(node.ops[0]) not in _OPS:
            raise ConditionError(f"'{text}': compare one pair at a time, with ==, !=, <, <=, >, >=, in, not in")
        return _compare(node.left, _OPS[type(node.ops[0])], node.comparators[0], types, text)
    name = _param(node, types, text)
    if name is not None:
        if types[name] != "bool":
            raise ConditionError(f"'{text}': params.{name} is {with_article(types[name])}; "
                                 f"compare it, e.g. params.{name} == ...")
        return ("truthy", name)
    raise ConditionError(f"'{text}': use params.NAME, literals, comparisons, and, or, not")


def _compare(left: ast.AST, op: str, right: ast.AST, types: Mapping[str, str], text: str) -> Cond:
    name = _param(left, types, text)
    if name is None:
        name, op, right = _param(right, types, text), _FLIP.get(op, op), left
        if name is None or op in {"in", "not in"}:
            raise ConditionError(f"'{text}': one side of a comparison must be params.NAME")
    kind = types[name]
    if kind == "list":
        raise ConditionError(f"'{text}': list params cannot be compared in a condition")
    if op in {"in", "not in"}:
        if not isinstance(right, ast.List | ast.Tuple):
            raise ConditionError(f"'{text}': 'in' takes a literal list, e.g. params.env in ['dev', 'test']")
        if not right.elts:
            raise ConditionError(f"'{text}': 'in' needs at least one value in its list")
        rules: Cond = ("or", [("cmp", name, "==", _literal(v, kind, text)) for v in right.elts])
        return ("not", rules) if op == "not in" else rules
    if kind == "bool" and op not in {"==", "!="}:
        raise ConditionError(f"'{text}': booleans compare with == or != only")
    return ("cmp", name, op, _literal(right, kind, text))


def _param(node: ast.AST, types: Mapping[str, str], text: str) -> str | None:
    if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id == "params":
        if node.attr not in types:
            raise ConditionError(f"'{text}': unknown parameter '{node.attr}'; declared: {sorted(types) or 'none'}")
        return node.attr
    return None


def _literal(node: ast.AST, kind: str, text: str) -> Any:
    if isinstance(node, ast.Name) and node.id in _NAMES:
        value: Any = _NAMES[node.id]
    elif isinstance(node, ast.Constant) and isinstance(node.value, str | int | float | bool):
        value = node.value
    elif (isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub) and isinstance(node.operand, ast.Constant)
          and isinstance(node.operand.value, int | float) and not isinstance(node.operand.value, bool)):
        value = -node.operand.value
    else:
        raise ConditionError(f"'{text}': compare with a literal (string, number, true/false)")
    expected = _PY_TYPES[kind]
    if isinstance(value, bool) != (kind == "bool") or not isinstance(value, expected):
        raise ConditionError(f"'{text}': {value!r} does not fit {with_article(kind)} parameter")
    if kind == "date" and not _is_date(str(value)):
        raise ConditionError(f"'{text}': {value!r} is not a date; write 'YYYY-MM-DD'")
    return value


def _is_date(value: str) -> bool:
    if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
        return False
    try:
        dt.date.fromisoformat(value)
    except ValueError:
        return False
    return True


def to_choice_rule(cond: Cond, param_types: Mapping[str, str]) -> dict[str, Any]:
    """The ASL Choice rule (JSONPath) that holds exactly when the condition does."""
    tag = cond[0]
    if tag in {"and", "or"}:
        return {tag.capitalize(): [to_choice_rule(c, param_types) for c in cond[1]]}
    if tag == "not":
        return {"Not": to_choice_rule(cond[1], param_types)}
    if tag == "truthy":
        return {"Variable": f"$.params.{cond[1]}", "BooleanEquals": True}
    _, name, op, value = cond
    if op == "!=":
        return {"Not": to_choice_rule(("cmp", name, "==", value), param_types)}
    return {"Variable": f"$.params.{name}", _ASL[param_types[name]] + _SUFFIX[op]: value}


def evaluate(cond: Cond, params: Mapping[str, Any]) -> bool:
    """The condition's value for given params (local simulation)."""
    tag = cond[0]
    if tag == "and":
        return all(evaluate(c, params) for c in cond[1])
    if tag == "or":
        return any(evaluate(c, params) for c in cond[1])
    if tag == "not":
        return not evaluate(cond[1], params)
    if tag == "truthy":
        return params[cond[1]] is True
    _, name, op, value = cond
    left = params[name]
    return bool({"==": left == value, "!=": left != value, "<": left < value, "<=": left <= value,
                 ">": left > value, ">=": left >= value}[op])


def with_article(word: str) -> str:
    """'an int', 'a string': type names in messages."""
    return f"an {word}" if word[:1] in "aeiou" else f"a {word}"
