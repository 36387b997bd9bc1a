"""Templated values: `{{ params.region }}`, `{{ ds }}`, `{{ tasks.extract.output.path }}`, `{{ item }}`.

Parsing is used by validation (unknown references are errors); rendering is used at dispatch time.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

_TAG = re.compile(r"\{\{(.*?)\}\}", re.DOTALL)
_EXPR = re.compile(
    r"^(?P<root>[A-Za-z_]\w*)(?P<rest>(?:\.[A-Za-z0-9_-]+|\[\d+\])*)"
    r"(?:\.strftime\((?P<q>['\"])(?P<fmt>[^'\"]*)(?P=q)\))?$"
)
_STEP = re.compile(r"\.([A-Za-z0-9_-]+)|\[(\d+)\]")

RUN_VALUES = {
    "run_id": "the run's id (the execution name)",
    "execution_id": "the execution ARN",
    "pipeline": "the pipeline name",
    "task": "this task's name",
    "attempt": "this attempt's number, 1 for the first",
    "logical_date": "the run's logical date and time, ISO 8601 (use .strftime('%Y/%m/%d') to format it)",
    "ds": "logical date as YYYY-MM-DD",
    "ds_nodash": "logical date as YYYYMMDD",
    "ts": "logical date and time, ISO 8601",
}
ROOTS = {**RUN_VALUES, "params": "params.NAME", "tasks": "tasks.NAME.output", "item": "the foreach item",
         "event": "the event that triggered the run", "secrets": "secrets.NAME (the reference, never the value)"}


class TemplateError(ValueError):
    """A malformed `{{ ... }}` expression."""


@dataclass(frozen=True)
class Ref:
    root: str
    path: tuple[str | int, ...]
    fmt: str | None
    text: str


def parse(text: str) -> list[Ref]:
    """Every `{{ ... }}` reference in a string."""
    refs = []
    for match in _TAG.finditer(text):
        expr = match.group(1).strip()
        m = _EXPR.match(expr)
        if not m:
            raise TemplateError(f"'{{{{ {expr} }}}}' is not a reference; write e.g. '{{{{ params.NAME }}}}', "
                                "'{{ ds }}', '{{ tasks.NAME.output.KEY }}', "
                                "\"{{ logical_date.strftime('%Y/%m') }}\"")
        path = tuple(int(i) if i else name for name, i in _STEP.findall(m.group("rest")))
        if m.group("fmt") is not None and m.group("root") != "logical_date":
            raise TemplateError(f"'{{{{ {expr} }}}}': only logical_date has .strftime(...)")
        refs.append(Ref(m.group("root"), path, m.group("fmt"), expr))
    if "{{" in _TAG.sub("", text):
        raise TemplateError(f"unclosed '{{{{' in {text!r}")
    return refs


def walk(value: Any, path: tuple[str | int, ...] = ()) -> Iterator[tuple[tuple[str | int, ...], str]]:
    """Every string inside nested dicts and lists, with its path."""
    if isinstance(value, str):
        yield path, value
    elif isinstance(value, Mapping):
        for k, v in value.items():
            yield from walk(v, (*path, k))
    elif isinstance(value, list | tuple):
        for i, v in enumerate(value):
            yield from walk(v, (*path, i))


def referenced_tasks(value: Any) -> set[str]:
    """The upstream tasks whose outputs `value`'s templates read (`{{ tasks.NAME.output... }}`)."""
    names: set[str] = set()
    for _, text in walk(value):
        try:
            refs = parse(text)
        except TemplateError:
            continue  # reported when the value is rendered
        names.update(str(ref.path[0]) for ref in refs if ref.root == "tasks" and ref.path)
    return names


def substitute(value: Any, root: str, values: Mapping[str, str]) -> Any:
    """Fill the references under one root (`{{ secrets.NAME }}`) as text, leaving every other template as it is.
    The compiler fills secrets this way: their references are known before any run."""
    if isinstance(value, Mapping):
        return {k: substitute(v, root, values) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [substitute(v, root, values) for v in value]
    if not isinstance(value, str) or "{{" not in value:
        return value

    def fill(match: re.Match[str]) -> str:
        ref = parse(match.group(0))[0]
        if ref.root != root:
            return match.group(0)
        return str(values[str(ref.path[0])]) if ref.path and str(ref.path[0]) in values else match.group(0)

    return _TAG.sub(fill, value)


def context_values(logical_date: str) -> dict[str, str]:
    """The formatted forms of a logical date (ISO 8601 in, with or without offset)."""
    when = dt.datetime.fromisoformat(logical_date.replace("Z", "+00:00"))
    return {"logical_date": when.isoformat(), "ds": when.date().isoformat(), "ds_nodash": when.strftime("%Y%m%d"),
            "ts": when.isoformat()}


def render(value: Any, context: Mapping[str, Any], *, text: bool = False) -> Any:
    """Fill every reference in `value` from `context`. A string that is one whole reference keeps its type, unless
    `text`: then every template renders to a string (JSON for lists, maps, numbers and booleans), which is what
    AWS's job APIs take for arguments, environment values and command lines."""
    if isinstance(value, Mapping):
        return {k: render(v, context, text=text) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [render(v, context, text=text) for v in value]
    if not isinstance(value, str) or "{{" not in value:
        return value
    whole = _TAG.fullmatch(value.strip())
    if whole and len(parse(value)) == 1 and not text:
        return _resolve(parse(value)[0], context)
    return _TAG.sub(lambda m: _as_text(_resolve(parse(m.group(0))[0], context)), value)


def _resolve(ref: Ref, context: Mapping[str, Any]) -> Any:
    if ref.root not in context:
        raise TemplateError(f"'{{{{ {ref.text} }}}}': '{ref.root}' is not available here")
    current = context[ref.root]
    if ref.fmt is not None:
        return dt.datetime.fromisoformat(str(current).replace("Z", "+00:00")).strftime(ref.fmt)
    for step in ref.path:
        try:
            current = current[step]
        except (KeyError, IndexError, TypeError):
            raise TemplateError(f"'{{{{ {ref.text} }}}}': no '{step}' in {_as_text(current)[:200]}") from None
    return current


def _as_text(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, sort_keys=True)
