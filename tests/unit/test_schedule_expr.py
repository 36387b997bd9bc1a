"""EventBridge Scheduler schedule expressions: cron parsing, Unix conversion, matching, next runs, rates."""

from __future__ import annotations

import dataclasses
from datetime import UTC, date, datetime, timedelta

import pytest

from sluice.spec.schedule_expr import CronExpr, RateExpr, ScheduleExprError, parse_cron, parse_rate

# ---------------------------------------------------------------- cron: valid EventBridge expressions


@pytest.mark.parametrize(("text", "expression"), [
    ("0 5 ? * MON-FRI *", "cron(0 5 ? * MON-FRI *)"),
    ("15 10 ? * 6L 2026-2030", "cron(15 10 ? * 6L 2026-2030)"),
    ("0/15 * * * ? *", "cron(0/15 * * * ? *)"),
    ("0 8 1W * ? *", "cron(0 8 1W * ? *)"),
    ("0 8 15W * ? *", "cron(0 8 15W * ? *)"),
    ("0 8 L * ? *", "cron(0 8 L * ? *)"),
    ("0 8 LW * ? *", "cron(0 8 LW * ? *)"),
    ("0 9 ? * 2#1 *", "cron(0 9 ? * 2#1 *)"),
    ("0 9 ? * MON#3 *", "cron(0 9 ? * MON#3 *)"),
    ("0 9 ? * 7#5 *", "cron(0 9 ? * 7#5 *)"),
    ("0 9 ? * FRIL *", "cron(0 9 ? * FRIL *)"),
    ("0 9 ? * L *", "cron(0 9 ? * L *)"),
    ("cron(0 5 ? * MON-FRI *)", "cron(0 5 ? * MON-FRI *)"),
    ("  CRON( 0  5 ? * mon-fri * )  ", "cron(0 5 ? * MON-FRI *)"),
    ("*/5 8-18/2 1,15 JAN-MAR,DEC ? 2024/2", "cron(*/5 8-18/2 1,15 JAN-MAR,DEC ? 2024/2)"),
    ("0 0 ? * SUN,SAT *", "cron(0 0 ? * SUN,SAT *)"),
    ("0 0 31 12 ? 2199", "cron(0 0 31 12 ? 2199)"),
    ("59 23 ? * 7 1970", "cron(59 23 ? * 7 1970)"),
    ("0-59/30 0-23 1-31 1-12 ? 1970-2199", "cron(0-59/30 0-23 1-31 1-12 ? 1970-2199)"),
    ("0 0 * * ? *", "cron(0 0 * * ? *)"),
    ("0 0 ? * * *", "cron(0 0 ? * * *)"),
])
def test_parse_cron_accepts_eventbridge_forms(text: str, expression: str) -> None:
    # GIVEN a valid EventBridge expression, bare or inside cron(...)
    # WHEN it is parsed
    cron = parse_cron(text)
    # THEN the normalized expression is what EventBridge Scheduler takes
    assert cron.expression == expression
    assert str(cron) == expression


def test_parse_cron_keeps_each_field() -> None:
    cron = parse_cron("15 10 ? * 6L 2026-2030")
    assert (cron.minutes, cron.hours, cron.day_of_month, cron.month, cron.day_of_week, cron.year) == (
        "15", "10", "?", "*", "6L", "2026-2030")


def test_cron_expr_built_directly_is_normalized_and_validated() -> None:
    assert CronExpr("0", "5", "?", "*", " mon-fri", "*").expression == "cron(0 5 ? * MON-FRI *)"
    with pytest.raises(ScheduleExprError, match="minutes field '60'"):
        CronExpr("60", "5", "?", "*", "MON", "*")


def test_cron_expr_is_frozen_hashable_and_compares_by_fields() -> None:
    cron = parse_cron("0 5 ? * MON-FRI *")
    with pytest.raises(dataclasses.FrozenInstanceError):
        cron.minutes = "1"  # type: ignore[misc]
    assert cron == parse_cron("cron(0 5 ? * mon-fri *)")
    assert len({cron, parse_cron("0 5 ? * MON-FRI *")}) == 1
    assert cron != parse_cron("0 6 ? * MON-FRI *")


