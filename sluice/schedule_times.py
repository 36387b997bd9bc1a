"""When a pipeline's schedules fire, worked out the way EventBridge Scheduler does it. Pure code: no AWS calls, no I/O.

Public API (every datetime is timezone-aware; results are ascending and in UTC)
- fire_times(schedule, since, until, *, limit=None) -> list[datetime]: the fire times in [since, until]
- next_times(schedule, after, count) -> list[datetime]: the next `count` fire times strictly after `after`
- pipeline_fire_times(pipeline, since, until, *, limit=None, include_disabled=False) -> list[ScheduledTime]
- pipeline_next_times(pipeline, after, count, *, include_disabled=False) -> list[ScheduledTime]
- schedule_window(schedule) -> (start, end): the schedule's start and end as UTC instants, or None
- TooManyTimesError (a ValueError): more times than `limit`
A fire time is the time Scheduler passes as <aws.scheduler.scheduled-time>, which is the run's logical date.

What AWS documents, and the choices made where it says nothing
- Daylight saving time (https://docs.aws.amazon.com/scheduler/latest/UserGuide/schedule-types.html#daylist-savings-time,
  also https://repost.aws/knowledge-center/eventbridge-scheduler-adjust-dst): cron schedules follow the time zone's
  wall clock. When clocks go forward in spring, an invocation is skipped if its cron time does not exist that day. It
  is not moved to the next valid time. When clocks go back in autumn, the schedule "runs only once" at the repeated
  time "and doesn't repeat its invocation". The docs don't say which of the two instants runs. "Doesn't repeat"
  suggests the first one (still on summer time), so that is the one used here. This also means a cron that fires
  every few minutes fires nothing during the repeated hour.
- Rates (same pages): a rate is a fixed duration, and a day is 24 hours. Each run is due one rate after the last one,
  so DST has no effect. The first run is at StartDate, or at creation time when there is no start. Creation time is
  not known here, so without a start the rate is anchored to an epoch grid: multiples of the rate since
  1970-01-01T00:00Z, so rate(6 hours) fires at 00, 06, 12 and 18 UTC. This is a Sluice convention; the real schedule
  runs in step with its creation time. Also note that infra/constructs/schedules.py drops a start date that has
  already passed at deploy time. For such a rate, the real schedule runs in step with its deploy time, not its start.
- StartDate and EndDate (https://docs.aws.amazon.com/scheduler/latest/APIReference/API_CreateSchedule.html): the
  start is "the date ... after which the schedule can begin invoking its target", and "invocations might occur on, or
  after" it. So the start is inclusive. The end is "the date ... before which the schedule can invoke its target", so
  the end is exclusive here: a time equal to the end does not fire. If a start or end has no time zone, it is read in
  the schedule's time zone, and a date means midnight of that day, as infra/constructs/schedules.py does.
- fire_times and next_times give an expression's times whether or not the schedule is `enabled`. The pipeline-level
  functions skip disabled schedules unless `include_disabled` is set.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from itertools import islice
from typing import NamedTuple
from zoneinfo import ZoneInfo

from .spec.pipeline import Pipeline, Schedule
from .spec.schedule_expr import CronExpr, ScheduleExprError, parse_cron, parse_rate

__all__ = ["ScheduledTime", "TooManyTimesError", "fire_times", "next_times", "pipeline_fire_times",
           "pipeline_next_times", "schedule_window"]

_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
# The cron year field stops at 2199, so no schedule ever fires after this.
_HORIZON = dt.datetime(2200, 1, 1, tzinfo=dt.UTC)
_TICK = dt.timedelta(microseconds=1)  # the smallest step between datetimes: turns "before end" into "<= end - tick"
_MINUTE = dt.timedelta(minutes=1)
# CronExpr.next_after stops looking after 5 years without a match. Searching resumes past that point.
_CRON_GAP = dt.timedelta(days=5 * 365)
_MAX_BATCH = 512


class TooManyTimesError(ValueError):
    """More fire times than the caller's limit: a backfill over years of a 1-minute rate must not build them all."""

    def __init__(self, what: str, count: int | None, limit: int, *, exact: bool = True) -> None:
        self.count, self.limit, self.exact = count, limit, exact
        how_many = f"more than {limit:,}" if count is None else f"{'' if exact else 'about '}{count:,}"
        super().__init__(f"{what} fires {how_many} times in that range, more than the limit of {limit:,}; "
                         f"ask for a shorter range")


