"""The run API and hostile input: every one a 400 (or 409) problem naming the field and why, never a 500.

Requests go through the real Lambda handler (tests/support/api.py) on moto, as in test_run_api.py.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.support.api import Cloud

pytestmark = pytest.mark.moto


def _fields(body: dict[str, Any]) -> list[str]:
    return [error["field"] for error in body.get("errors", [])]


@pytest.mark.parametrize(("raw", "why"), [
    (b"[" * 30_000 + b"]" * 30_000, "nested"),
    (b'{"params": {"shuffle_partitions": ' + b"9" * 5_000 + b"}}", "digits"),
    (b'{"params": {"x": ' + b"[" * 200 + b"]" * 200 + b"}}", "nested"),
])
def test_a_body_json_cannot_parse_safely_is_a_400_naming_the_body(cloud: Cloud, raw: bytes, why: str) -> None:
    # GIVEN the run API WHEN a start or a backfill is posted with a body nested too deep or a number too long
    for path in ("/pipelines/daily-sales-etl/runs", "/pipelines/daily-sales-etl/backfill"):
        status, problem = cloud.call("POST", path, raw=raw)
        # THEN it is a 400 problem naming the body and why, and nothing started
        assert status == 400 and _fields(problem) == ["body"] and why in problem["detail"], problem
    assert cloud.executions("daily-sales-etl") == []


@pytest.mark.parametrize("moment", ["0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59-14:00", "0001-01-01",
                                    "9999-12-31"])
@pytest.mark.parametrize("field", ["since", "until"])
def test_list_bounds_at_the_ends_of_the_calendar_are_a_400(cloud: Cloud, field: str, moment: str) -> None:
    # GIVEN the run API WHEN runs are listed since or until a time at (or, in UTC, past) the calendar's ends
    status, body = cloud.call("GET", "/pipelines/daily-sales-etl/runs", query={field: [moment]})
    # THEN it is a 400 problem naming the field and saying the range accepted
    assert status == 400 and _fields(body) == [field] and "out of range" in body["detail"], body


def test_a_start_with_a_logical_date_past_the_calendar_is_a_400(cloud: Cloud) -> None:
    status, body = cloud.call("POST", "/pipelines/daily-sales-etl/runs", {"logical_date": "0001-01-01T00:00:00+14:00"})
    assert status == 400 and _fields(body) == ["logical_date"] and "out of range" in body["detail"], body
    assert cloud.executions("daily-sales-etl") == []


@pytest.mark.parametrize(("window", "field"), [
    ({"start": "2026-12-01", "end": "9999-12-31T23:59:59Z"}, "end"),
    ({"start": "9999-12-30", "end": "9999-12-31"}, "end"),
    ({"start": "0001-01-01T00:00:00+14:00", "end": "0001-01-05"}, "start"),
    ({"start": "0001-01-01", "end": "2026-01-03"}, "start"),
    ({"start": "2026-11-01", "end": "9999-12-31T23:59:59-14:00"}, "end"),
])
def test_a_backfill_at_the_ends_of_the_calendar_is_a_400_naming_the_field(cloud: Cloud, window: dict[str, str],
                                                                          field: str) -> None:
    for dry_run in (True, False):
        status, problem = cloud.call("POST", "/pipelines/daily-sales-etl/backfill", {**window, "dry_run": dry_run})
        assert status == 400 and field in _fields(problem) and "range" in problem["detail"], problem
    assert cloud.executions("daily-sales-etl") == []


def test_a_backfill_key_reused_with_another_request_is_a_409_naming_what_differs(cloud: Cloud) -> None:
    # GIVEN a backfill started with an Idempotency-Key
    key = {"Idempotency-Key": "nov-backfill"}
    first = {"start": "2026-11-02T00:00:00Z", "end": "2026-11-03T23:00:00Z"}
    status, view = cloud.call("POST", "/pipelines/daily-sales-etl/backfill", first, headers=key)
    assert status == 202
    # WHEN the same key comes with another range (and another concurrency)
    status, problem = cloud.call("POST", "/pipelines/daily-sales-etl/backfill",
                                 {**first, "end": "2026-11-09T23:00:00Z", "max_concurrent": 3}, headers=key)
    # THEN it is a 409 saying the key was used for another request, naming the fields that differ; nothing started
    assert status == 409 and "another request" in problem["detail"], problem
    assert sorted(_fields(problem)) == ["body.end", "body.max_concurrent"]
    assert len(cloud.executions("daily-sales-etl")) == 1
    # AND the same request again is the same backfill
    again = cloud.call("POST", "/pipelines/daily-sales-etl/backfill", first, headers=key)
    assert again[0] == 202 and again[1]["id"] == view["id"]


def test_a_run_key_reused_with_other_params_is_a_409_naming_what_differs(cloud: Cloud) -> None:
    # GIVEN a run started with an Idempotency-Key
    key = {"Idempotency-Key": "deploy-7"}
    assert cloud.call("POST", "/pipelines/ml-training/runs", {"params": {"model_version": "v8"}}, headers=key)[0] == 201
    # WHEN the key comes again with other params and another logical date
    status, problem = cloud.call("POST", "/pipelines/ml-training/runs",
                                 {"params": {"model_version": "v9"}, "logical_date": "2026-11-01"}, headers=key)
    # THEN 409, naming what differs, and no second run
    assert status == 409 and "another request" in problem["detail"], problem
    assert sorted(_fields(problem)) == ["body.logical_date", "body.params.model_version"]
    assert len(cloud.executions("ml-training")) == 1