def test_schedule_expr_error_is_a_value_error() -> None:
    with pytest.raises(ValueError):
        parse_cron("nope")


# ---------------------------------------------------------------- cron: invalid EventBridge expressions


@pytest.mark.parametrize(("text", "message"), [
    # minutes
    ("60 * * * ? *", "minutes field '60': values must be 0-59"),
    ("0,60 * * * ? *", "minutes field '0,60': 60 is out of range; values must be 0-59"),
    ("-1 * * * ? *", "minutes field '-1': not valid"),
    ("X * * * ? *", "minutes field 'X': 'X' is not a number or name; values must be 0-59"),
    ("MON * * * ? *", "minutes field 'MON': 'MON' is not a number or name"),
    # hours
    ("0 24 * * ? *", "hours field '24': values must be 0-23"),
    ("0 22-25 * * ? *", "hours field '22-25': 25 is out of range; values must be 0-23"),
    # day-of-month
    ("0 0 0 * ? *", "day-of-month field '0': values must be 1-31"),
    ("0 0 32 * ? *", "day-of-month field '32': values must be 1-31"),
    ("0 0 32W * ? *", "day-of-month field '32W': 32 is out of range; values must be 1-31"),
    ("0 0 0W * ? *", "day-of-month field '0W': 0 is out of range"),
    ("0 0 L-2 * ? *", "day-of-month field 'L-2': 'L' and 'W' cannot be combined with other values"),
    ("0 0 1,L * ? *", "day-of-month field '1,L': 'L' and 'W' cannot be combined"),
    ("0 0 1W,15 * ? *", "day-of-month field '1W,15': 'L' and 'W' cannot be combined"),
    ("0 0 1-5W * ? *", "day-of-month field '1-5W': 'L' and 'W' cannot be combined"),
    ("0 0 ?,1 * ? *", "day-of-month field '?,1': '?' is only allowed on its own"),
    # month
    ("0 0 1 0 ? *", "month field '0': values must be 1-12 or JAN-DEC"),
    ("0 0 1 13 ? *", "month field '13': values must be 1-12 or JAN-DEC"),
    ("0 0 1 JANUARY ? *", "month field 'JANUARY': 'JANUARY' is not a number or name; values must be 1-12 or JAN-DEC"),
    ("0 0 1 ? ? *", "month field '?': '?' is only allowed on its own, in day-of-month or day-of-week"),
    # day-of-week
    ("0 5 ? * 8 *", "day-of-week field '8': values must be 1-7 or SUN-SAT"),
    ("0 5 ? * 0 *", "day-of-week field '0': values must be 1-7 or SUN-SAT"),
    ("0 5 ? * 1,8 *", "day-of-week field '1,8': 8 is out of range; values must be 1-7 or SUN-SAT"),
    ("0 5 ? * FUN *", "day-of-week field 'FUN': 'FUN' is not a number or name; values must be 1-7 or SUN-SAT"),
    ("0 5 ? * 8L *", "day-of-week field '8L': 8 is out of range"),
    ("0 5 ? * 2#0 *", "day-of-week field '2#0': '#0' must be #1-#5"),
    ("0 5 ? * 2#6 *", "day-of-week field '2#6': '#6' must be #1-#5"),
    ("0 5 ? * 8#1 *", "day-of-week field '8#1': 8 is out of range"),
    ("0 5 ? * 1L,2 *", "day-of-week field '1L,2': 'L' and '#' cannot be combined with other values"),
    ("0 5 ? * MON#1,FRI#1 *", "day-of-week field 'MON#1,FRI#1': 'L' and '#' cannot be combined"),
    # year
    ("0 0 1 * ? 1969", "year field '1969': values must be 1970-2199"),
    ("0 0 1 * ? 2200", "year field '2200': values must be 1970-2199"),
    ("0 0 1 * ? 2024-2300", "year field '2024-2300': 2300 is out of range; values must be 1970-2199"),
    ("0 0 1 * ? ?", "year field '?': '?' is only allowed on its own"),
    # steps
    ("*/0 * * * ? *", "minutes field '*/0': step in '*/0' must be 1-60"),
    ("*/61 * * * ? *", "minutes field '*/61': step in '*/61' must be 1-60"),
    ("0 1-5/0 * * ? *", "hours field '1-5/0': step in '1-5/0' must be 1-24"),
    ("0 0 ? * */8 *", "day-of-week field '*/8': step in '*/8' must be 1-7"),
    ("5/ * * * ? *", "minutes field '5/': not valid; use a value, '*', a range 'a-b', a step '*/n'"),
    ("*-5 * * * ? *", "minutes field '*-5': not valid"),
    # ranges and lists
    ("10-5 * * * ? *", "minutes field '10-5': range '10-5' runs backwards"),
    ("0 0 ? * FRI-MON *", "day-of-week field 'FRI-MON': range 'FRI-MON' runs backwards"),
    ("1- * * * ? *", "minutes field '1-': not valid"),
    ("1,,2 * * * ? *", "minutes field '1,,2': '' is not valid"),
    ("1, * * * ? *", "minutes field '1,': '' is not valid"),
    # day-of-month and day-of-week together
    ("0 5 * * MON-FRI *", "must be '?' (EventBridge cannot combine the two); write '?' in day-of-month to run on "
                          "day-of-week 'MON-FRI'"),
    ("0 5 1 * * *", "write '?' in day-of-week to run on day-of-month '1'"),
    ("0 5 1 * 2 *", "day-of-month '1' and day-of-week '2': exactly one of them must be '?'"),
    ("0 5 ? * ? *", "day-of-month '?' and day-of-week '?': only one of them may be '?'"),
])
def test_parse_cron_rejects_invalid_eventbridge_fields(text: str, message: str) -> None:
    # GIVEN an expression EventBridge would reject
    # WHEN it is parsed
    # THEN the error names the field, what was given and what is valid
    with pytest.raises(ScheduleExprError) as caught:
        parse_cron(text)
    assert message in str(caught.value)


