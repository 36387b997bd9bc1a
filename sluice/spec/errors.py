"""Turns pydantic's validation errors into Problems that name the YAML path, the line and what is valid."""

from __future__ import annotations

import types
import typing
from typing import Any

from pydantic import BaseModel, ValidationError

from .kinds import KINDS
from .problems import Path, Problem, did_you_mean
from .task import Task
from .wording import merged, plain
from .yaml_source import YamlDocument


def problems_from(exc: ValidationError, root: type[BaseModel], doc: YamlDocument, file: str) -> list[Problem]:
    """One Problem per distinct (path, message); union alternatives at one path are merged."""
    grouped: dict[tuple[Path, str], list[str]] = {}
    hints: dict[tuple[Path, str], str | None] = {}
    for err in exc.errors(include_url=False):
        path, leaf = _data_path(err["loc"], doc.data, err["type"])
        message, hint = _describe(err, path, leaf, root, doc.data)
        key = (path, err["type"] if err["type"].endswith("_type") else message)
        grouped.setdefault(key, []).append(message)
        hints.setdefault(key, hint)
    out = []
    for (path, _), messages in grouped.items():
        message = merged(messages)
        out.append(Problem(file, path, message, line=doc.line_of(path), hint=hints[(path, _)]))
    return out


def _data_path(loc: tuple[Any, ...], data: Any, kind: str) -> tuple[Path, str | None]:
    """Keep the parts of pydantic's loc that exist in the data (drops union tags like 'str' or '[key]')."""
    path: list[str | int] = []
    current = data
    for i, part in enumerate(loc):
        last = i == len(loc) - 1
        in_list = isinstance(current, list) and isinstance(part, int) and 0 <= part < len(current)
        if (isinstance(current, dict) and part in current) or in_list:
            path.append(part)
            current = current[part]
        elif last and kind in {"missing", "extra_forbidden"}:
            return tuple(path), str(part)
    return tuple(path), None


def _describe(err: Any, path: Path, leaf: str | None, root: type[BaseModel], data: Any) -> tuple[str, str | None]:
    kind = err["type"]
    if kind == "missing" and leaf is not None:
        return f"missing required key '{leaf}'", None
    if kind == "extra_forbidden":
        key = leaf if leaf is not None else str(path[-1])
        parent = path if leaf is not None else path[:-1]
        valid = _fields_at(root, parent)
        if _model_at(root, parent) is Task and key not in valid:
            close = did_you_mean(key, valid)
            return f"unknown key '{key}'", close or f"a task's kind is one of: {', '.join(KINDS)}"
        listed = f"valid keys: {', '.join(valid)}" if valid else None
        return f"unknown key '{key}'", did_you_mean(key, valid) or listed
    if kind in {"model_type", "model_attributes_type", "dict_type"}:  # not pydantic's "instance of _Entry"
        return f"expected a mapping, not {_kind_of(err['input'])}", None
    if kind == "too_short" and path == ("tasks",):
        return "a pipeline needs at least one task", "add one under 'tasks', e.g. hello: {lambda: {function: f}}"
    if kind == "string_pattern_mismatch":
        return f"{err['input']!r} does not match the pattern {err['ctx']['pattern']}", None
    return plain(err), None


def _kind_of(value: Any) -> str:
    if value is None:
        return "nothing (null)"
    return {list: "a list", str: "a string", bool: "a boolean", int: "a number", float: "a number"}.get(
        type(value), type(value).__name__)


def _model_at(root: type[BaseModel], path: Path) -> type[BaseModel] | None:
    current: Any = root
    for part in path:
        if isinstance(current, type) and issubclass(current, BaseModel):
            field = next((f for n, f in current.model_fields.items() if (f.alias or n) == part), None)
            if field is None:
                return None
            current = field.annotation
        else:
            current = _container_item(current)
        current = _unwrap(current)
    return current if isinstance(current, type) and issubclass(current, BaseModel) else None


def _fields_at(root: type[BaseModel], path: Path) -> list[str]:
    model = _model_at(root, path)
    return [f.alias or n for n, f in model.model_fields.items()] if model else []


def _container_item(annotation: Any) -> Any:
    args = typing.get_args(annotation)
    return args[-1] if args else None


def _unwrap(annotation: Any) -> Any:
    """Optional[X] / Annotated[X, ...] -> X (the model branch, if any)."""
    while True:
        origin = typing.get_origin(annotation)
        if origin is typing.Annotated:
            annotation = typing.get_args(annotation)[0]
        elif origin in (typing.Union, types.UnionType):
            options = [a for a in typing.get_args(annotation) if a is not type(None)]
            models = [a for a in options if isinstance(a, type) and issubclass(a, BaseModel)]
            annotation = models[0] if models else options[0]
        else:
            return annotation
