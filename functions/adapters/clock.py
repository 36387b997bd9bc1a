"""Time as the run store writes it: ISO 8601 UTC strings (they sort as they compare) and TTL epochs."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

Clock = Callable[[], str]


def iso_utc(when: dt.datetime) -> str:
    """ISO 8601 UTC with milliseconds and "Z": the one form of every stored time, so they sort as they compare."""
    return when.astimezone(dt.UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def utc_now() -> str:
    return iso_utc(dt.datetime.now(dt.UTC))


def parse(when: str) -> dt.datetime:
    return dt.datetime.fromisoformat(when.replace("Z", "+00:00"))


def expiry(now: str, days: int) -> int:
    """The TTL attribute's value: epoch seconds, `days` after `now`."""
    return int((parse(now) + dt.timedelta(days=days)).timestamp())


def seconds_between(start: str, end: str) -> float:
    return (parse(end) - parse(start)).total_seconds()


def shifted(when: str, seconds: float) -> str:
    return iso_utc(parse(when) + dt.timedelta(seconds=seconds))