class ScheduledTime(NamedTuple):
    """A fire time and the index (in pipeline.schedules) of the schedule that fires then; its params are the run's."""

    time: dt.datetime
    schedule: int


def schedule_window(schedule: Schedule) -> tuple[dt.datetime | None, dt.datetime | None]:
    """The schedule's start (inclusive) and end (exclusive) as aware UTC datetimes, None where not set."""
    return _instant(schedule.start, schedule.timezone), _instant(schedule.end, schedule.timezone)


def fire_times(schedule: Schedule, since: dt.datetime, until: dt.datetime, *,
               limit: int | None = None) -> list[dt.datetime]:
    """Every time `schedule` fires in [since, until] (both inclusive, aware) within its start/end, ascending, UTC.

    Raises TooManyTimesError when `limit` is given and there are more times than that.
    """
    window = _window(schedule, _utc(since, "since"), _utc(until, "until"))
    if window is None:
        return []
    lo, hi = window
    times, known = _times(schedule, lo, hi)
    if limit is None:
        return list(times)
    if known is not None and known > limit:
        raise TooManyTimesError(f"schedule {schedule.expression}", known, limit)
    found = list(islice(times, limit + 1))
    if len(found) > limit:
        # Counting a cron's times exactly would mean producing them all. Estimate from the pace of the first ones.
        covered = found[-1] - lo
        estimate = round(len(found) * ((hi - lo) / covered)) if covered else None
        raise TooManyTimesError(f"schedule {schedule.expression}", estimate, limit, exact=False)
    return found


def next_times(schedule: Schedule, after: dt.datetime, count: int) -> list[dt.datetime]:
    """The next `count` times `schedule` fires strictly after `after` (aware), UTC; fewer when its end comes first."""
    if count < 0:
        raise ValueError(f"count must be 0 or more, got {count}")
    window = _window(schedule, _utc(after, "after") + _TICK, _HORIZON)
    if window is None or count == 0:
        return []
    return list(islice(_times(schedule, *window)[0], count))


def pipeline_fire_times(pipeline: Pipeline, since: dt.datetime, until: dt.datetime, *, limit: int | None = None,
                        include_disabled: bool = False) -> list[ScheduledTime]:
    """The fire times of all the pipeline's schedules in [since, until], merged, ascending.

    Each time is tagged with the schedule that fires then. If two schedules fire at the same instant, that time
    appears once, tagged with the lower index. `limit` applies to each schedule and to the merged list.
    """
    merged: dict[dt.datetime, int] = {}
    for index, schedule in _schedules(pipeline, include_disabled):
        for time in fire_times(schedule, since, until, limit=limit):
            merged.setdefault(time, index)
    if limit is not None and len(merged) > limit:
        raise TooManyTimesError(f"pipeline {pipeline.name}", len(merged), limit)
    return [ScheduledTime(time, index) for time, index in sorted(merged.items())]


def pipeline_next_times(pipeline: Pipeline, after: dt.datetime, count: int, *,
                        include_disabled: bool = False) -> list[ScheduledTime]:
    """The pipeline's next `count` fire times strictly after `after`, merged as pipeline_fire_times does."""
    merged: dict[dt.datetime, int] = {}
    for index, schedule in _schedules(pipeline, include_disabled):
        for time in next_times(schedule, after, count):
            merged.setdefault(time, index)
    return [ScheduledTime(time, index) for time, index in sorted(merged.items())[:count]]


