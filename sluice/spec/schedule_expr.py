"""Schedule expressions of AWS EventBridge Scheduler: cron(...) and rate(...), validated and normalized."""

from __future__ import annotations

import bisect
import re
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta

from .cron_fields import (
    DAY_OF_MONTH,
    DAY_OF_WEEK,
    HOURS,
    MINUTES,
    MONTH,
    YEAR,
    DayRule,
    ScheduleExprError,
    parse_day_of_month,
    parse_day_of_week,
    parse_values,
    unix_day_of_week,
)

__all__ = ["CronExpr", "RateExpr", "ScheduleExprError", "parse_cron", "parse_rate"]

_CRON_FORMS = ("6 fields 'minutes hours day-of-month month day-of-week year' (EventBridge, e.g. '0 5 ? * MON-FRI *' "
               "or 'cron(0 5 ? * MON-FRI *)') or 5 fields 'minutes hours day-of-month month day-of-week' "
               "(Unix, e.g. '0 5 * * 1-5')")
_CRON_WRAPPED = re.compile(r"cron\((.*)\)", re.IGNORECASE | re.DOTALL)
_RATE_WRAPPED = re.compile(r"rate\((.*)\)", re.IGNORECASE | re.DOTALL)
_RATE = re.compile(r"([0-9]+)\s*([A-Za-z]+)")
_RATE_FORMS = "'rate(5 minutes)', '5 minutes', '1 hour', '2 days' or '15m', '1h', '2d'"
_RATE_UNITS = {"m": "minute", "minute": "minute", "minutes": "minute", "h": "hour", "hour": "hour",
               "hours": "hour", "d": "day", "day": "day", "days": "day"}
_UNIT_SECONDS = {"minute": 60, "hour": 3600, "day": 86400}
# Five years hold at most two leap days.
_GIVE_UP_AFTER = timedelta(days=5 * 365 + 2)


@dataclass(frozen=True)
class CronExpr:
    """An EventBridge cron expression, one normalized string per field."""

    minutes: str
    hours: str
    day_of_month: str
    month: str
    day_of_week: str
    year: str
    _minutes: tuple[int, ...] = field(init=False, repr=False, compare=False)
    _hours: tuple[int, ...] = field(init=False, repr=False, compare=False)
    _months: frozenset[int] = field(init=False, repr=False, compare=False)
    _years: frozenset[int] = field(init=False, repr=False, compare=False)
    _day_rule: DayRule = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        for name in ("minutes", "hours", "day_of_month", "month", "day_of_week", "year"):
            object.__setattr__(self, name, str(getattr(self, name)).strip().upper())
        dom, dow = parse_day_of_month(self.day_of_month), parse_day_of_week(self.day_of_week)
        parsed = {
            "_minutes": tuple(sorted(parse_values(self.minutes, MINUTES))),
            "_hours": tuple(sorted(parse_values(self.hours, HOURS))),
            "_months": parse_values(self.month, MONTH),
            "_years": parse_values(self.year, YEAR),
            "_day_rule": dom or dow,
        }
        if dom is not None and dow is not None:
            raise ScheduleExprError(
                f"{DAY_OF_MONTH.label} '{self.day_of_month}' and {DAY_OF_WEEK.label} '{self.day_of_week}': "
                f"exactly one of them must be '?' (EventBridge cannot combine the two); "
                f"{_which_to_blank(self.day_of_month, self.day_of_week)}")
        if dom is None and dow is None:
            raise ScheduleExprError(
                f"{DAY_OF_MONTH.label} '?' and {DAY_OF_WEEK.label} '?': only one of them may be '?'; "
                f"put '*' in day-of-month to run every day")
        for name, value in parsed.items():
            object.__setattr__(self, name, value)

    @property
    def expression(self) -> str:
        """The expression as EventBridge Scheduler takes it: 'cron(0 5 ? * MON-FRI *)'."""
        fields = (self.minutes, self.hours, self.day_of_month, self.month, self.day_of_week, self.year)
        return f"cron({' '.join(fields)})"

    def __str__(self) -> str:
        return self.expression

    def matches(self, dt: datetime) -> bool:
        """Whether the wall-clock time of `dt` (seconds ignored) is one this expression fires at."""
        return self._date_matches(dt) and dt.hour in self._hours and dt.minute in self._minutes

    def next_after(self, dt: datetime, count: int = 1) -> list[datetime]:
        """The next `count` naive wall-clock times this expression fires at, strictly after `dt`."""
        if dt.tzinfo is not None:
            raise ValueError(f"next_after() takes a naive wall-clock datetime, got one with tzinfo {dt.tzinfo}")
        if count < 1:
            raise ValueError(f"count must be 1 or more, got {count}")
        found: list[datetime] = []
        since, last_year = dt, max(self._years)
        moment = dt.replace(second=0, microsecond=0) + timedelta(minutes=1)
        while len(found) < count:
            # The year field never goes past 2199, so this also stops the search long before datetime.max.
            if moment - since > _GIVE_UP_AFTER or moment.year > last_year:
                raise ScheduleExprError(
                    f"{self.expression} matches no time in the 5 years after {since:%Y-%m-%d %H:%M}")
            if not self._date_matches(moment):
                moment = datetime.combine(moment.date() + timedelta(days=1), time())
                continue
            hour = bisect.bisect_left(self._hours, moment.hour)
            if hour == len(self._hours):
                moment = datetime.combine(moment.date() + timedelta(days=1), time())
                continue
            if self._hours[hour] != moment.hour:
                moment = moment.replace(hour=self._hours[hour], minute=0)
            minute = bisect.bisect_left(self._minutes, moment.minute)
            if minute == len(self._minutes):
                moment = moment.replace(minute=0) + timedelta(hours=1)
                continue
            since = moment = moment.replace(minute=self._minutes[minute])
            found.append(moment)
            moment += timedelta(minutes=1)
        return found

    def _date_matches(self, dt: datetime) -> bool:
        return dt.year in self._years and dt.month in self._months and self._day_rule(dt.date())