@pytest.mark.parametrize(("text", "count"), [
    ("", 0),
    ("*", 1),
    ("0 5 * *", 4),
    ("0 0 5 * * ? *", 7),
    ("rate(5 minutes)", 2),
])
def test_parse_cron_wrong_field_count_shows_both_forms(text: str, count: int) -> None:
    with pytest.raises(ScheduleExprError) as caught:
        parse_cron(text)
    message = str(caught.value)
    assert f"has {count} field" in message
    assert "6 fields 'minutes hours day-of-month month day-of-week year' (EventBridge" in message
    assert "5 fields 'minutes hours day-of-month month day-of-week' (Unix" in message


def test_parse_cron_wrapped_needs_six_fields() -> None:
    # GIVEN five fields inside cron(...): EventBridge syntax, so they must not be read with Unix weekday numbers
    with pytest.raises(ScheduleExprError, match=r"has 5 fields; EventBridge cron\(\.\.\.\) takes 6 fields"):
        parse_cron("cron(0 5 ? * 2)")


def test_parse_cron_wrapped_missing_paren() -> None:
    with pytest.raises(ScheduleExprError, match=r"missing the closing '\)'"):
        parse_cron("cron(0 5 ? * MON *")


def test_parse_cron_rejects_non_strings() -> None:
    with pytest.raises(ScheduleExprError, match="a cron expression is a string, got int"):
        parse_cron(5)  # type: ignore[arg-type]


# ---------------------------------------------------------------- cron: Unix 5-field form


