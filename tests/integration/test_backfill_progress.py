"""A backfill whose next StartExecution fails, and a backfill's expiry: through the run API and the record function.

Requests go through the real Lambda handler (tests/support/api.py) on moto; run ends reach the record function as
their EventBridge events would.
"""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import ClientError

from functions.adapters.clock import expiry
from functions.adapters.dynamo import from_item, to_item
from tests.support.api import Cloud

pytestmark = pytest.mark.moto

PATH = "/pipelines/daily-sales-etl/backfill"
THREE_DAYS = {"start": "2026-11-02T00:00:00Z", "end": "2026-11-04T23:00:00Z", "mode": "all"}


def _failing_starts(cloud: Cloud, times: int) -> list[str]:
    """The next `times` StartExecution calls of backfills fail as a throttled Step Functions would; which failed."""
    starts, failed = cloud.rt.backfills.starts, []
    original = starts.start

    def start(pipeline: str, name: str, run_input: dict[str, Any]) -> Any:
        if len(failed) < times:
            failed.append(run_input["logical_date"])
            raise ClientError({"Error": {"Code": "ThrottlingException", "Message": "Rate exceeded"}},
                              "StartExecution")
        return original(pipeline, name, run_input)

    starts.start = start  # type: ignore[method-assign]
    return failed


def _dates(cloud: Cloud, backfill_id: str) -> dict[str, dict[str, Any]]:
    view = cloud.call("GET", f"/backfills/{backfill_id}")[1]
    return {d["logical_date"]: d for d in view["dates"]}


def _running(cloud: Cloud) -> list[str]:
    return [e["executionArn"] for e in cloud.executions("daily-sales-etl") if e["status"] == "RUNNING"]


def test_a_failed_next_start_is_recorded_and_retried_by_a_repeated_post(cloud: Cloud) -> None:
    # GIVEN a backfill of three dates, one at a time
    key = {"Idempotency-Key": "retry-post"}
    view = cloud.call("POST", PATH, THREE_DAYS, headers=key)[1]
    first = _running(cloud)
    assert len(first) == 1
    # WHEN its run ends and the next date's StartExecution fails
    failed = _failing_starts(cloud, 1)
    assert cloud.finish(first[0]) == "SUCCEEDED"
    # THEN the run's end is recorded all the same (not left RUNNING) and the date's failed start is on the backfill
    run = cloud.call("GET", f"/runs/daily-sales-etl:{first[0].rsplit(':', 1)[1]}")[1]
    assert run["status"] == "SUCCEEDED" and run["ended_at"]
    date = _dates(cloud, view["id"])[failed[0]]
    assert date["status"] == "START_FAILED" and "ThrottlingException" in date["error"]
    # AND the same POST again (same key) retries it: the date runs, and the backfill goes on to its end
    again = cloud.call("POST", PATH, THREE_DAYS, headers=key)
    assert again[0] == 202 and again[1]["id"] == view["id"]
    assert _dates(cloud, view["id"])[failed[0]]["error"] is None and len(_running(cloud)) == 1
    while _running(cloud):
        cloud.finish(_running(cloud)[0])
    final = cloud.call("GET", f"/backfills/{view['id']}")[1]
    assert final["status"] == "DONE" and {d["status"] for d in final["dates"]} == {"SUCCEEDED"}


