"""One field of an EventBridge cron expression: its grammar, its range, and the values or day rule it matches."""

from __future__ import annotations

import calendar
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta

DayRule = Callable[[date], bool]

_DAYS = ("SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT")
_MONTHS = ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC")
_TOKEN = re.compile(r"(?P<start>\*|[0-9]+|[A-Z]+)(?:-(?P<end>[0-9]+|[A-Z]+))?(?:/(?P<step>[0-9]+))?")
_NEAREST = re.compile(r"([0-9]+)W")
_DOW_SPECIAL = re.compile(r"([0-9]+|[A-Z]{3})(L|#([0-9]+))")
_SYNTAX = "a value, '*', a range 'a-b', a step '*/n', 'a/n' or 'a-b/n', or a comma list of these"


class ScheduleExprError(ValueError):
    """A schedule expression that EventBridge Scheduler would reject, or that Sluice cannot convert."""


@dataclass(frozen=True)
class FieldSpec:
    label: str
    lo: int
    hi: int
    values: str
    extras: str = ""
    names: tuple[str, ...] = ()

    def error(self, field: str, detail: str) -> ScheduleExprError:
        """The error for this field, saying what was given and what is valid."""
        return ScheduleExprError(f"{self.label} field '{field}': {detail}")

    def syntax_error(self, field: str, token: str) -> ScheduleExprError:
        """The error for a token that is not cron syntax at all."""
        what = f"'{token}' is not valid" if token != field else "not valid"
        extras = f"; also {self.extras}" if self.extras else ""
        return self.error(field, f"{what}; use {_SYNTAX} (values {self.values}){extras}")


MINUTES = FieldSpec("minutes", 0, 59, "0-59")
HOURS = FieldSpec("hours", 0, 23, "0-23")
DAY_OF_MONTH = FieldSpec("day-of-month", 1, 31, "1-31", "'?', 'L', 'LW' or 'nW' (e.g. '15W') on their own")
MONTH = FieldSpec("month", 1, 12, "1-12 or JAN-DEC", names=_MONTHS)
DAY_OF_WEEK = FieldSpec("day-of-week", 1, 7, "1-7 or SUN-SAT",
                        "'?', 'L', 'dL' (e.g. '6L') or 'd#n' (e.g. '2#3', n 1-5) on their own", _DAYS)
YEAR = FieldSpec("year", 1970, 2199, "1970-2199")
UNIX_DAY_OF_WEEK = FieldSpec("day-of-week", 0, 7, "0-7 or SUN-SAT (5-field Unix form, 0 and 7 = Sunday)",
                             names=_DAYS)


def _number(spec: FieldSpec, field: str, token: str) -> int:
    if token in spec.names:
        return spec.lo + spec.names.index(token)
    if not (token.isascii() and token.isdigit()):
        raise spec.error(field, f"'{token}' is not a number or name; values must be {spec.values}")
    value = int(token)
    if not spec.lo <= value <= spec.hi:
        where = "" if token == field else f"{token} is out of range; "
        raise spec.error(field, f"{where}values must be {spec.values}")
    return value


def _token_values(spec: FieldSpec, field: str, token: str) -> range:
    match = _TOKEN.fullmatch(token)
    if not match or (match["start"] == "*" and match["end"]):
        raise spec.syntax_error(field, token)
    size = spec.hi - spec.lo + 1
    step = int(match["step"] or 1)
    if not 1 <= step <= size:
        raise spec.error(field, f"step in '{token}' must be 1-{size}")
    if match["start"] == "*":
        return range(spec.lo, spec.hi + 1, step)
    lo = _number(spec, field, match["start"])
    hi = _number(spec, field, match["end"]) if match["end"] else spec.hi if match["step"] else lo
    if lo > hi:
        raise spec.error(field, f"range '{token}' runs backwards; write the smaller value first")
    return range(lo, hi + 1, step)


def parse_values(field: str, spec: FieldSpec) -> frozenset[int]:
    """The values a plain field (numbers, names, '*', ranges, steps, lists) matches; raises ScheduleExprError."""
    if "?" in field:
        raise spec.error(field, "'?' is only allowed on its own, in day-of-month or day-of-week")
    values: set[int] = set()
    for token in field.split(","):
        values.update(_token_values(spec, field, token))
    return frozenset(values)


def last_day(day: date) -> int:
    """Number of days in the month of `day`."""
    return calendar.monthrange(day.year, day.month)[1]