@pytest.mark.parametrize(("text", "expression"), [
    ("0 5 * * *", "cron(0 5 * * ? *)"),
    ("30 2 * * 1-5", "cron(30 2 ? * 2-6 *)"),
    ("0 0 15 * *", "cron(0 0 15 * ? *)"),
    ("0 0 1 jan *", "cron(0 0 1 JAN ? *)"),
    ("*/10 * * * *", "cron(*/10 * * * ? *)"),
    # Sunday is 0 or 7 in Unix and 1 in EventBridge
    ("0 0 * * 0", "cron(0 0 ? * 1 *)"),
    ("0 0 * * 7", "cron(0 0 ? * 1 *)"),
    ("0 0 * * 6", "cron(0 0 ? * 7 *)"),
    ("0 0 * * 0,6", "cron(0 0 ? * 1,7 *)"),
    ("0 0 * * 6,7", "cron(0 0 ? * 1,7 *)"),
    ("0 0 * * 5-7", "cron(0 0 ? * 1,6,7 *)"),
    ("0 0 * * 0-6", "cron(0 0 ? * 1-7 *)"),
    ("0 0 * * 1-7", "cron(0 0 ? * 1-7 *)"),
    ("0 0 * * 1-5/2", "cron(0 0 ? * 2,4,6 *)"),
    ("0 0 * * 3/2", "cron(0 0 ? * 1,4,6 *)"),
    ("0 0 * * 1,3-5", "cron(0 0 ? * 2,4-6 *)"),
    ("0 0 * * */2", "cron(0 0 ? * */2 *)"),
    # names mean the same day in both forms and are kept
    ("0 0 * * MON-FRI", "cron(0 0 ? * MON-FRI *)"),
    ("0 0 * * sun,sat", "cron(0 0 ? * SUN,SAT *)"),
    ("0 0 * * MON-FRI/2", "cron(0 0 ? * MON-FRI/2 *)"),
    ("0 0 * * MON-5", "cron(0 0 ? * 2-6 *)"),
    ("0 0 * * SUN,3", "cron(0 0 ? * 4,SUN *)"),
    ("0 0 * * 6,7,SAT", "cron(0 0 ? * 1,7,SAT *)"),
    # L and # keep their meaning with the weekday renumbered
    ("0 0 * * 5L", "cron(0 0 ? * 6L *)"),
    ("0 0 * * 0L", "cron(0 0 ? * 1L *)"),
    ("0 0 * * 1#2", "cron(0 0 ? * 2#2 *)"),
    ("0 0 * * 7#1", "cron(0 0 ? * 1#1 *)"),
    ("0 0 * * FRI#2", "cron(0 0 ? * FRI#2 *)"),
])
def test_parse_cron_converts_unix_form(text: str, expression: str) -> None:
    # GIVEN a Unix/Airflow 5-field expression
    # WHEN it is parsed
    # THEN it becomes the EventBridge form: year '*', one '?' and EventBridge weekday numbers
    assert parse_cron(text).expression == expression


@pytest.mark.parametrize("unix_day", range(8))
def test_unix_weekday_numbers_pick_the_same_days(unix_day: int) -> None:
    # GIVEN a Unix weekday number (0 and 7 = Sunday, 1 = Monday ... 6 = Saturday)
    cron = parse_cron(f"0 0 * * {unix_day}")
    # WHEN the converted expression is matched against two weeks of days
    days = [date(2024, 3, 1) + timedelta(days=n) for n in range(14)]
    matched = [day for day in days if cron.matches(datetime(day.year, day.month, day.day))]
    # THEN it picks exactly the days Unix cron would
    assert matched == [day for day in days if day.isoweekday() % 7 == unix_day % 7]