def test_a_failed_start_is_retried_by_the_next_run_end_and_by_the_periodic_retry(cloud: Cloud) -> None:
    # GIVEN a backfill of three dates, two at a time, whose third date fails to start when the first run ends
    view = cloud.call("POST", PATH, {**THREE_DAYS, "max_concurrent": 2})[1]
    first, second = sorted(_running(cloud))
    failed = _failing_starts(cloud, 2)
    cloud.finish(first)
    assert _dates(cloud, view["id"])[failed[0]]["status"] == "START_FAILED"
    # WHEN a periodic retry fails again THEN the new error is kept
    assert cloud.rt.backfills.retry_failed_starts() == {view["id"]: 0}
    assert _dates(cloud, view["id"])[failed[0]]["status"] == "START_FAILED"
    # WHEN the other run ends THEN its end retries the failed date, which now runs
    cloud.finish(second)
    assert _dates(cloud, view["id"])[failed[0]]["status"] in ("STARTING", "RUNNING") and len(_running(cloud)) == 1
    assert cloud.rt.backfills.retry_failed_starts() == {}  # nothing left to retry
    cloud.finish(_running(cloud)[0])
    assert cloud.call("GET", f"/backfills/{view['id']}")[1]["status"] == "DONE"


def test_the_periodic_retry_starts_a_date_no_run_end_will(cloud: Cloud) -> None:
    # GIVEN a backfill of two dates, one at a time, whose second date fails to start: no run is left to end
    cloud.call("POST", PATH, {**THREE_DAYS, "end": "2026-11-03T23:00:00Z"})
    _failing_starts(cloud, 1)
    cloud.finish(_running(cloud)[0])
    assert _running(cloud) == []
    # WHEN the scheduled sweep runs THEN it retries the start, and the date runs
    assert cloud.rt.sweeper.sweep().backfill_starts == 1
    assert len(_running(cloud)) == 1


def test_every_write_to_a_backfill_refreshes_its_expiry(cloud: Cloud) -> None:
    # GIVEN a backfill created now
    view = cloud.call("POST", PATH, THREE_DAYS)[1]
    days = cloud.rt.settings.record_ttl_days

    def expires_at() -> int:
        found = cloud.rt.clients("dynamodb").get_item(TableName=cloud.rt.settings.table_name,
                                                      Key=to_item({"pk": f"BACKFILL#{view['id']}", "sk": "BACKFILL"}))
        return int(from_item(found["Item"])["expires_at"])

    # WHEN it progresses 80 days later (a run ends, the next date starts)
    later = "2027-02-01T00:00:00.000Z"
    cloud.rt.backfills.clock = lambda: later
    cloud.finish(_running(cloud)[0])
    # THEN its expiry is RECORD_TTL_DAYS from then, not from its creation
    assert expires_at() == expiry(later, days)
    # AND so does a failed start's record, 10 days after that
    _failing_starts(cloud, 1)
    latest = "2027-02-11T00:00:00.000Z"
    cloud.rt.backfills.clock = lambda: latest
    cloud.finish(_running(cloud)[0])
    assert expires_at() == expiry(latest, days)


def test_a_sweep_whose_backfill_retry_fails_still_reports_and_tries_again_next_time(cloud: Cloud) -> None:
    # GIVEN a backfill date whose start failed, and a periodic retry whose read of the table is throttled once
    view = cloud.call("POST", PATH, {**THREE_DAYS, "end": "2026-11-03T23:00:00Z"})[1]
    _failing_starts(cloud, 1)
    cloud.finish(_running(cloud)[0])
    backfills, original = cloud.rt.backfills, cloud.rt.backfills.retry_failed_starts
    calls = []

    def throttled_once() -> dict[str, int]:
        calls.append(1)
        if len(calls) == 1:
            raise ClientError({"Error": {"Code": "ThrottlingException", "Message": "Rate exceeded"}}, "Query")
        return original()

    backfills.retry_failed_starts = throttled_once  # type: ignore[method-assign]
    # WHEN the sweep runs THEN it ends with the error reported, nothing started, the date still failed
    report = cloud.rt.sweeper.sweep()
    assert report.backfill_starts == 0 and any("ThrottlingException" in e for e in report.errors)
    assert _running(cloud) == [] and cloud.call("GET", f"/backfills/{view['id']}")[1]["status"] != "DONE"
    # AND the next sweep starts the date
    assert cloud.rt.sweeper.sweep().backfill_starts == 1 and len(_running(cloud)) == 1
