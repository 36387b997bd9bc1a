"""The run API's handler on moto: every endpoint and its errors, idempotency, resume and backfill.

Requests go through the real Lambda handler as API Gateway proxy events (sluice/local/http_bridge.proxy_event);
executions run in moto's Step Functions with the real dispatcher and a fake job service; execution ends reach the
record function as its EventBridge events would.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import threading
import time
from typing import Any

import pytest

from functions.adapters.tokens import TokenGoneError
from tests.support.api import WHO, Cloud

pytestmark = pytest.mark.moto


def problem_fields(body: dict[str, Any]) -> list[str]:
    return [error["field"] for error in body.get("errors", [])]


# ---- pipelines -------------------------------------------------------------------------------------------------

def test_pipelines_are_listed_and_described_with_their_next_scheduled_runs(cloud: Cloud) -> None:
    status, body = cloud.call("GET", "/pipelines")
    assert status == 200 and {"daily-sales-etl", "ml-training", "needs-day"} <= {p["name"] for p in body["pipelines"]}
    status, body = cloud.call("GET", "/pipelines/daily-sales-etl")
    assert status == 200 and body["params"]["shuffle_partitions"] == {
        "type": "int", "required": False, "default": 200, "description": None, "allowed": None}
    # 02:30 in Berlin, five times, each given in UTC and in the schedule's own zone
    assert len(body["next_runs"]) == 5
    assert all(run["local"][11:16] == "02:30" and run["local"].endswith(("+01:00", "+02:00"))
               for run in body["next_runs"])
    assert {t["name"] for t in body["task_list"]} >= {"extract_orders", "load_warehouse"}


@pytest.mark.parametrize(("method", "path", "status"), [
    ("GET", "/pipelines/nope", 404), ("GET", "/pipelines/Not_A_Name", 400), ("GET", "/nowhere", 404),
    ("POST", "/pipelines/nope/runs", 404), ("GET", "/runs/nope:run-1", 404), ("GET", "/runs/garbage", 400),
    ("GET", "/backfills/0123456789abcdef", 404),
])
def test_unknown_things_are_problem_details_never_a_server_error(cloud: Cloud, method: str, path: str,
                                                                 status: int) -> None:
    got, body = cloud.call(method, path, {} if method == "POST" else None)
    assert got == status and body["status"] == status and body["title"] and body["detail"]


# ---- starting runs ---------------------------------------------------------------------------------------------

def test_a_run_starts_with_typed_params_and_is_recorded_and_shown(cloud: Cloud) -> None:
    status, started = cloud.call("POST", "/pipelines/daily-sales-etl/runs", {
        "params": {"shuffle_partitions": "64"}, "logical_date": "2026-11-27", "reason": "late data"})
    assert status == 201 and started["created"] is True and started["params"] == {"shuffle_partitions": 64}
    assert started["logical_date"] == "2026-11-27T00:00:00Z" and started["trigger"]["by"] == WHO
    assert cloud.finish(started["execution_arn"]) == "SUCCEEDED"
    status, run = cloud.call("GET", f"/runs/{started['id']}")
    assert status == 200 and run["status"] == "SUCCEEDED" and run["params"] == {"shuffle_partitions": 64}
    tasks = {t["name"]: t for t in run["tasks"]}
    assert tasks["extract_orders"]["status"] == "SUCCEEDED" and tasks["extract_orders"]["attempts"][0]["external_id"]
    assert run["cost"]["total_usd"] > 0 and run["links"]["console"].startswith("https://eu-west-1.console")
    # the same run by its execution ARN
    assert cloud.call("GET", f"/runs/{started['execution_arn']}")[1]["id"] == started["id"]


@pytest.mark.parametrize(("body", "fields"), [
    ({"params": {"shuffle_partitions": "many"}}, ["params.shuffle_partitions"]),
    ({"params": {"nope": 1}}, ["params.nope"]),
    ({"logical_date": "yesterday"}, ["logical_date"]),
    ({"params": [1, 2]}, ["body.params"]),
    ({"unknown": True}, ["body.unknown"]),
    ({"reason": "x" * 501}, ["body.reason"]),
])
def test_a_bad_start_is_a_400_naming_the_field(cloud: Cloud, body: dict[str, Any], fields: list[str]) -> None:
    status, problem = cloud.call("POST", "/pipelines/daily-sales-etl/runs", body)
    assert status == 400 and problem_fields(problem) == fields, problem
    assert cloud.executions("daily-sales-etl") == []


def test_a_missing_required_param_an_unparsable_body_and_an_oversize_body_are_refused(cloud: Cloud) -> None:
    status, problem = cloud.call("POST", "/pipelines/needs-day/runs", {})
    assert status == 400 and problem_fields(problem) == ["params.day"]
    status, problem = cloud.call("POST", "/pipelines/daily-sales-etl/runs", raw=b"{not json")
    assert status == 400
    status, problem = cloud.call("POST", "/pipelines/daily-sales-etl/runs", {"reason": "x" * 70_000})
    assert status == 413 and "65,536" in problem["detail"]
    assert cloud.executions("daily-sales-etl") == []


def test_an_idempotency_key_makes_a_repeated_start_the_same_run(cloud: Cloud) -> None:
    key = {"Idempotency-Key": "deploy-2026-11-29"}
    first = cloud.call("POST", "/pipelines/ml-training/runs", {"params": {"model_version": "v8"}}, headers=key)
    again = cloud.call("POST", "/pipelines/ml-training/runs", {"params": {"model_version": "v8"}}, headers=key)
    assert first[0] == again[0] == 201 and first[1]["id"] == again[1]["id"]
    assert (first[1]["created"], again[1]["created"]) == (True, False)
    assert len(cloud.executions("ml-training")) == 1
    # the same key with another body is a conflict, and starts nothing
    status, problem = cloud.call("POST", "/pipelines/ml-training/runs", {"params": {"model_version": "v9"}},
                                 headers=key)
    assert status == 409 and "different" in problem["detail"] and len(cloud.executions("ml-training")) == 1
    # a malformed key is a 400
    status, problem = cloud.call("POST", "/pipelines/ml-training/runs", {}, headers={"Idempotency-Key": "a b"})
    assert status == 400 and problem_fields(problem) == ["header.idempotency-key"]


def test_concurrent_duplicates_start_exactly_one_run(cloud: Cloud) -> None:
    answers: list[tuple[int, Any]] = []

    def post() -> None:
        answers.append(cloud.call("POST", "/pipelines/marketing-attribution/runs", {},
                                  headers={"Idempotency-Key": "burst"}))

    threads = [threading.Thread(target=post) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    ids = {body["id"] for status, body in answers if status == 201}
    assert len(ids) == 1 and {status for status, _ in answers} <= {201, 409}
    assert len(cloud.executions("marketing-attribution")) == 1


def test_without_a_key_each_start_is_a_new_run(cloud: Cloud) -> None:
    a = cloud.call("POST", "/pipelines/ml-training/runs", {})[1]
    b = cloud.call("POST", "/pipelines/ml-training/runs", {})[1]
    assert a["id"] != b["id"] and len(cloud.executions("ml-training")) == 2


# ---- listing ---------------------------------------------------------------------------------------------------

def test_runs_are_listed_newest_first_filtered_and_paginated(cloud: Cloud) -> None:
    arns = []
    for day in ("2026-11-01", "2026-11-02", "2026-11-03"):
        started = cloud.call("POST", "/pipelines/daily-sales-etl/runs", {"logical_date": day})[1]
        arns.append(started["execution_arn"])
        cloud.finish(started["execution_arn"], fail={"load_warehouse": 99} if day == "2026-11-02" else None)
    status, page = cloud.call("GET", "/pipelines/daily-sales-etl/runs", query={"limit": ["2"]})
    assert status == 200 and [r["execution_arn"] for r in page["runs"]] == arns[::-1][:2] and page["next_token"]
    rest = cloud.call("GET", "/pipelines/daily-sales-etl/runs", query={"limit": ["2"],
                                                                       "next_token": [page["next_token"]]})[1]
    assert [r["execution_arn"] for r in rest["runs"]] == arns[:1] and rest["next_token"] is None
    today = dt.datetime.now(dt.UTC)
    by_day = cloud.call("GET", "/pipelines/daily-sales-etl/runs", query={"until": [f"{today:%Y-%m-%d}"]})[1]
    assert len(by_day["runs"]) == 3  # a date alone means the whole day
    later = cloud.call("GET", "/pipelines/daily-sales-etl/runs",
                       query={"since": [f"{today + dt.timedelta(hours=1):%Y-%m-%dT%H:%M:%S}+02:00"]})[1]
    assert len(later["runs"]) == 3  # an offset is honoured: that is an hour ago, in UTC
    assert cloud.call("GET", "/pipelines/daily-sales-etl/runs",
                      query={"since": [f"{today + dt.timedelta(days=1):%Y-%m-%d}"]})[1]["runs"] == []
    failed = cloud.call("GET", "/pipelines/daily-sales-etl/runs", query={"status": ["FAILED"]})[1]
    assert [r["execution_arn"] for r in failed["runs"]] == [arns[1]]
    assert failed["runs"][0]["cost_usd"] > 0
    for query, field in (({"limit": ["0"]}, "query.limit"), ({"status": ["WEIRD"]}, "query.status"),
                         ({"next_token": ["bm90IG1pbmU="]}, "next_token"), ({"since": ["soon"]}, "since")):
        status, problem = cloud.call("GET", "/pipelines/daily-sales-etl/runs", query=query)
        assert status == 400 and problem_fields(problem) == [field], problem


# ---- cancel and resume -----------------------------------------------------------------------------------------

def _running_job(cloud: Cloud, arn: str) -> None:
    deadline = time.monotonic() + 30
    while not any(a.status == "RUNNING" for a in cloud.rt.store.load(arn).attempts):
        assert time.monotonic() < deadline, "no job started"
        time.sleep(0.02)


def test_cancel_stops_the_execution_and_its_jobs_and_records_who_and_why(cloud: Cloud) -> None:
    started = cloud.call("POST", "/pipelines/ml-training/runs", {})[1]
    _running_job(cloud, started["execution_arn"])
    status, body = cloud.call("POST", f"/runs/{started['id']}/cancel", {"reason": "wrong model version"})
    assert status == 202 and body["jobs_stopped"] >= 1 and body["cancelled_by"] == WHO
    assert cloud.jobs.stopped  # the job itself, not only the execution
    # Step Functions ends a stopped execution at once, ABORTED; moto's interpreter waits for the token's answer
    # and then reports the run FAILED: answer it, and deliver the end event Step Functions would send
    for attempt in cloud.rt.store.load(started["execution_arn"]).attempts:
        with contextlib.suppress(TokenGoneError):
            cloud.rt.tokens.fail(attempt.token, "Sluice.Cancelled", "stopped")
    cloud.settle(started["execution_arn"])
    cloud.record(started["execution_arn"], as_status="ABORTED")
    run = cloud.call("GET", f"/runs/{started['id']}")[1]
    assert run["status"] == "ABORTED" and run["cancelled"]["reason"] == "wrong model version"
    assert {a["status"] for t in run["tasks"] for a in t["attempts"]} == {"STOPPED"}
    # not PENDING: the run ended; tasks it never started are NOT_RUN, in DAG order after the one it stopped
    assert [t["status"] for t in run["tasks"]] == ["STOPPED", "NOT_RUN", "NOT_RUN", "NOT_RUN"]
    # an ended run cannot be cancelled: the 409 calls it what `show` does (moto's execution says FAILED)
    status, problem = cloud.call("POST", f"/runs/{started['id']}/cancel", {"reason": "again"})
    assert status == 409 and f"run {started['id']} is ABORTED: only a running run" in problem["detail"], problem
    # the reason is required
    assert cloud.call("POST", f"/runs/{started['id']}/cancel", {})[0] == 400


def test_resume_reruns_only_what_did_not_succeed_and_links_the_runs(cloud: Cloud) -> None:
    started = cloud.call("POST", "/pipelines/daily-sales-etl/runs", {"logical_date": "2026-11-20"})[1]
    assert cloud.finish(started["execution_arn"], fail={"load_warehouse": 99}) == "FAILED"
    status, resumed = cloud.call("POST", f"/runs/{started['id']}/resume", {"reason": "warehouse is back"})
    assert status == 201 and resumed["resume_of"] == started["execution_arn"]
    assert resumed["logical_date"] == "2026-11-20T00:00:00Z" and resumed["trigger"]["type"] == "resume"
    # resuming again is the same resumed run
    assert cloud.call("POST", f"/runs/{started['id']}/resume", {})[1]["id"] == resumed["id"]
    assert cloud.finish(resumed["execution_arn"]) == "SUCCEEDED"
    run = cloud.call("GET", f"/runs/{resumed['id']}")[1]
    tasks = {t["name"]: t for t in run["tasks"]}
    assert tasks["extract_orders"]["attempts"][0]["resumed_from"]["run"] == started["execution_arn"]
    assert tasks["load_warehouse"]["attempts"][0]["resumed_from"] is None
    assert run["resume_of"] == started["execution_arn"]
    assert cloud.call("GET", f"/runs/{started['id']}")[1]["resumed_by"] == resumed["id"]
    # a succeeded run has nothing to resume; a running one must end first
    assert cloud.call("POST", f"/runs/{resumed['id']}/resume", {})[0] == 409
    running = cloud.call("POST", "/pipelines/ml-training/runs", {})[1]
    assert cloud.call("POST", f"/runs/{running['id']}/resume", {})[0] == 409


# ---- backfill --------------------------------------------------------------------------------------------------

def test_a_dry_run_backfill_lists_the_schedules_logical_dates_across_a_dst_change(cloud: Cloud) -> None:
    # daily-sales-etl runs at 02:30 Europe/Berlin: on 2026-03-29 that time does not exist, and Scheduler skips it
    status, plan = cloud.call("POST", "/pipelines/daily-sales-etl/backfill", {
        "start": "2026-03-27T00:00:00Z", "end": "2026-03-31T00:00:00Z", "mode": "all", "dry_run": True})
    assert status == 200 and plan["dry_run"] and plan["status"] == "PLANNED"
    assert [d["logical_date"] for d in plan["dates"]] == [
        "2026-03-27T01:30:00Z", "2026-03-28T01:30:00Z", "2026-03-30T00:30:00Z"]
    assert cloud.executions("daily-sales-etl") == []


def test_a_date_only_end_includes_that_whole_day_in_the_schedules_time_zone(cloud: Cloud) -> None:
    # GIVEN daily-sales-etl, at 02:30 Europe/Berlin (01:30Z in winter)
    # WHEN a week is backfilled by dates alone, end "inclusive"
    status, plan = cloud.call("POST", "/pipelines/daily-sales-etl/backfill", {
        "start": "2026-11-23", "end": "2026-11-29", "mode": "all", "dry_run": True})
    # THEN all seven days run, the last one included, and the answer says the window the dates were read as
    assert status == 200 and [d["logical_date"][:10] for d in plan["dates"]] == [
        f"2026-11-{day}" for day in range(23, 30)]
    assert (plan["start"], plan["end"], plan["timezone"]) == (
        "2026-11-22T23:00:00.000Z", "2026-11-29T22:59:59.999Z", "Europe/Berlin")
    # AND a time with the date stays exact: midnight UTC leaves the 29th's 01:30Z out
    status, plan = cloud.call("POST", "/pipelines/daily-sales-etl/backfill", {
        "start": "2026-11-23", "end": "2026-11-29T00:00:00Z", "mode": "all", "dry_run": True})
    assert len(plan["dates"]) == 6 and plan["end"] == "2026-11-29T00:00:00.000Z"


def test_backfill_modes_skip_what_they_should(cloud: Cloud) -> None:
    done = cloud.call("POST", "/pipelines/daily-sales-etl/runs", {"logical_date": "2026-03-27T01:30:00Z"})[1]
    cloud.finish(done["execution_arn"])
    failed = cloud.call("POST", "/pipelines/daily-sales-etl/runs", {"logical_date": "2026-03-28T01:30:00Z"})[1]
    cloud.finish(failed["execution_arn"], fail={"load_warehouse": 99})
    window = {"start": "2026-03-27", "end": "2026-03-30T12:00:00Z", "dry_run": True}

    def actions(mode: str) -> list[str]:
        body = cloud.call("POST", "/pipelines/daily-sales-etl/backfill", {**window, "mode": mode})[1]
        return [d["action"] for d in body["dates"]]

    assert actions("missing") == ["skip", "skip", "run"]
    assert actions("failed") == ["skip", "run", "skip"]
    assert actions("all") == ["run", "run", "run"]


def test_a_backfill_runs_its_dates_at_most_n_at_a_time_and_is_inspectable(cloud: Cloud) -> None:
    request = {"start": "2026-11-02T00:00:00Z", "end": "2026-11-05T23:00:00Z", "max_concurrent": 2,
               "params": {"full_refresh": "true"}}
    status, view = cloud.call("POST", "/pipelines/daily-sales-etl/backfill", request,
                              headers={"Idempotency-Key": "nov"})
    assert status == 202 and view["status"] == "RUNNING" and len(view["dates"]) == 4
    # the same request again is the same backfill, starting nothing more
    assert cloud.call("POST", "/pipelines/daily-sales-etl/backfill", request,
                      headers={"Idempotency-Key": "nov"})[1]["id"] == view["id"]
    assert len(cloud.executions("daily-sales-etl")) == 2
    finished: set[str] = set()
    while len(finished) < 4:
        running = [e for e in cloud.executions("daily-sales-etl") if e["executionArn"] not in finished]
        assert 1 <= len(running) <= 2  # never more than max_concurrent
        arn = running[0]["executionArn"]
        assert cloud.finish(arn) == "SUCCEEDED"
        finished.add(arn)
        cloud.record(arn)  # a repeated end event advances nothing more
    assert len(cloud.executions("daily-sales-etl")) == 4
    final = cloud.call("GET", f"/backfills/{view['id']}")[1]
    assert final["status"] == "DONE" and {d["status"] for d in final["dates"]} == {"SUCCEEDED"}
    first = json.loads(cloud.sfn.describe_execution(executionArn=sorted(finished)[0])["input"])
    assert first["params"] == {"full_refresh": True} and first["trigger"]["type"] == "backfill"


@pytest.mark.parametrize(("body", "detail"), [
    ({"start": "2026-11-05", "end": "2026-11-01"}, "before start"),
    ({"start": "2026-01-01", "end": "2030-01-01"}, "limit"),
    ({"start": "soon", "end": "2026-11-01"}, "expected YYYY-MM-DD"),
])
def test_a_bad_backfill_is_a_400(cloud: Cloud, body: dict[str, Any], detail: str) -> None:
    status, problem = cloud.call("POST", "/pipelines/daily-sales-etl/backfill", body)
    assert status == 400 and detail in problem["detail"], problem


def test_a_pipeline_without_a_schedule_cannot_be_backfilled(cloud: Cloud) -> None:
    status, problem = cloud.call("POST", "/pipelines/needs-day/backfill", {"start": "2026-11-01", "end": "2026-11-02"})
    assert status == 400 and "no schedule" in problem["detail"]
