"""The metrics a run emits (Powertools EMF, namespace Sluice), read back from a local run's function log: what
the alarms and dashboards will read, per pipeline and task, never per run."""

from __future__ import annotations

import json
from collections import defaultdict
from pathlib import Path
from typing import Any

import pytest

from sluice.local.alarms import read_emf
from sluice.spec import Pipeline
from tests.integration.test_local_run import run

pytestmark = pytest.mark.moto


def emf(log: Path) -> list[dict[str, Any]]:
    """Every metric datum in the log: name, value, dimensions."""
    return [vars(d) for d in read_emf(log)]


@pytest.fixture(scope="module")
def retried(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    # GIVEN daily-sales-etl, whose aggregation fails once and is retried
    result = run("daily-sales-etl", tmp_path_factory.mktemp("metrics"), fail={"aggregate_sales": "1"})
    assert result["status"] == "SUCCEEDED"
    return result, emf(Path(result["logs"]) / "functions.log")


def _sum(metrics: list[dict[str, Any]], name: str, **dims: str) -> float:
    return sum(m["value"] for m in metrics if m["name"] == name and all(m["dims"].get(k) == v for k, v in dims.items()))


def test_run_metrics_are_counted_once_per_pipeline(retried):
    _, metrics = retried
    assert _sum(metrics, "RunsStarted", pipeline="daily-sales-etl") == 1
    assert _sum(metrics, "RunsSucceeded", pipeline="daily-sales-etl") == 1
    assert _sum(metrics, "RunsFailed", pipeline="daily-sales-etl") == 0
    (duration,) = [m for m in metrics if m["name"] == "RunDuration"]
    assert duration["unit"] == "Seconds" and duration["value"] > 0
    assert duration["dims"] == {"pipeline": "daily-sales-etl"}  # exactly: alarms name every dimension


def test_task_attempts_retries_failures_and_durations_by_task(retried):
    _, metrics = retried
    dims = {"pipeline": "daily-sales-etl"}
    assert _sum(metrics, "TaskAttempts", **dims, task="aggregate_sales") == 2
    assert _sum(metrics, "TaskRetries", **dims, task="aggregate_sales") == 1
    assert _sum(metrics, "TaskFailures", **dims, task="aggregate_sales", error="FAILED") == 1
    assert _sum(metrics, "TaskAttempts", **dims, task="extract_orders") == 1
    assert _sum(metrics, "TaskFailures", **dims, task="extract_orders") == 0
    durations = {m["dims"]["task"] for m in metrics if m["name"] == "TaskDuration"}
    assert {"extract_orders", "aggregate_sales", "load_warehouse"} <= durations
    latencies = [m for m in metrics if m["name"] == "DispatchLatency"]
    assert latencies and all(m["unit"] == "Milliseconds" and m["value"] >= 0 for m in latencies)
    assert {m["dims"]["task"] for m in latencies} >= {"extract_orders", "aggregate_sales"}


def test_dimensions_stay_low_cardinality(retried):
    # a run id, execution ARN or job id as a dimension would make a metric per run: none may appear
    result, metrics = retried
    per_metric: dict[str, set[frozenset[str]]] = defaultdict(set)
    for m in metrics:
        assert m["namespace"] == "Sluice"
        per_metric[m["name"]].add(frozenset(m["dims"]))
        assert result["run_id"] not in json.dumps(m["dims"]) and "arn:" not in json.dumps(m["dims"])
    allowed = {frozenset({"service"}), frozenset({"pipeline"}), frozenset({"pipeline", "task"}),
               frozenset({"pipeline", "task", "error"})}
    assert all(sets <= allowed for sets in per_metric.values()), dict(per_metric)


def test_the_result_carries_the_metrics_and_no_alarm_fires_for_a_recovered_run(retried):
    result, _ = retried
    assert result["metrics"]["RunsSucceeded"] == 1 and result["metrics"]["TaskRetries"] == 1
    assert {a["alarm"]: a["would_fire"] for a in result["alarms"] if a["alarm"].startswith("daily-sales-etl")} == {
        "daily-sales-etl-failed": False, "daily-sales-etl-over-max-duration": False,
        "daily-sales-etl-deadline-missed": False,
        "daily-sales-etl-aggregate_sales-over-expected-duration": False}


def test_scripted_durations_and_failures_set_off_the_alarms(tmp_path):
    # GIVEN a pipeline whose task is expected to take 1 s and whose run may take 2 s, scripted to take 3 s and fail
    pipeline = Pipeline.model_validate({"name": "slow-etl", "max_duration": "2s", "timeout": "1h", "tasks": {
        "load": {"expected_duration": "1s", "glue": {"job": "load"}},
        "publish": {"depends_on": ["load"], "glue": {"job": "publish"}}}})
    result = run("slow-etl", tmp_path, pipelines={"slow-etl": pipeline}, delay={"load": 3}, fail={"publish": ""})
    # THEN the failed, over-max-duration and over-expected-duration alarms would fire; the timed-out one not
    fired = {a["alarm"]: a["would_fire"] for a in result["alarms"]}
    assert fired == {"slow-etl-failed": True, "slow-etl-timed-out": False, "slow-etl-over-max-duration": True,
                     "slow-etl-load-over-expected-duration": True}
    why = next(a["why"] for a in result["alarms"] if a["alarm"] == "slow-etl-load-over-expected-duration")
    assert why.startswith("the longest attempt of load took 3.") and why.endswith("expected_duration is 1 s")