def _schedules(pipeline: Pipeline, include_disabled: bool) -> Iterator[tuple[int, Schedule]]:
    return ((i, s) for i, s in enumerate(pipeline.schedules) if s.enabled or include_disabled)


def _instant(value: dt.datetime | dt.date | None, timezone: str) -> dt.datetime | None:
    # infra/constructs/schedules.py reads start and end through schedule_window too: the deployed dates are these.
    if value is None:
        return None
    if not isinstance(value, dt.datetime):
        value = dt.datetime.combine(value, dt.time())
    if value.tzinfo is None:
        value = value.replace(tzinfo=ZoneInfo(timezone))
    return value.astimezone(dt.UTC)


def _utc(value: dt.datetime, name: str) -> dt.datetime:
    if value.tzinfo is None or value.utcoffset() is None:
        # A naive time could be UTC or the schedule's zone. Refusing it is safer than picking the wrong one.
        raise ValueError(f"'{name}' must be a timezone-aware datetime, got naive {value.isoformat()}")
    return value.astimezone(dt.UTC)


def _window(schedule: Schedule, since: dt.datetime, until: dt.datetime) -> tuple[dt.datetime, dt.datetime] | None:
    start, end = schedule_window(schedule)
    lo = since if start is None else max(since, start)
    hi = until if end is None else min(until, end - _TICK)
    return (lo, hi) if lo <= hi else None


def _times(schedule: Schedule, lo: dt.datetime, hi: dt.datetime) -> tuple[Iterator[dt.datetime], int | None]:
    # The times lazily, and how many there are when that is known without producing them (a rate's arithmetic).
    if schedule.rate is not None:
        step = dt.timedelta(seconds=parse_rate(schedule.rate).seconds)
        anchor = schedule_window(schedule)[0] or _EPOCH
        # Fire times are anchor + k * step. k runs from ceil((lo - anchor) / step) to floor((hi - anchor) / step).
        steps = range(-((anchor - lo) // step), (hi - anchor) // step + 1)
        return (anchor + k * step for k in steps), len(steps)
    return _cron_times(parse_cron(schedule.expression), ZoneInfo(schedule.timezone), lo, hi), None


def _cron_times(cron: CronExpr, zone: ZoneInfo, lo: dt.datetime, hi: dt.datetime) -> Iterator[dt.datetime]:
    # Skipped gap times aside, and with the first of each repeated time, later wall times are later instants. So the
    # UTC times come out ascending, and the first one past `hi` ends the search.
    after = lo.astimezone(zone).replace(tzinfo=None, fold=0) - _MINUTE
    stop = hi.astimezone(zone).replace(tzinfo=None) + dt.timedelta(days=1)
    for wall in _wall_times(cron, after, stop):
        moment = _fires_at(wall, zone)
        if moment is None or moment < lo:
            continue
        if moment > hi:
            return
        yield moment


def _wall_times(cron: CronExpr, after: dt.datetime, stop: dt.datetime) -> Iterator[dt.datetime]:
    size = 8  # Starts small so a yearly cron doesn't scan centuries just to show three times. Grows after each batch.
    while after < stop:
        try:
            found = cron.next_after(after, size)
        except ScheduleExprError:
            # next_after returns all `size` times or raises. Near the end of the cron's years, retry one at a time.
            # With one time and still no match, the next match (if any) is over 5 years away, so skip those years.
            if size == 1:
                after += _CRON_GAP
            size = 1
            continue
        yield from found
        after, size = found[-1], min(size * 2, _MAX_BATCH)


def _fires_at(wall: dt.datetime, zone: ZoneInfo) -> dt.datetime | None:
    # fold=0 is the first of the two instants with this wall time. Scheduler runs once then and doesn't repeat.
    moment = wall.replace(tzinfo=zone, fold=0).astimezone(dt.UTC)
    # A wall time in the spring-forward gap doesn't come back unchanged from UTC. Scheduler skips it.
    return moment if moment.astimezone(zone).replace(tzinfo=None) == wall else None