@pytest.mark.parametrize(("text", "message"), [
    ("0 0 1 * 1", "Unix cron runs when day-of-month '1' OR day-of-week '1' matches, which EventBridge cannot express"),
    ("0 0 1-7 * MON", "day-of-month '1-7' OR day-of-week 'MON'"),
    ("0 0 * * 8", "day-of-week field '8': values must be 0-7 or SUN-SAT (5-field Unix form, 0 and 7 = Sunday)"),
    ("0 0 * * 1,9", "day-of-week field '1,9': 9 is out of range; values must be 0-7"),
    ("0 0 * * 5-1", "day-of-week field '5-1': range '5-1' runs backwards"),
    ("0 0 * * 1#6", "day-of-week field '1#6': '#6' must be #1-#5"),
    ("0 0 * * 8L", "day-of-week field '8L': 8 is out of range; values must be 0-7"),
    ("0 0 * * FUN", "day-of-week field 'FUN': 'FUN' is not a number or name"),
    ("0 0 ? * MON", "'?' belongs to the 6-field EventBridge form; add the year field ('0 0 ? * MON *')"),
    ("0 0 1 * ?", "'?' belongs to the 6-field EventBridge form"),
    ("60 0 * * *", "minutes field '60': values must be 0-59"),
    ("0 0 32 * *", "day-of-month field '32': values must be 1-31"),
    ("0 0 * 13 *", "month field '13': values must be 1-12 or JAN-DEC"),
])
def test_parse_cron_rejects_invalid_unix_form(text: str, message: str) -> None:
    with pytest.raises(ScheduleExprError) as caught:
        parse_cron(text)
    assert message in str(caught.value)


# ---------------------------------------------------------------- cron: matches


@pytest.mark.parametrize(("text", "moment", "expected"), [
    ("0 5 ? * MON-FRI *", datetime(2024, 3, 1, 5, 0), True),  # Friday
    ("0 5 ? * MON-FRI *", datetime(2024, 3, 1, 5, 0, 59, 999), True),  # seconds ignored
    ("0 5 ? * MON-FRI *", datetime(2024, 3, 2, 5, 0), False),  # Saturday
    ("0 5 ? * MON-FRI *", datetime(2024, 3, 1, 5, 1), False),
    ("0 5 ? * MON-FRI *", datetime(2024, 3, 1, 6, 0), False),
    ("0/15 * * * ? *", datetime(2024, 3, 1, 7, 45), True),
    ("0/15 * * * ? *", datetime(2024, 3, 1, 7, 46), False),
    ("10-20/5 * * * ? *", datetime(2024, 3, 1, 7, 20), True),
    ("10-20/5 * * * ? *", datetime(2024, 3, 1, 7, 25), False),
    ("0 0 1 JAN-MAR ? *", datetime(2024, 3, 1), True),
    ("0 0 1 JAN-MAR ? *", datetime(2024, 4, 1), False),
    ("0 0 1 * ? 2024-2026/2", datetime(2026, 5, 1), True),
    ("0 0 1 * ? 2024-2026/2", datetime(2025, 5, 1), False),
    # L: last day of the month, leap years included
    ("0 0 L * ? *", datetime(2024, 2, 29), True),
    ("0 0 L * ? *", datetime(2024, 2, 28), False),
    ("0 0 L * ? *", datetime(2023, 2, 28), True),
    ("0 0 L * ? *", datetime(2024, 4, 30), True),
    # nW: nearest weekday within the month
    ("0 0 15W * ? *", datetime(2024, 6, 14), True),  # the 15th is a Saturday
    ("0 0 15W * ? *", datetime(2024, 6, 15), False),
    ("0 0 1W * ? *", datetime(2024, 6, 3), True),  # the 1st is a Saturday: Monday, not the previous month
    ("0 0 1W * ? *", datetime(2024, 9, 2), True),  # the 1st is a Sunday
    ("0 0 1W * ? *", datetime(2024, 3, 1), True),  # the 1st is a Friday
    ("0 0 31W * ? *", datetime(2024, 3, 29), True),  # the 31st is a Sunday: Friday, not the next month
    ("0 0 31W * ? *", datetime(2024, 8, 30), True),  # the 31st is a Saturday
    ("0 0 31W * ? *", datetime(2024, 4, 30), False),  # April has no 31st
    # LW: last weekday of the month
    ("0 0 LW * ? *", datetime(2024, 3, 29), True),
    ("0 0 LW * ? *", datetime(2024, 3, 31), False),
    ("0 0 LW * ? *", datetime(2024, 6, 28), True),
    ("0 0 LW * ? *", datetime(2024, 2, 29), True),
    # dL: last such weekday of the month
    ("0 0 ? * 6L *", datetime(2024, 3, 29), True),
    ("0 0 ? * 6L *", datetime(2024, 3, 22), False),
    ("0 0 ? * 6L *", datetime(2024, 5, 31), True),  # the last day is itself a Friday
    ("0 0 ? * 6L *", datetime(2024, 5, 24), False),
    ("0 0 ? * 2L *", datetime(2024, 2, 26), True),
    ("0 0 ? * FRIL *", datetime(2026, 2, 27), True),
    # L alone in day-of-week: Saturday
    ("0 0 ? * L *", datetime(2024, 3, 2), True),
    ("0 0 ? * L *", datetime(2024, 3, 3), False),
    # d#n: nth such weekday of the month
    ("0 0 ? * 2#1 *", datetime(2024, 3, 4), True),
    ("0 0 ? * 2#1 *", datetime(2024, 4, 1), True),
    ("0 0 ? * 2#1 *", datetime(2024, 4, 8), False),
    ("0 0 ? * MON#2 *", datetime(2024, 4, 8), True),
    ("0 0 ? * 6#5 *", datetime(2024, 3, 29), True),
    ("0 0 ? * 6#4 *", datetime(2024, 3, 22), True),
])
def test_matches(text: str, moment: datetime, expected: bool) -> None:
    assert parse_cron(text).matches(moment) is expected


