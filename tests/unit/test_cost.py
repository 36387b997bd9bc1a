"""Cost per run: the price table, the usage each service reports, and a run priced from its history and records."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from functions.events import usage
from functions.record.cost import ASSUMED_SECONDS_PER_INVOCATION, run_cost
from sluice.cost import COMPUTE, ORCHESTRATION, PRICES_AS_OF, lambda_invokes, price, state_transitions


def test_a_price_line_per_quantity_with_orchestration_and_compute_totals():
    # GIVEN 1,000 transitions and 3,600 Glue DPU-seconds WHEN priced
    cost = price({"state_transitions": 1000, "glue_dpu_seconds": 3600, "unknown": 5}, not_counted=["b", "a", "b"])
    # THEN each is priced at the list price (0.025 per 1,000 transitions, 0.44 per DPU-hour); unknown keys are not
    assert [line["key"] for line in cost["lines"]] == ["state_transitions", "glue_dpu_seconds"]
    assert cost["orchestration_usd"] == pytest.approx(0.025) and cost["compute_usd"] == pytest.approx(0.44)
    assert cost["total_usd"] == pytest.approx(0.465)
    # AND the figures say when and where the prices are from, and what they leave out
    assert (cost["prices_as_of"], cost["region"], cost["not_counted"]) == (PRICES_AS_OF, "us-east-1", ["a", "b"])


def test_every_price_has_a_unit_and_a_positive_figure():
    for key, (item, unit, usd) in {**ORCHESTRATION, **COMPUTE}.items():
        assert item and unit and usd > 0, key


@pytest.mark.parametrize(("run", "expected"), [
    ({"DPUSeconds": 812.5, "ExecutionTime": 400, "MaxCapacity": 10}, 812.5),  # auto-scaling reports it itself
    ({"ExecutionTime": 300, "MaxCapacity": 10.0}, 3000.0),
    ({"ExecutionTime": 300, "WorkerType": "G.2X", "NumberOfWorkers": 5}, 3000.0),
    ({"ExecutionTime": 20, "MaxCapacity": 2}, 120.0),  # the 1-minute minimum
    ({"ExecutionTime": 300}, None),  # no capacity reported: not guessed
    ({"ExecutionTime": 300, "WorkerType": "X.9Z", "NumberOfWorkers": 5}, None),
    ({"ExecutionTime": True, "MaxCapacity": 2}, None),
])
def test_glue_usage_in_dpu_seconds(run, expected):
    found = usage.glue(run)
    assert (found["glue_dpu_seconds"] if found else None) == expected


def test_emr_serverless_usage_prefers_what_was_billed():
    billed = {"vCPUHour": 1.5, "memoryGBHour": 6.0, "storageGBHour": 0.0}
    total = {"vCPUHour": 2.0, "memoryGBHour": 8.0, "storageGBHour": 30.0}
    assert usage.emr_serverless({"billedResourceUtilization": billed, "totalResourceUtilization": total}) == {
        "emr_serverless_vcpu_hours": 1.5, "emr_serverless_memory_gb_hours": 6.0}
    assert usage.emr_serverless({"totalResourceUtilization": total})["emr_serverless_storage_gb_hours"] == 30.0
    assert usage.emr_serverless({}) is None


def test_ecs_usage_from_describe_tasks_or_the_event():
    # GIVEN a 0.5 vCPU / 1 GB Fargate task that pulled at 10:00:00 and stopped at 10:10:00 (boto3 gives datetimes)
    start = dt.datetime(2026, 11, 29, 10, tzinfo=dt.UTC)
    task = {"launchType": "FARGATE", "cpu": "512", "memory": "1024", "pullStartedAt": start,
            "startedAt": start + dt.timedelta(seconds=30), "stoppedAt": start + dt.timedelta(minutes=10)}
    # THEN it is billed from the pull: 600 s x 0.5 vCPU, 600 s x 1 GB
    assert usage.ecs(task) == {"fargate_vcpu_seconds": 300.0, "fargate_memory_gb_seconds": 600.0}
    # AND the event's ISO strings give the same, a short task is billed its minute, EC2 and Spot are not priced
    as_event = {**task, "pullStartedAt": "2026-11-29T10:00:00Z", "stoppedAt": "2026-11-29T10:10:00.000Z"}
    assert usage.ecs(as_event) == usage.ecs(task)
    assert usage.ecs({**task, "stoppedAt": start + dt.timedelta(seconds=5)})["fargate_vcpu_seconds"] == 30.0
    assert usage.ecs({**task, "launchType": "EC2"}) == {"unpriced": "ecs_ec2"}
    assert usage.ecs({**task, "capacityProviderName": "FARGATE_SPOT"}) == {"unpriced": "ecs_fargate_spot"}
    assert usage.ecs({**task, "stoppedAt": None}) is None and usage.ecs({**task, "cpu": "lots"}) is None


def _history(*types: str, resource: str = "lambda") -> list[dict]:
    return [{"type": t, **({"taskScheduledEventDetails": {"resourceType": resource}} if t == "TaskScheduled" else {})}
            for t in types]


def test_transitions_and_dispatcher_invocations_from_the_history():
    # GIVEN a task state retried once (two TaskScheduled in one TaskStateEntered) and a Choice
    history = _history("ExecutionStarted", "TaskStateEntered", "TaskScheduled", "TaskFailed", "TaskScheduled",
                       "TaskSucceeded", "TaskStateExited", "ChoiceStateEntered", "SucceedStateEntered")
    # THEN AWS bills 3 states entered plus the retry, and the dispatcher was invoked twice
    assert state_transitions(history) == 4 and lambda_invokes(history) == 2
    assert lambda_invokes(_history("TaskScheduled", resource="states")) == 0


def test_a_run_priced_from_its_records():
    # GIVEN a run with a Glue attempt (3 writes, usage reported), an ECS attempt on EC2 and a skipped task
    history = _history("ExecutionStarted", "TaskStateEntered", "TaskScheduled", "TaskStateEntered", "TaskScheduled",
                       "TaskStateEntered", "TaskScheduled")
    three = [{"status": s} for s in ("STARTING", "RUNNING", "SUCCEEDED")]
    items = [{"sk": "RUN"},
             {"sk": "TASK#a#ATTEMPT#-#0000", "kind": "glue", "external_id": "jr_1", "ended_at": "t", "history": three,
              "usage": json.dumps({"glue_dpu_seconds": 3600})},
             {"sk": "TASK#b#ATTEMPT#-#0000", "kind": "ecs", "external_id": "arn:t", "ended_at": "t", "history": three,
              "usage": json.dumps({"unpriced": "ecs_ec2"})},
             {"sk": "TASK#c", "status": "SKIPPED"}]
    cost = run_cost(history, items, memory_mb=512)
    quantities = {line["key"]: line["quantity"] for line in cost["lines"]}
    # THEN 3 dispatches + 2 completions + 2 records; writes: 3 + 3 per attempt, 1 outcome, 3 for the run item
    assert quantities["lambda_invocations"] == 7 and quantities["dynamodb_write_units"] == 10
    assert quantities["lambda_gb_seconds"] == pytest.approx(7 * ASSUMED_SECONDS_PER_INVOCATION / 2)
    assert quantities["state_transitions"] == 3 and quantities["glue_dpu_seconds"] == 3600
    assert cost["compute_usd"] == pytest.approx(0.44)
    # AND what it could not price is named
    assert any("EC2" in entry for entry in cost["not_counted"])
    assert next(line for line in cost["lines"] if line["key"] == "lambda_gb_seconds")["basis"].startswith("assumed")
