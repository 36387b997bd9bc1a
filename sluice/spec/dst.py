"""Cron times that a daylight saving change skips: EventBridge Scheduler does not run them on that day.

When clocks go forward (02:00 -> 03:00 in Europe/Berlin on the last Sunday of March) the wall times in between do
not exist, and Scheduler skips an invocation due then rather than moving it (sluice/schedule_times.py cites the docs).
`validate` warns about such a cron; it is not an error, since the run on every other day is fine.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from zoneinfo import ZoneInfo

from .pipeline import Pipeline
from .problems import Found
from .schedule_expr import CronExpr, ScheduleExprError, parse_cron

_DAY = dt.timedelta(days=1)
_MINUTE = dt.timedelta(minutes=1)


def skipped_schedules(pipeline: Pipeline, since: dt.datetime | None = None, years: int = 2) -> Iterator[Found]:
    """(path, message, hint) for each cron schedule that fires inside a spring-forward gap in the coming `years`."""
    since = since or dt.datetime.now(dt.UTC)
    for i, schedule in enumerate(pipeline.schedules):
        if schedule.cron is None:
            continue
        zone = ZoneInfo(schedule.timezone)
        skipped = list(skipped_times(parse_cron(schedule.cron), zone, since, since + years * 365 * _DAY))
        if not skipped:
            continue
        wall, start, end = skipped[0]
        more = f" and {len(skipped) - 1} more time(s) in the next {years} years" if len(skipped) > 1 else ""
        yield (("schedules", i, "cron"),
               f"{wall:%H:%M} does not exist in {schedule.timezone} on {wall:%Y-%m-%d}{more} (clocks go forward from "
               f"{start:%H:%M} to {end:%H:%M}): EventBridge Scheduler skips that run",
               f"to run every day, pick a time outside {start:%H:%M}-{end:%H:%M} or the time zone UTC")


def skipped_times(cron: CronExpr, zone: ZoneInfo, since: dt.datetime,
                  until: dt.datetime) -> Iterator[tuple[dt.datetime, dt.datetime, dt.datetime]]:
    """(wall time, gap start, gap end) for each wall time of `cron` inside a gap of `zone` between the instants."""
    for start, end in _gaps(zone, since, until):
        after = start - _MINUTE
        while True:
            try:
                [wall] = cron.next_after(after, 1)
            except ScheduleExprError:  # no time within the cron's search horizon
                break
            if wall >= end:
                break
            yield wall, start, end
            after = wall


def _gaps(zone: ZoneInfo, since: dt.datetime, until: dt.datetime) -> Iterator[tuple[dt.datetime, dt.datetime]]:
    """The spring-forward gaps as naive wall times [start, end), found by the UTC offset growing."""
    moment = since.astimezone(dt.UTC)
    while moment < until:
        later = moment + _DAY
        before, after = moment.astimezone(zone).utcoffset(), later.astimezone(zone).utcoffset()
        if before is not None and after is not None and after > before:
            lo, hi = moment, later  # the change is in (lo, hi]: halve to the minute
            while hi - lo > _MINUTE:
                mid = lo + (hi - lo) / 2
                lo, hi = (mid, hi) if mid.astimezone(zone).utcoffset() == before else (lo, mid)
            change = hi.replace(second=0, microsecond=0)
            yield (change.astimezone(zone) - (after - before)).replace(tzinfo=None), change.astimezone(zone).replace(
                tzinfo=None)
        moment = later