# ---------------------------------------------------------------- cron: next_after


def _times(*values: tuple[int, ...]) -> list[datetime]:
    return [datetime(*value) for value in values]


@pytest.mark.parametrize(("text", "after", "count", "expected"), [
    # strictly after: a matching start is not returned
    ("0 5 ? * MON-FRI *", datetime(2024, 3, 1, 5, 0), 2, _times((2024, 3, 4, 5, 0), (2024, 3, 5, 5, 0))),
    ("0 5 * * ? *", datetime(2024, 3, 1, 5, 0, 30), 1, _times((2024, 3, 2, 5, 0))),
    ("0 5 * * ? *", datetime(2024, 3, 1, 4, 59, 59), 1, _times((2024, 3, 1, 5, 0))),
    # across the end of a day, a month and a leap February
    ("0/15 * * * ? *", datetime(2024, 2, 29, 23, 50), 3,
     _times((2024, 3, 1, 0, 0), (2024, 3, 1, 0, 15), (2024, 3, 1, 0, 30))),
    ("0 0 31 * ? *", datetime(2024, 1, 31), 3, _times((2024, 3, 31), (2024, 5, 31), (2024, 7, 31))),
    ("59 23 31 12 ? *", datetime(2024, 12, 31, 23, 59), 1, _times((2025, 12, 31, 23, 59))),
    ("0 12 29 2 ? *", datetime(2023, 1, 1), 3, _times((2024, 2, 29, 12), (2028, 2, 29, 12), (2032, 2, 29, 12))),
    ("0 0 L 2 ? *", datetime(2023, 3, 1), 2, _times((2024, 2, 29), (2025, 2, 28))),
    # skipping to the next allowed hour and weekday
    ("30 9-17/4 ? * MON-FRI *", datetime(2024, 3, 1, 17, 31), 3,
     _times((2024, 3, 4, 9, 30), (2024, 3, 4, 13, 30), (2024, 3, 4, 17, 30))),
    ("5,55 22 * * ? *", datetime(2024, 3, 1, 22, 5), 3,
     _times((2024, 3, 1, 22, 55), (2024, 3, 2, 22, 5), (2024, 3, 2, 22, 55))),
    # L, W and # across months
    ("0 8 LW * ? 2024", datetime(2024, 2, 1), 4,
     _times((2024, 2, 29, 8), (2024, 3, 29, 8), (2024, 4, 30, 8), (2024, 5, 31, 8))),
    ("0 8 1W * ? *", datetime(2024, 5, 15), 4,
     _times((2024, 6, 3, 8), (2024, 7, 1, 8), (2024, 8, 1, 8), (2024, 9, 2, 8))),
    ("15 10 ? * 6L 2026-2030", datetime(2025, 6, 1), 3,
     _times((2026, 1, 30, 10, 15), (2026, 2, 27, 10, 15), (2026, 3, 27, 10, 15))),
    ("0 9 ? * 2#1 *", datetime(2024, 3, 4, 9), 3, _times((2024, 4, 1, 9), (2024, 5, 6, 9), (2024, 6, 3, 9))),
    ("0 9 ? * 6#5 *", datetime(2024, 1, 1), 3, _times((2024, 3, 29, 9), (2024, 5, 31, 9), (2024, 8, 30, 9))),
    # Unix form, converted
    ("0 0 * * 0", datetime(2024, 3, 1), 2, _times((2024, 3, 3), (2024, 3, 10))),
])
def test_next_after(text: str, after: datetime, count: int, expected: list[datetime]) -> None:
    assert parse_cron(text).next_after(after, count) == expected


