"""What starting a run takes, checked the same way by the CLI and the run API: typed parameters and a logical date."""

from __future__ import annotations

import datetime as dt
from typing import Any

from .spec import Pipeline


class RunRequestError(ValueError):
    """A run request that cannot start: each problem as (field, reason)."""

    def __init__(self, problems: list[tuple[str, str]]) -> None:
        super().__init__("; ".join(f"{field}: {reason}" for field, reason in problems))
        self.problems = problems


def resolve_params(pipeline: Pipeline, given: dict[str, Any]) -> dict[str, Any]:
    """The given parameters coerced to their declared types; unknown and missing required ones are refused.
    Defaults are left to the state machine, which fills them for every kind of start."""
    problems: list[tuple[str, str]] = []
    values: dict[str, Any] = {}
    for key, value in given.items():
        declared = pipeline.params.get(key)
        if declared is None:
            known = ", ".join(sorted(pipeline.params)) or "none"
            problems.append((f"params.{key}", f"'{pipeline.name}' declares no parameter '{key}' (declared: {known})"))
            continue
        try:
            values[key] = declared.coerce(value)
        except ValueError as exc:
            problems.append((f"params.{key}", f"{exc} (type is {declared.type})"))
    for key, declared in pipeline.params.items():
        if declared.required and key not in given:
            problems.append((f"params.{key}", f"required: '{pipeline.name}' declares it without a default"))
    if problems:
        raise RunRequestError(problems)
    return values


def logical_date(text: str) -> str:
    """A logical date as runs record it: a date is its UTC midnight, a time without an offset is UTC, and an
    offset stays (a logical date's day is its own: templates read `ds` from it, as in the cloud)."""
    try:
        moment = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise ValueError(f"{text!r}: expected YYYY-MM-DD or an ISO 8601 time such as 2026-11-27T02:30:00Z") from None
    if moment.tzinfo is None:
        return moment.strftime("%Y-%m-%dT%H:%M:%SZ")
    return moment.isoformat()