def _which_to_blank(dom: str, dow: str) -> str:
    if dom == "*":
        return f"write '?' in day-of-month to run on day-of-week '{dow}'"
    if dow == "*":
        return f"write '?' in day-of-week to run on day-of-month '{dom}'"
    return "write '?' in one of them, or use two schedules"


def parse_cron(text: str) -> CronExpr:
    """Parse an EventBridge cron (6 fields, optionally inside 'cron(...)') or a Unix cron (5 fields)."""
    if not isinstance(text, str):
        raise ScheduleExprError(f"a cron expression is a string, got {type(text).__name__} {text!r}")
    body = text.strip()
    wrapped = _CRON_WRAPPED.fullmatch(body)
    if wrapped:
        body = wrapped[1]
    elif body.lower().startswith("cron("):
        raise ScheduleExprError(f"cron expression '{text}': missing the closing ')'")
    fields = body.upper().split()
    if len(fields) == 6:
        return CronExpr(*fields)
    if len(fields) == 5 and not wrapped:
        return _from_unix(text, *fields)
    # Inside cron(...) the fields are EventBridge ones; reading five of them as Unix would shift the weekdays.
    form = "EventBridge cron(...) takes 6 fields" if wrapped else f"expected {_CRON_FORMS}"
    plural = "" if len(fields) == 1 else "s"
    raise ScheduleExprError(f"cron expression '{text}' has {len(fields)} field{plural}; {form}")


def _from_unix(text: str, minutes: str, hours: str, dom: str, month: str, dow: str) -> CronExpr:
    if "?" in dom or "?" in dow:
        # A '?' means the author thinks in EventBridge terms, where weekday numbers differ by one from Unix.
        raise ScheduleExprError(
            f"cron expression '{text}': '?' belongs to the 6-field EventBridge form; add the year field "
            f"('{text.strip()} *') or write the Unix form with '*' instead of '?'")
    if dom != "*" and dow != "*":
        raise ScheduleExprError(
            f"cron expression '{text}': Unix cron runs when day-of-month '{dom}' OR day-of-week '{dow}' matches, "
            f"which EventBridge cannot express (one of the two must be '?'); restrict only one, or use two schedules")
    if dow == "*":
        return CronExpr(minutes, hours, dom, month, "?", "*")
    return CronExpr(minutes, hours, "?", month, unix_day_of_week(dow), "*")


@dataclass(frozen=True)
class RateExpr:
    """An EventBridge rate expression: every `value` minutes, hours or days."""

    value: int
    unit: str

    def __post_init__(self) -> None:
        if self.unit not in _UNIT_SECONDS:
            raise ScheduleExprError(f"rate unit '{self.unit}': must be 'minute', 'hour' or 'day'")
        if isinstance(self.value, bool) or not isinstance(self.value, int) or self.value < 1:
            raise ScheduleExprError(f"rate value {self.value!r}: must be a whole number, 1 or more")

    @property
    def seconds(self) -> int:
        """The interval in seconds."""
        return self.value * _UNIT_SECONDS[self.unit]

    @property
    def expression(self) -> str:
        """The expression as EventBridge Scheduler takes it, singular for 1: 'rate(1 hour)', 'rate(5 minutes)'."""
        return f"rate({self.value} {self.unit}{'' if self.value == 1 else 's'})"

    def __str__(self) -> str:
        return self.expression


def parse_rate(text: str) -> RateExpr:
    """Parse 'rate(5 minutes)', '5 minutes', '1 hour', '2 days', '15m', '1h' or '2d'."""
    if not isinstance(text, str):
        raise ScheduleExprError(f"a rate expression is a string like {_RATE_FORMS}, got {type(text).__name__}")
    body = text.strip()
    if wrapped := _RATE_WRAPPED.fullmatch(body):
        body = wrapped[1].strip()
    match = _RATE.fullmatch(body)
    if not match:
        raise ScheduleExprError(
            f"rate expression '{text}' is not valid; write a whole number and a unit: {_RATE_FORMS}")
    value, unit = int(match[1]), match[2].lower()
    if unit not in _RATE_UNITS:
        raise ScheduleExprError(
            f"rate expression '{text}': unit '{match[2]}' is not valid; use minute(s), hour(s) or day(s) (or m, h, d)")
    if value < 1:
        raise ScheduleExprError(f"rate expression '{text}': the value must be 1 or more, got {value}")
    return RateExpr(value, _RATE_UNITS[unit])