@pytest.mark.parametrize("text", [
    "*/7 * * * ? *",
    "0,30 */5 ? * MON,WED,FRI *",
    "45 23 L * ? *",
    "0 12 ? * 1#2 *",
    "0 0/6 LW * ? *",
    "13 1-3 15W * ? *",
])
def test_next_after_agrees_with_a_minute_by_minute_search(text: str) -> None:
    # GIVEN an expression and a window of 40 days spanning the end of a leap February
    cron = parse_cron(text)
    start = datetime(2024, 2, 10, 7, 3)
    end = start + timedelta(days=40)
    # WHEN every minute of the window is checked with matches()
    expected, moment = [], start + timedelta(minutes=1)
    while moment <= end:
        if cron.matches(moment):
            expected.append(moment)
        moment += timedelta(minutes=1)
    # THEN next_after finds the same times in the same order
    assert expected
    assert cron.next_after(start, len(expected)) == expected


def test_next_after_defaults_to_one() -> None:
    assert parse_cron("0 5 * * *").next_after(datetime(2024, 3, 1)) == [datetime(2024, 3, 1, 5)]


@pytest.mark.parametrize(("text", "after"), [
    ("0 0 30 2 ? *", datetime(2024, 1, 1)),  # February never has a 30th
    ("0 0 31W 2 ? *", datetime(2024, 1, 1)),
    ("0 0 31 4,6,9,11 ? *", datetime(2024, 1, 1)),
    ("0 0 1 1 ? 2199", datetime(2024, 1, 1)),  # more than five years away
    ("0 0 1 1 ? 2024-2025", datetime(2025, 1, 1)),  # the last allowed year is over
])
def test_next_after_gives_up_after_five_years(text: str, after: datetime) -> None:
    with pytest.raises(ScheduleExprError, match=r"matches no time in the 5 years after"):
        parse_cron(text).next_after(after)


def test_next_after_gives_up_after_five_years_without_a_further_match() -> None:
    # GIVEN a schedule whose last run is in 2025
    cron = parse_cron("0 0 1 1 ? 2024-2025")
    # WHEN more runs are asked for than exist
    # THEN the search stops with an error naming the last match
    with pytest.raises(ScheduleExprError, match="after 2025-01-01 00:00"):
        cron.next_after(datetime(2023, 6, 1), 3)


def test_next_after_within_five_years_is_found() -> None:
    assert parse_cron("0 0 1 1 ? 2028").next_after(datetime(2024, 1, 1)) == [datetime(2028, 1, 1)]


def test_next_after_rejects_aware_datetimes_and_bad_counts() -> None:
    cron = parse_cron("0 5 * * *")
    with pytest.raises(ValueError, match="naive wall-clock datetime"):
        cron.next_after(datetime(2024, 3, 1, tzinfo=UTC))
    with pytest.raises(ValueError, match="count must be 1 or more"):
        cron.next_after(datetime(2024, 3, 1), 0)


# ---------------------------------------------------------------- rate


