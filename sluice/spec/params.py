"""Typed run parameters: declaration, default checking and coercion of given values."""

from __future__ import annotations

import datetime as dt
import json
import math
import re
from typing import Any, Literal

from pydantic import Field, model_validator

from .base import SpecModel

ParamType = Literal["string", "int", "number", "bool", "date", "list"]


_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


class ParamValueError(ValueError):
    """A parameter value that does not fit its declared type."""


class Param(SpecModel):
    """A run parameter; `default` makes it optional when a run is started."""

    type: ParamType = "string"
    default: Any = None
    description: str | None = None
    allowed: list[Any] | None = Field(None, description="the only values accepted")

    @model_validator(mode="after")
    def _default_fits(self) -> Param:
        # Normalised in place once, while the model is being built (it is frozen afterwards).
        try:
            if self.allowed is not None:
                object.__setattr__(self, "allowed", [_COERCE[self.type](v) for v in self.allowed])
        except ParamValueError as exc:
            raise ValueError(f"allowed: {exc}") from None
        try:
            if self.default is not None:
                object.__setattr__(self, "default", self.coerce(self.default))
        except ParamValueError as exc:
            raise ValueError(f"default: {exc} (type is {self.type})") from None
        return self

    @property
    def required(self) -> bool:
        return self.default is None

    def coerce(self, value: Any) -> Any:
        """The value as JSON-ready data of this type; strings from a command line are parsed."""
        out = _COERCE[self.type](value)
        if self.allowed is not None and out not in self.allowed:
            raise ParamValueError(f"{value!r} is not one of the allowed values {self.allowed}")
        return out


def _string(value: Any) -> str:
    if isinstance(value, str):
        return value
    raise ParamValueError(f"{value!r} is not a string (quote it in YAML)")


def _int(value: Any) -> int:
    if isinstance(value, bool):
        raise ParamValueError(f"{value!r} is not an integer")
    if isinstance(value, int):
        return value
    if isinstance(value, str):
        try:
            return int(value.strip())
        except ValueError:
            pass
    raise ParamValueError(f"{value!r} is not an integer")


def _number(value: Any) -> int | float:
    out: Any = None if isinstance(value, bool) else value
    if isinstance(value, str):
        try:
            out = float(value) if any(c in value for c in ".eE") else int(value)
        except ValueError:
            out = None
    if isinstance(out, int) or (isinstance(out, float) and math.isfinite(out)):  # inf and nan have no JSON form
        return out
    raise ParamValueError(f"{value!r} is not a number")


def _bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in {"true", "false"}:
        return value.lower() == "true"
    raise ParamValueError(f"{value!r} is not a boolean (true or false)")


def _date(value: Any) -> str:
    if isinstance(value, dt.datetime):
        raise ParamValueError(f"{value!r} is a date and time; a date param takes YYYY-MM-DD")
    if isinstance(value, dt.date):
        return value.isoformat()
    # Only YYYY-MM-DD: Python 3.11 would also take '20260131' or ISO week dates, which the docs do not promise.
    if isinstance(value, str) and _ISO_DATE.fullmatch(value):
        try:
            return dt.date.fromisoformat(value).isoformat()
        except ValueError:
            pass
    raise ParamValueError(f"{value!r} is not a date (YYYY-MM-DD)")


def _list(value: Any) -> list[Any]:
    if isinstance(value, list):
        return value
    if isinstance(value, str):
        text = value.strip()
        if text.startswith("["):
            try:
                parsed = json.loads(text)
            except json.JSONDecodeError as exc:
                raise ParamValueError(f"{value!r} is not a JSON list: {exc.msg}") from None
            if isinstance(parsed, list):
                return parsed
        return [item.strip() for item in text.split(",")] if text else []
    raise ParamValueError(f"{value!r} is not a list (a YAML list, a JSON list or comma-separated)")


_COERCE = {"string": _string, "int": _int, "number": _number, "bool": _bool, "date": _date, "list": _list}
