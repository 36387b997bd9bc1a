"""The JSONPath subset of ASL that Sluice's definitions use: paths, Parameters, ResultPath, Choice rules."""

from __future__ import annotations

import copy
import re
from typing import Any

_MERGE = re.compile(r"^States\.JsonMerge\((\S+?),\s*(\S+?),\s*false\)$")


class PathError(KeyError):
    """A JSONPath that selects nothing (States.Runtime on AWS)."""


def get(path: str, data: Any, context: dict[str, Any]) -> Any:
    root, rest = (context, path[2:]) if path.startswith("$$") else (data, path[1:])
    current = root
    for part in filter(None, rest.split(".")):
        if not isinstance(current, dict) or part not in current:
            raise PathError(f"{path} selects nothing")
        current = current[part]
    return current


def evaluate(template: Any, data: Any, context: dict[str, Any]) -> Any:
    """Parameters / ResultSelector / ItemSelector: keys ending in '.$' are paths or intrinsic functions."""
    if isinstance(template, dict):
        out = {}
        for key, value in template.items():
            if key.endswith(".$"):
                out[key[:-2]] = _value(value, data, context)
            else:
                out[key] = evaluate(value, data, context)
        return out
    if isinstance(template, list):
        return [evaluate(v, data, context) for v in template]
    return template


def _value(expr: str, data: Any, context: dict[str, Any]) -> Any:
    merge = _MERGE.match(expr)
    if merge:
        left, right = (get(p, data, context) for p in merge.groups())
        return {**left, **right}
    return copy.deepcopy(get(expr, data, context))


def put(data: Any, result_path: str | None, result: Any) -> Any:
    """Apply ResultPath: None keeps the input, '$' replaces it, '$.a.b' sets a field."""
    if result_path is None:
        return data
    if result_path == "$":
        return result
    out = copy.deepcopy(data) if isinstance(data, dict) else {}
    target = out
    parts = result_path[2:].split(".")
    for part in parts[:-1]:
        target = target.setdefault(part, {})
    target[parts[-1]] = result
    return out


_COMPARE = {
    "Equals": lambda a, b: a == b, "LessThan": lambda a, b: a < b, "LessThanEquals": lambda a, b: a <= b,
    "GreaterThan": lambda a, b: a > b, "GreaterThanEquals": lambda a, b: a >= b,
}
_TYPES: dict[str, type | tuple[type, ...]] = {"String": str, "Numeric": (int, float), "Boolean": bool}


def choice_matches(rule: dict[str, Any], data: Any, context: dict[str, Any]) -> bool:
    if "And" in rule:
        return all(choice_matches(r, data, context) for r in rule["And"])
    if "Or" in rule:
        return any(choice_matches(r, data, context) for r in rule["Or"])
    if "Not" in rule:
        return not choice_matches(rule["Not"], data, context)
    value = get(rule["Variable"], data, context)
    for key, expected in rule.items():
        for kind, py in _TYPES.items():
            if key.startswith(kind) and key[len(kind):] in _COMPARE:
                if not isinstance(value, py) or (kind == "Numeric" and isinstance(value, bool)):
                    return False
                return bool(_COMPARE[key[len(kind):]](value, expected))
    raise ValueError(f"unsupported Choice rule {sorted(rule)}")