@pytest.mark.parametrize(("text", "value", "unit", "expression", "seconds"), [
    ("rate(5 minutes)", 5, "minute", "rate(5 minutes)", 300),
    ("rate(1 minute)", 1, "minute", "rate(1 minute)", 60),
    ("rate(1 minutes)", 1, "minute", "rate(1 minute)", 60),
    ("rate(5 minute)", 5, "minute", "rate(5 minutes)", 300),
    ("5 minutes", 5, "minute", "rate(5 minutes)", 300),
    ("1 hour", 1, "hour", "rate(1 hour)", 3600),
    ("1 hours", 1, "hour", "rate(1 hour)", 3600),
    ("2 days", 2, "day", "rate(2 days)", 172800),
    ("1 day", 1, "day", "rate(1 day)", 86400),
    ("15m", 15, "minute", "rate(15 minutes)", 900),
    ("1h", 1, "hour", "rate(1 hour)", 3600),
    ("2d", 2, "day", "rate(2 days)", 172800),
    ("1m", 1, "minute", "rate(1 minute)", 60),
    ("90m", 90, "minute", "rate(90 minutes)", 5400),
    ("  RATE( 2 Hours )  ", 2, "hour", "rate(2 hours)", 7200),
    (" 10 M ", 10, "minute", "rate(10 minutes)", 600),
    ("rate(12h)", 12, "hour", "rate(12 hours)", 43200),
])
def test_parse_rate(text: str, value: int, unit: str, expression: str, seconds: int) -> None:
    # GIVEN any accepted spelling WHEN parsed THEN EventBridge's strict singular/plural form comes out
    rate = parse_rate(text)
    assert (rate.value, rate.unit, rate.expression, rate.seconds) == (value, unit, expression, seconds)
    assert str(rate) == expression


@pytest.mark.parametrize(("text", "message"), [
    ("0 minutes", "the value must be 1 or more, got 0"),
    ("rate(0 hours)", "the value must be 1 or more, got 0"),
    ("0m", "the value must be 1 or more"),
    ("5 weeks", "unit 'weeks' is not valid; use minute(s), hour(s) or day(s) (or m, h, d)"),
    ("5 seconds", "unit 'seconds' is not valid"),
    ("5s", "unit 's' is not valid"),
    ("5", "is not valid; write a whole number and a unit: 'rate(5 minutes)', '5 minutes', '1 hour', '2 days'"),
    ("minutes", "is not valid; write a whole number and a unit"),
    ("rate()", "is not valid"),
    ("rate(5)", "is not valid"),
    ("-5 minutes", "is not valid"),
    ("1.5 hours", "is not valid"),
    ("5 minutes 3", "is not valid"),
    ("", "is not valid"),
    ("cron(0 5 * * ? *)", "is not valid"),
])
def test_parse_rate_rejects(text: str, message: str) -> None:
    with pytest.raises(ScheduleExprError) as caught:
        parse_rate(text)
    assert message in str(caught.value)
    assert f"'{text}'" in str(caught.value)


def test_parse_rate_rejects_non_strings() -> None:
    with pytest.raises(ScheduleExprError, match="a rate expression is a string"):
        parse_rate(5)  # type: ignore[arg-type]


def test_rate_expr_built_directly() -> None:
    assert RateExpr(5, "minute").expression == "rate(5 minutes)"
    assert RateExpr(1, "day").seconds == 86400
    assert RateExpr(3, "hour") == parse_rate("3h")
    with pytest.raises(dataclasses.FrozenInstanceError):
        RateExpr(1, "day").value = 2  # type: ignore[misc]


@pytest.mark.parametrize(("value", "unit", "message"), [
    (0, "minute", "must be a whole number, 1 or more"),
    (True, "minute", "must be a whole number, 1 or more"),
    (1.5, "hour", "must be a whole number, 1 or more"),
    (1, "minutes", "must be 'minute', 'hour' or 'day'"),
    (1, "week", "must be 'minute', 'hour' or 'day'"),
])
def test_rate_expr_validates(value: object, unit: str, message: str) -> None:
    with pytest.raises(ScheduleExprError, match=message):
        RateExpr(value, unit)  # type: ignore[arg-type]
