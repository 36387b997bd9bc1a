"""Times and bodies from requests, checked before any arithmetic or parsing that could fail on them unnamed."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any
from zoneinfo import ZoneInfo

from sluice.run_request import logical_date

from ..adapters.clock import parse
from .problems import BadRequest

# Inside these, every shift the API and the schedule maths make (time zones, a day either side) stays a valid
# datetime, and every year formats as four digits (so stored times sort as they compare).
EARLIEST = dt.datetime(1900, 1, 1, tzinfo=dt.UTC)
LATEST = dt.datetime(9000, 12, 31, 23, 59, 59, tzinfo=dt.UTC)
MAX_DEPTH = 32  # nesting of a request body: parameters are flat values, lists and small objects


def moment(text: str, field: str) -> dt.datetime:
    """`text` (YYYY-MM-DD or ISO 8601) as a UTC time; a BadRequest naming `field` when it is not one or out of range."""
    try:
        logical_date(text)  # its message for a malformed time; its value would format year 1 as "1-01-01"
        when = parse(text)
        utc: dt.datetime | None = (when if when.tzinfo else when.replace(tzinfo=dt.UTC)).astimezone(dt.UTC)
    except ValueError as exc:
        raise BadRequest(str(exc), errors=[{"field": field, "reason": str(exc)}]) from None
    except OverflowError:  # an offset that moves the time past year 1 or 9999
        utc = None
    if utc is None or not EARLIEST <= utc <= LATEST:
        reason = (f"{text[:40]!r} is out of range: times from {EARLIEST:%Y-%m-%d} to {LATEST:%Y-%m-%d} (UTC) "
                  "are accepted")
        raise BadRequest(f"{field}: {reason}", errors=[{"field": field, "reason": reason}])
    return utc


def moments(**texts: str) -> list[dt.datetime]:
    """moment() of each field, in order; one BadRequest naming every field that is wrong."""
    found, errors = [], []
    for field, text in texts.items():
        try:
            found.append(moment(text, field))
        except BadRequest as exc:
            errors += exc.errors
    if errors:
        raise BadRequest("; ".join(f"{e['field']}: {e['reason']}" for e in errors), errors=errors)
    return found


def day_window(start: str, end: str, timezone: str) -> tuple[dt.datetime, dt.datetime]:
    """A backfill's [start, end] as UTC times: a date alone is a whole day in `timezone` (the schedule's), so a
    date-only start is that day's first instant and a date-only end its last; a time stays exact (UTC without an
    offset, as every time the API takes). One BadRequest naming every field that is wrong."""
    since, until = moments(start=start, end=end)
    zone = ZoneInfo(timezone)
    if _date_only(start):
        since = dt.datetime.combine(dt.date.fromisoformat(start), dt.time(), zone).astimezone(dt.UTC)
    if _date_only(end):
        next_day = dt.date.fromisoformat(end) + dt.timedelta(days=1)
        until = (dt.datetime.combine(next_day, dt.time(), zone) - dt.timedelta(milliseconds=1)).astimezone(dt.UTC)
    return since, until


def _date_only(text: str) -> bool:
    try:
        dt.date.fromisoformat(text)
    except ValueError:
        return False
    return len(text) == 10  # fromisoformat also takes 20261129; only YYYY-MM-DD is a date here


def body_problem(text: str) -> str | None:
    """Why a request body is not JSON the API can take (too deep, a number too long, malformed), or None."""
    try:
        value = json.loads(text)
    except RecursionError:
        return f"the body is nested too deep: at most {MAX_DEPTH} levels of arrays and objects"
    except ValueError as exc:
        if "digits" in str(exc):  # CPython refuses to convert an integer of more than 4,300 digits
            return f"the body has a number with too many digits: {exc}"
        return f"the body is not JSON: {exc}"
    if _depth(value) > MAX_DEPTH:
        return f"the body is nested too deep: at most {MAX_DEPTH} levels of arrays and objects"
    return None


def _depth(value: Any) -> int:
    deepest, level = 0, [(value, 1)]
    while level:  # iterative: a recursive walk is what this guards against
        item, depth = level.pop()
        if isinstance(item, dict | list):
            deepest = max(deepest, depth)
            if depth <= MAX_DEPTH:
                level += [(child, depth + 1) for child in (item.values() if isinstance(item, dict) else item)]
    return deepest
