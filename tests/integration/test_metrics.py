"""The metrics a run emits (Powertools EMF, namespace Sluice), read back from a local run's function log: what
the alarms and dashboards will read, per pipeline and task, never per run."""

from __future__ import annotations

import json
from collections import defaultdict
from pathlib import Path
from typing import Any

import pytest

from tests.integration.test_local_run import run

pytestmark = pytest.mark.moto


def emf(log: Path) -> list[dict[str, Any]]:
    """Every metric datum in the log: name, value, dimensions."""
    out = []
    for line in log.read_text().splitlines():
        if not line.startswith("{") or '"_aws"' not in line:
            continue
        record = json.loads(line)
        (directive,) = record["_aws"]["CloudWatchMetrics"]
        dims = {d: record[d] for group in directive["Dimensions"] for d in group}
        for metric in directive["Metrics"]:
            values = record[metric["Name"]]
            for value in values if isinstance(values, list) else [values]:
                out.append({"namespace": directive["Namespace"], "name": metric["Name"], "unit": metric["Unit"],
                            "value": value, "dims": dims})
    return out


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
