"""Shared field types: one place for durations, names and time zones, used by every model."""

from __future__ import annotations

import functools
import re
import zoneinfo
from typing import Annotated

from pydantic import AfterValidator, BeforeValidator, WithJsonSchema

from .problems import did_you_mean

_DURATION_PART = re.compile(r"(\d+)\s*(d|h|m|s)")
_DURATION = re.compile(r"^\s*(?:\d+\s*[dhms]\s*)+$")
_UNIT_SECONDS = {"d": 86400, "h": 3600, "m": 60, "s": 1}

PIPELINE_NAME = re.compile(r"^[a-z][a-z0-9-]{0,46}[a-z0-9]$")
TASK_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_-]{0,63}$")
PARAM_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,63}$")


def parse_duration(value: object) -> object:
    """'90s', '10m', '1h30m', '2d' or a number of seconds -> seconds (int)."""
    if isinstance(value, bool):
        raise ValueError("a duration is a number of seconds or a string like '90s', '10m', '1h30m', '2d'")
    if isinstance(value, int):
        return value
    if isinstance(value, str) and _DURATION.match(value):
        return sum(int(n) * _UNIT_SECONDS[u] for n, u in _DURATION_PART.findall(value))
    raise ValueError(f"'{value}' is not a duration; write seconds (300) or '90s', '10m', '1h30m', '2d'")


def _positive(value: int) -> int:
    if value < 1:
        raise ValueError("a duration must be at least 1 second")
    return value


Duration = Annotated[
    int,
    BeforeValidator(parse_duration),
    AfterValidator(_positive),
    WithJsonSchema({"anyOf": [{"type": "integer", "minimum": 1},
                              {"type": "string", "pattern": r"^\s*(\d+\s*[dhms]\s*)+$"}],
                    "description": "seconds, or e.g. '90s', '10m', '1h30m', '2d'"}),
]


def _check_name(pattern: re.Pattern[str], what: str, example: str) -> AfterValidator:
    def check(value: str) -> str:
        if not pattern.match(value):
            raise ValueError(f"'{value}' is not a valid {what}: {example}")
        return value

    return AfterValidator(check)


PipelineName = Annotated[
    str,
    _check_name(PIPELINE_NAME, "pipeline name",
                "use 2-48 lowercase letters, digits and hyphens, starting with a letter (e.g. daily-sales-etl); "
                "it becomes part of Step Functions and CloudFormation names"),
    WithJsonSchema({"type": "string", "pattern": PIPELINE_NAME.pattern}),
]
TaskName = Annotated[
    str,
    _check_name(TASK_NAME, "task name", "use up to 64 letters, digits, '_' or '-', starting with a letter"),
    WithJsonSchema({"type": "string", "pattern": TASK_NAME.pattern}),
]


def _check_timezone(value: str) -> str:
    try:
        zoneinfo.ZoneInfo(value)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        hint = _zone_hint(value) or "e.g. UTC, Europe/Berlin, America/New_York"
        raise ValueError(f"'{value}' is not an IANA time zone ({hint})") from None
    return value


def _zone_hint(value: str) -> str | None:
    """The zone meant by a misspelt, miscased or city-only name (`europe/berlin`, `Europe/Berln`, `New York`)."""
    zones = _zones()
    wanted = value.strip().replace(" ", "_")
    by_lower = {z.lower(): z for z in zones}
    by_city = {z.rsplit("/", 1)[-1].lower(): z for z in sorted(zones) if "/" in z}
    found = by_lower.get(wanted.lower()) or by_city.get(wanted.lower())
    return f"did you mean '{found}'?" if found else did_you_mean(wanted, zones)


@functools.cache
def _zones() -> frozenset[str]:
    return frozenset(zoneinfo.available_timezones())


TimeZone = Annotated[str, AfterValidator(_check_timezone)]


def check_task_name(name: str) -> str | None:
    """Why `name` is not a valid task name, or None."""
    return None if TASK_NAME.match(name) else (
        f"'{name}' is not a valid task name: use up to 64 letters, digits, '_' or '-', starting with a letter"
    )


def check_param_name(name: str) -> str | None:
    """Why `name` is not a valid parameter name, or None."""
    return None if PARAM_NAME.match(name) else (
        f"'{name}' is not a valid parameter name: use letters, digits and '_', starting with a letter or '_'"
    )