def weekday(day: date) -> int:
    """EventBridge day-of-week number of `day`: 1 = Sunday ... 7 = Saturday."""
    return (day.weekday() + 1) % 7 + 1


def nearest_weekday(year: int, month: int, dom: int) -> date | None:
    """The Monday-Friday nearest to day `dom`, staying within the month (Quartz 'nW'); None if no such day."""
    last = calendar.monthrange(year, month)[1]
    # Like a plain '31' in a 30-day month, '31W' then matches nothing rather than moving to another day.
    if dom > last:
        return None
    day = date(year, month, dom)
    if day.weekday() == 5:
        return day - timedelta(days=1) if dom > 1 else day + timedelta(days=2)
    if day.weekday() == 6:
        return day + timedelta(days=1) if dom < last else day - timedelta(days=2)
    return day


def parse_day_of_month(field: str) -> DayRule | None:
    """Rule for an EventBridge day-of-month field, None for '?'."""
    spec = DAY_OF_MONTH
    if field == "?":
        return None
    if field == "L":
        return lambda day: day.day == last_day(day)
    if field == "LW":
        return lambda day: day == nearest_weekday(day.year, day.month, last_day(day))
    if match := _NEAREST.fullmatch(field):
        dom = _number(spec, field, match[1])
        return lambda day: day == nearest_weekday(day.year, day.month, dom)
    # EventBridge (like Quartz) rejects L and W inside lists, ranges and steps.
    if "L" in field or "W" in field:
        raise spec.error(field, f"'L' and 'W' cannot be combined with other values; use {spec.extras}")
    days = parse_values(field, spec)
    return lambda day: day.day in days


def parse_day_of_week(field: str) -> DayRule | None:
    """Rule for an EventBridge day-of-week field, None for '?'."""
    spec = DAY_OF_WEEK
    if field == "?":
        return None
    if field == "L":
        # Quartz reads a lone 'L' in day-of-week as the last day of the week.
        return lambda day: weekday(day) == 7
    if match := _DOW_SPECIAL.fullmatch(field):
        wanted = _number(spec, field, match[1])
        if match[2] == "L":
            return lambda day: weekday(day) == wanted and day.day + 7 > last_day(day)
        nth = _nth(spec, field, match[3])
        return lambda day: weekday(day) == wanted and (day.day - 1) // 7 + 1 == nth
    if "L" in field or "#" in field:
        raise spec.error(field, f"'L' and '#' cannot be combined with other values; use {spec.extras}")
    days = parse_values(field, spec)
    return lambda day: weekday(day) in days


def _nth(spec: FieldSpec, field: str, text: str) -> int:
    nth = int(text)
    if not 1 <= nth <= 5:
        raise spec.error(field, f"'#{text}' must be #1-#5 (the 1st to 5th such weekday of the month)")
    return nth


def unix_day_of_week(field: str) -> str:
    """A Unix day-of-week field (0-7, 0 and 7 = Sunday) in EventBridge numbering (1-7, 1 = Sunday)."""
    spec = UNIX_DAY_OF_WEEK
    out: list[str] = []
    numbers: set[int] = set()
    for token in field.split(","):
        special = _DOW_SPECIAL.fullmatch(token)
        if token.startswith("*"):
            # '*/n' picks the same weekdays in both numberings, because both start the week on Sunday.
            out.append(token)
        elif special:
            day = _number(spec, field, special[1])
            if special[3]:
                _nth(spec, field, special[3])
            out.append((special[1] if special[1] in spec.names else str(day % 7 + 1)) + special[2])
        elif not any(char.isdigit() for char in token.split("/")[0]) and _TOKEN.fullmatch(token):
            # Names mean the same weekday in both forms; keep them as written.
            _token_values(spec, field, token)
            out.append(token)
        else:
            # Renumbered tokens can wrap around Sunday ('5-7' -> 6,7,1), so they are merged and rewritten together.
            numbers.update(value % 7 + 1 for value in _token_values(spec, field, token))
    return ",".join(([_compress(numbers)] if numbers else []) + out)


def _compress(values: set[int]) -> str:
    ordered = sorted(values)
    parts: list[str] = []
    start = 0
    while start < len(ordered):
        end = start
        while end + 1 < len(ordered) and ordered[end + 1] == ordered[end] + 1:
            end += 1
        if end - start >= 2:
            parts.append(f"{ordered[start]}-{ordered[end]}")
        else:
            parts.extend(str(value) for value in ordered[start:end + 1])
        start = end + 1
    return ",".join(parts)
