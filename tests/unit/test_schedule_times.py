"""Schedule fire times as EventBridge Scheduler computes them: time zones, DST gaps and overlaps, rates, bounds."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone
from pathlib import Path

import pytest

from sluice.schedule_times import (
    ScheduledTime,
    TooManyTimesError,
    fire_times,
    next_times,
    pipeline_fire_times,
    pipeline_next_times,
    schedule_window,
)
from sluice.spec import Pipeline, load_file
from sluice.spec.pipeline import Schedule

ROOT = Path(__file__).resolve().parents[2]


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


def pipeline(*schedules: Schedule) -> Pipeline:
    return Pipeline.model_validate({"name": "demo", "schedules": [s.model_dump() for s in schedules],
                                    "tasks": {"a": {"glue": {"job": "j"}}}})


# ---------------------------------------------------------------- cron in a time zone, across DST


def test_daily_0230_berlin_skips_the_spring_forward_day() -> None:
    # GIVEN a daily 02:30 cron in Europe/Berlin, where 02:00-03:00 does not exist on 2026-03-29
    schedule = Schedule(cron="30 2 * * ? *", timezone="Europe/Berlin")
    # WHEN its times around the change are listed
    times = fire_times(schedule, utc(2026, 3, 27), utc(2026, 3, 31, 23, 59))
    # THEN 02:30 CET is 01:30Z before, 02:30 CEST is 00:30Z after, and the day without 02:30 has no run
    assert times == [utc(2026, 3, 27, 1, 30), utc(2026, 3, 28, 1, 30), utc(2026, 3, 30, 0, 30),
                     utc(2026, 3, 31, 0, 30)]


def test_daily_0230_berlin_runs_once_on_the_fall_back_day() -> None:
    # GIVEN the same cron; on 2026-10-25 the wall clock shows 02:30 twice (00:30Z CEST, then 01:30Z CET)
    schedule = Schedule(cron="30 2 * * ? *", timezone="Europe/Berlin")
    # WHEN its times around the change are listed
    times = fire_times(schedule, utc(2026, 10, 23), utc(2026, 10, 26, 23, 59))
    # THEN the repeated time runs once, at its first occurrence (summer time), and not again at 01:30Z
    assert times == [utc(2026, 10, 23, 0, 30), utc(2026, 10, 24, 0, 30), utc(2026, 10, 25, 0, 30),
                     utc(2026, 10, 26, 1, 30)]


def test_hourly_new_york_fall_back_fires_once_in_the_repeated_hour() -> None:
    # GIVEN an hourly cron in America/New_York; on 2026-11-01 01:00-02:00 happens twice (EDT, then EST)
    schedule = Schedule(cron="0 * * * ? *", timezone="America/New_York")
    # WHEN the times from 23:00 EDT to 03:00 EST are listed
    times = fire_times(schedule, utc(2026, 11, 1, 3), utc(2026, 11, 1, 8))
    # THEN 01:00 fires at 05:00Z (EDT) only; 06:00Z (01:00 EST, the repeat) does not fire
    assert times == [utc(2026, 11, 1, 3), utc(2026, 11, 1, 4), utc(2026, 11, 1, 5), utc(2026, 11, 1, 7),
                     utc(2026, 11, 1, 8)]


def test_hourly_new_york_spring_forward_loses_the_missing_hour_only() -> None:
    # GIVEN an hourly cron in America/New_York; on 2026-03-08 02:00-03:00 does not exist
    schedule = Schedule(cron="0 * * * ? *", timezone="America/New_York")
    # WHEN the times from 00:00 EST to 04:00 EDT are listed
    times = fire_times(schedule, utc(2026, 3, 8, 5), utc(2026, 3, 8, 8))
    # THEN 01:00 EST (06:00Z) is followed by 03:00 EDT (07:00Z): the wall clock skips 02:00, UTC has no gap
    assert times == [utc(2026, 3, 8, 5), utc(2026, 3, 8, 6), utc(2026, 3, 8, 7), utc(2026, 3, 8, 8)]


def test_daily_0500_berlin_week_straddling_dst_lists_every_logical_date() -> None:
    # GIVEN a daily 05:00 cron in Europe/Berlin, which exists every day, and a week across 2026-03-29
    schedule = Schedule(cron="0 5 * * ? *", timezone="Europe/Berlin")
    # WHEN the week's logical dates are listed
    times = fire_times(schedule, utc(2026, 3, 26), utc(2026, 4, 1, 23, 59))
    # THEN there is one per day: 04:00Z under CET, 03:00Z under CEST from the change day on
    assert [t.isoformat() for t in times] == [
        "2026-03-26T04:00:00+00:00", "2026-03-27T04:00:00+00:00", "2026-03-28T04:00:00+00:00",
        "2026-03-29T03:00:00+00:00", "2026-03-30T03:00:00+00:00", "2026-03-31T03:00:00+00:00",
        "2026-04-01T03:00:00+00:00"]
    assert all(t.tzinfo is UTC for t in times)


# ---------------------------------------------------------------- rates


def test_rate_with_start_is_anchored_at_the_start_and_ignores_dst() -> None:
    # GIVEN rate(6 hours) starting 2026-03-28 10:00 Berlin time (09:00Z), the day before DST begins
    schedule = Schedule(rate="6 hours", timezone="Europe/Berlin", start=datetime(2026, 3, 28, 10))
    # WHEN the times from midnight to the next midday are listed
    times = fire_times(schedule, utc(2026, 3, 28), utc(2026, 3, 29, 12))
    # THEN they start at the start and are exactly 6 hours apart in UTC across the change
    assert times == [utc(2026, 3, 28, 9), utc(2026, 3, 28, 15), utc(2026, 3, 28, 21), utc(2026, 3, 29, 3),
                     utc(2026, 3, 29, 9)]


def test_rate_without_start_follows_the_epoch_grid() -> None:
    # GIVEN rate(6 hours) and rate(7 minutes) without a start
    six_hours, seven_minutes = Schedule(rate="6 hours"), Schedule(rate="7 minutes")
    # WHEN times are listed from an instant off the grid
    # THEN they are multiples of the rate since 1970-01-01T00:00Z
    assert fire_times(six_hours, utc(2026, 5, 1, 1), utc(2026, 5, 1, 23)) == [
        utc(2026, 5, 1, 6), utc(2026, 5, 1, 12), utc(2026, 5, 1, 18)]
    times = fire_times(seven_minutes, utc(2026, 5, 1, 0, 0), utc(2026, 5, 1, 0, 30))
    assert times == [utc(2026, 5, 1, 0, 2), utc(2026, 5, 1, 0, 9), utc(2026, 5, 1, 0, 16), utc(2026, 5, 1, 0, 23),
                     utc(2026, 5, 1, 0, 30)]
    assert all((t - utc(1970, 1, 1)) % timedelta(minutes=7) == timedelta(0) for t in times)


# ---------------------------------------------------------------- bounds and limits


def test_start_is_inclusive_end_is_exclusive_and_dates_mean_local_midnight() -> None:
    # GIVEN a daily midnight cron in Berlin from 2026-04-01 until 2026-04-04 (dates, so Berlin midnights)
    schedule = Schedule(cron="0 0 * * ? *", timezone="Europe/Berlin", start=date(2026, 4, 1), end=date(2026, 4, 4))
    # WHEN a wider range is asked for
    times = fire_times(schedule, utc(2026, 3, 1), utc(2026, 5, 1))
    # THEN the run at the start fires, the one at the end does not (22:00Z is Berlin midnight in summer)
    assert schedule_window(schedule) == (utc(2026, 3, 31, 22), utc(2026, 4, 3, 22))
    assert times == [utc(2026, 3, 31, 22), utc(2026, 4, 1, 22), utc(2026, 4, 2, 22)]


def test_aware_start_and_end_keep_their_own_offset() -> None:
    # GIVEN a start written with an offset, in a schedule whose zone is another one
    schedule = Schedule(rate="1 hour", timezone="Asia/Tokyo", start=datetime(2026, 1, 1, 12, tzinfo=UTC),
                        end=datetime(2026, 1, 1, 15, tzinfo=timezone(timedelta(hours=1))))
    # WHEN its times are listed
    # THEN the offsets given win over the schedule's zone; the end (14:00Z) is exclusive
    assert fire_times(schedule, utc(2026, 1, 1), utc(2026, 1, 2)) == [utc(2026, 1, 1, 12), utc(2026, 1, 1, 13)]


def test_inclusive_range_and_empty_cases() -> None:
    # GIVEN an hourly UTC cron
    schedule = Schedule(cron="0 * * * ? *")
    # WHEN the range ends on fire times, is reversed, or lies after the schedule's end
    # THEN both ends count, a reversed range gives [], and so does a range past the end
    assert fire_times(schedule, utc(2026, 1, 1, 1), utc(2026, 1, 1, 3)) == [
        utc(2026, 1, 1, 1), utc(2026, 1, 1, 2), utc(2026, 1, 1, 3)]
    assert fire_times(schedule, utc(2026, 1, 2), utc(2026, 1, 1)) == []
    ended = Schedule(cron="0 * * * ? *", end=date(2026, 1, 1))
    assert fire_times(ended, utc(2026, 1, 1), utc(2026, 1, 2)) == []


def test_naive_range_is_refused() -> None:
    # GIVEN a schedule WHEN asked with a naive datetime THEN it says which argument must be aware
    with pytest.raises(ValueError, match="'since' must be a timezone-aware datetime"):
        fire_times(Schedule(rate="1 hour"), datetime(2026, 1, 1), utc(2026, 1, 2))


def test_limit_exceeded_on_a_rate_states_the_exact_count() -> None:
    # GIVEN rate(1 minute) over one day, both ends included: 1441 times
    schedule = Schedule(rate="1 minute")
    # WHEN the limit is 1441 it passes; at 1440 it raises, with both numbers
    assert len(fire_times(schedule, utc(2026, 1, 1), utc(2026, 1, 2), limit=1441)) == 1441
    with pytest.raises(TooManyTimesError, match=r"rate\(1 minute\) fires 1,441 times .* limit of 1,440") as caught:
        fire_times(schedule, utc(2026, 1, 1), utc(2026, 1, 2), limit=1440)
    assert (caught.value.count, caught.value.limit, caught.value.exact) == (1441, 1440, True)


def test_limit_exceeded_on_years_of_a_minute_cron_fails_fast_with_an_estimate() -> None:
    # GIVEN an every-minute cron over ten years (about 5.3 million times)
    schedule = Schedule(cron="* * * * ? *")
    # WHEN a backfill asks with a limit of 1000
    with pytest.raises(TooManyTimesError, match="limit of 1,000") as caught:
        fire_times(schedule, utc(2020, 1, 1), utc(2030, 1, 1), limit=1000)
    # THEN it stops early and estimates the total
    assert caught.value.exact is False
    assert caught.value.count is not None and 5_000_000 < caught.value.count < 5_600_000
    assert "about" in str(caught.value) and isinstance(caught.value, ValueError)


# ---------------------------------------------------------------- next times


def test_next_times_from_an_instant_skip_the_dst_gap() -> None:
    # GIVEN the daily 02:30 Berlin cron and an instant that is itself a fire time
    schedule = Schedule(cron="30 2 * * ? *", timezone="Europe/Berlin")
    # WHEN the next three are asked for
    # THEN they are strictly after it, and 2026-03-29 (no 02:30 that day) is skipped
    assert next_times(schedule, utc(2026, 3, 27, 1, 30), 3) == [
        utc(2026, 3, 28, 1, 30), utc(2026, 3, 30, 0, 30), utc(2026, 3, 31, 0, 30)]


def test_next_times_stop_at_the_end_and_at_the_last_cron_year() -> None:
    # GIVEN a rate that ends, and a cron limited to two years
    ending = Schedule(rate="1 day", start=datetime(2026, 1, 1, 6), end=datetime(2026, 1, 3, 6))
    yearly = Schedule(cron="0 0 1 1 ? 2026-2027")
    # WHEN more times are asked for than remain
    # THEN only the remaining ones come back
    assert next_times(ending, utc(2025, 6, 1), 5) == [utc(2026, 1, 1, 6), utc(2026, 1, 2, 6)]
    assert next_times(yearly, utc(2025, 6, 1), 5) == [utc(2026, 1, 1), utc(2027, 1, 1)]
    assert next_times(yearly, utc(2027, 1, 1), 5) == []


# ---------------------------------------------------------------- pipelines


def test_pipeline_times_are_merged_deduplicated_and_tagged() -> None:
    # GIVEN a pipeline with a daily 06:00Z cron, a 12-hour rate (00Z, 12Z) with params, and a disabled one
    demo = pipeline(Schedule(cron="0 6 * * ? *"), Schedule(rate="12 hours", params={"mode": "fast"}),
                    Schedule(cron="0 0 * * ? *", enabled=False))
    # WHEN a day's times are listed
    times = pipeline_fire_times(demo, utc(2026, 1, 1), utc(2026, 1, 1, 23))
    # THEN they are sorted, tagged with the schedule that fires, and the disabled one only counts when asked
    assert times == [ScheduledTime(utc(2026, 1, 1, 0), 1), ScheduledTime(utc(2026, 1, 1, 6), 0),
                     ScheduledTime(utc(2026, 1, 1, 12), 1)]
    assert demo.schedules[times[0].schedule].params == {"mode": "fast"}
    # AND an instant two schedules share appears once, with the lower index
    both = pipeline_fire_times(demo, utc(2026, 1, 1), utc(2026, 1, 1), include_disabled=True)
    assert both == [ScheduledTime(utc(2026, 1, 1), 1)]
    assert pipeline_next_times(demo, utc(2026, 1, 1), 2) == [ScheduledTime(utc(2026, 1, 1, 6), 0),
                                                             ScheduledTime(utc(2026, 1, 1, 12), 1)]
    with pytest.raises(TooManyTimesError, match="pipeline demo fires 3 times"):
        pipeline_fire_times(demo, utc(2026, 1, 1), utc(2026, 1, 1, 23), limit=2)


def test_real_pipeline_file_daily_sales_etl() -> None:
    # GIVEN pipelines/daily-sales-etl.yaml: cron "30 2 * * *" in Europe/Berlin from 2026-01-01
    loaded, problems = load_file(ROOT / "pipelines" / "daily-sales-etl.yaml")
    assert loaded is not None, problems
    # WHEN its logical dates around the start and around the spring-forward day are listed
    first = pipeline_fire_times(loaded, utc(2025, 12, 30), utc(2026, 1, 2, 12))
    spring = pipeline_fire_times(loaded, utc(2026, 3, 28), utc(2026, 3, 30, 12))
    # THEN nothing fires before the start (2025-12-31T23:00Z), and no run has 2026-03-29 as its logical date
    assert first == [ScheduledTime(utc(2026, 1, 1, 1, 30), 0), ScheduledTime(utc(2026, 1, 2, 1, 30), 0)]
    assert [t.time for t in spring] == [utc(2026, 3, 28, 1, 30), utc(2026, 3, 30, 0, 30)]

