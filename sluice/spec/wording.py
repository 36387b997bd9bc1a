"""pydantic's error messages in the validator's words: `expected WHAT, not VALUE` (not "Input should be ...")."""

from __future__ import annotations

import json
import re
from typing import Any

_PHRASES = {
    "string_type": "a string",
    "int_type": "a whole number", "int_parsing": "a whole number", "int_from_float": "a whole number",
    "float_type": "a number", "float_parsing": "a number",
    "bool_type": "true or false", "bool_parsing": "true or false",
    "list_type": "a list", "dict_type": "a mapping", "model_type": "a mapping", "model_attributes_type": "a mapping",
}
_BOUNDS = {"greater_than_equal": ("at least", "ge"), "greater_than": ("more than", "gt"),
           "less_than_equal": ("at most", "le"), "less_than": ("less than", "lt")}
_EXPECTED = re.compile(r"^expected (?P<what>.+), not (?P<value>.+)$")


def plain(err: Any) -> str:
    """One pydantic error (from `ValidationError.errors()`) as `expected WHAT, not VALUE`."""
    kind, ctx, value = err["type"], err.get("ctx") or {}, err.get("input")
    if kind in _PHRASES:
        return f"expected {_PHRASES[kind]}, not {shown(value)}"
    if kind in _BOUNDS:
        words, key = _BOUNDS[kind]
        return f"expected {words} {ctx[key]}, not {shown(value)}"
    if kind == "literal_error":
        return f"expected {ctx['expected']}, not {shown(value)}"
    if kind in {"too_short", "too_long"}:
        words, key = ("at least", "min_length") if kind == "too_short" else ("at most", "max_length")
        return f"expected {words} {ctx[key]} item(s), not {ctx.get('actual_length', len(value))}"
    if kind in {"string_too_short", "string_too_long"}:
        words, key = ("at least", "min_length") if kind == "string_too_short" else ("at most", "max_length")
        return f"expected {words} {ctx[key]} character(s), not {len(value)}"
    message = str(err["msg"]).removeprefix("Value error, ").removeprefix("Assertion failed, ")
    if message.startswith("Input should be "):  # any other pydantic check, in the same shape
        what = message.removeprefix("Input should be ").replace("a valid ", "a ").split(",")[0]
        return f"expected {what}, not {shown(value)}"
    return message


def merged(messages: list[str]) -> str:
    """The alternatives of one union as one message: `expected A or B, not VALUE`."""
    unique = list(dict.fromkeys(messages))
    matches = [_EXPECTED.match(m) for m in unique]
    found = [m for m in matches if m]
    if len(unique) > 1 and len(found) == len(unique) and len({m["value"] for m in found}) == 1:
        return f"expected {' or '.join(m['what'] for m in found)}, not {found[0]['value']}"
    return " or ".join(unique)


def shown(value: Any) -> str:
    """A YAML value as a reader wrote it: 'text', 5, true, nothing (null), a list, a mapping."""
    if value is None:
        return "nothing (null)"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return json.dumps(value)
    if isinstance(value, str):
        return repr(value if len(value) <= 40 else value[:37] + "...")
    if isinstance(value, list):
        return "a list"
    return "a mapping" if isinstance(value, dict) else type(value).__name__
