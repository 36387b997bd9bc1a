"""The start function on moto: schedules and trigger rules deliver at least once, and a repeated delivery of one
schedule tick or one event is the same run (functions/start; the deliveries as infra/constructs/schedules.py and
triggers.py send them)."""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from typing import Any

import pytest
from botocore.exceptions import ClientError

from functions.adapters.starts import execution_name
from functions.runtime.wiring import Runtime
from functions.start.handler import handler
from sluice.local.runner import LambdaContext
from tests.support.runtime import client, installed, logged, moto_runtime

PREFIX = "arn:aws:states:eu-west-1:123456789012:stateMachine:sluice-"
SCHEDULED = "2026-11-29T02:30:00Z"
SCHEDULE_ARN = "arn:aws:scheduler:eu-west-1:123456789012:schedule/default/sluice-dev-orders-daily-0"
RULE = "sluice-dev-orders-daily-trigger-0"


def tick(at: str = SCHEDULED, attempt: str = "1") -> dict[str, Any]:
    """A schedule's delivery, as Scheduler fills infra/constructs/schedules.start_request."""
    return {"pipeline": "orders-daily", "schedule": 0, "params": {"region": "eu"}, "logical_date": at,
            "trigger": {"type": "schedule", "schedule": 0, "expression": "cron(30 2 * * ? *)",
                        "timezone": "Europe/Berlin", "schedule_arn": SCHEDULE_ARN, "attempt": attempt}}


S3_EVENT = {"version": "0", "id": "17793124-05d4-b198-2fde-7ededc63b103", "detail-type": "Object Created",
            "source": "aws.s3", "account": "123456789012", "time": "2026-11-29T02:31:07Z", "region": "eu-west-1",
            "resources": ["arn:aws:s3:::acme-drop"],
            "detail": {"bucket": {"name": "acme-drop"}, "object": {"key": "exports/a.csv", "size": 5}}}


def delivered(event: dict[str, Any] = S3_EVENT) -> dict[str, Any]:
    """A trigger rule's delivery, as EventBridge fills infra/constructs/triggers.input_transformer."""
    return {"pipeline": "orders-daily", "trigger_index": 0, "rule": RULE, "params": {"region": "apac"},
            "event": copy.deepcopy(event)}


@pytest.fixture
def rt() -> Iterator[Runtime]:
    with moto_runtime(state_machine_arn_prefix=PREFIX) as runtime:
        role = client("iam").create_role(RoleName="sfn", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
        definition = {"StartAt": "W", "States": {"W": {"Type": "Wait", "Seconds": 600, "End": True}}}
        client("stepfunctions").create_state_machine(name="sluice-orders-daily", definition=json.dumps(definition),
                                                     roleArn=role)
        with installed(runtime):
            yield runtime


def executions() -> list[dict[str, Any]]:
    sfn = client("stepfunctions")
    listed = sfn.list_executions(stateMachineArn=f"{PREFIX}orders-daily")["executions"]
    return [sfn.describe_execution(executionArn=e["executionArn"]) for e in listed]


def start(event: Any) -> dict[str, str]:
    return handler(event, LambdaContext())


def test_a_schedule_tick_delivered_twice_is_one_run(rt):
    # GIVEN a tick started WHEN Scheduler delivers it again, with another attempt number THEN it is the same run
    first = start(tick(attempt="1"))
    again = start(tick(attempt="2"))
    assert (first["result"], again["result"]) == ("started", "duplicate delivery")
    assert first["execution_arn"] == again["execution_arn"]
    assert first["name"] == again["name"] == execution_name("schedule", "orders-daily", "0", SCHEDULED)
    (run,) = executions()
    assert run["executionArn"] == first["execution_arn"]
    # the run received the input the state machine received when Scheduler started it directly (RunInput)
    assert json.loads(run["input"]) == {k: v for k, v in tick(attempt="1").items() if k not in ("pipeline",
                                                                                                  "schedule")}


def test_an_event_delivered_twice_is_one_run(rt):
    # GIVEN an event's run started WHEN EventBridge delivers the event again THEN it is the same run. (With the
    # same input, Step Functions answers a repeated StartExecution of a running execution with that execution.)
    first, again = start(delivered()), start(delivered())
    assert first["result"] == "started" and again["execution_arn"] == first["execution_arn"]
    assert first["name"] == again["name"] == execution_name("event", "orders-daily", "0", S3_EVENT["id"])
    (run,) = executions()
    assert json.loads(run["input"]) == {
        "params": {"region": "apac"}, "logical_date": S3_EVENT["time"], "event": S3_EVENT,
        "trigger": {"type": "event", "rule": RULE, "event_id": S3_EVENT["id"]}}


def test_two_ticks_and_two_events_are_separate_runs(rt):
    start(tick(SCHEDULED))
    start(tick("2026-11-30T02:30:00Z"))
    start(delivered())
    start(delivered(S3_EVENT | {"id": "another-event"}))
    runs = executions()
    assert len(runs) == 4 and len({r["name"] for r in runs}) == 4
    assert sorted(json.loads(r["input"])["logical_date"] for r in runs if "event" not in json.loads(r["input"])) == [
        SCHEDULED, "2026-11-30T02:30:00Z"]


@pytest.mark.parametrize("event", [
    None, [], "tick", 7, {}, {"pipeline": "orders-daily"},
    {k: v for k, v in tick().items() if k != "logical_date"},
    tick() | {"schedule": "0"}, tick() | {"schedule": True}, tick() | {"pipeline": ""},
    tick() | {"params": ["a"]}, tick() | {"trigger": {"type": "event"}},
    delivered() | {"event": "not an event"}, delivered() | {"event": {k: v for k, v in S3_EVENT.items() if k != "id"}},
    {k: v for k, v in delivered().items() if k != "rule"}, delivered() | {"trigger_index": -1},
], ids=repr)
def test_a_malformed_delivery_is_rejected_and_starts_nothing(rt, event, caplog):
    caplog.set_level("INFO")
    result = start(event)
    assert result["result"].startswith("rejected: ")
    assert executions() == []
    lines = [json.loads(line) for line in logged(caplog)]
    (rejected,) = [line for line in lines if line.get("message") == "rejected event"]
    assert rejected["level"] == "ERROR" and rejected["reason"] == result["result"].removeprefix("rejected: ")


def test_a_failure_to_start_raises_so_the_delivery_is_retried(rt, monkeypatch):
    # GIVEN Step Functions throttling StartExecution WHEN a tick is delivered THEN the function fails (Lambda's
    # asynchronous retries, then the dead-letter queue) rather than dropping the start
    def throttled(**_: Any) -> None:
        raise ClientError({"Error": {"Code": "ThrottlingException", "Message": "Rate exceeded"}}, "StartExecution")

    monkeypatch.setattr(rt.starts.client, "start_execution", throttled)
    with pytest.raises(ClientError, match="ThrottlingException"):
        start(tick())
    monkeypatch.undo()
    assert start(tick())["result"] == "started"  # the retried delivery starts the run, once
    assert len(executions()) == 1


def test_a_pipeline_without_a_state_machine_raises(rt):
    with pytest.raises(ClientError):
        start(tick() | {"pipeline": "gone"})
