"""The record function keeps the run item from execution status events, in any order, on moto."""

from __future__ import annotations

import json
from typing import Any

import pytest

from functions.events.types import ExecutionEvent
from sluice.contract import definition_comment
from tests.support.runtime import client, moto_runtime


@pytest.fixture
def rt() -> Any:
    with moto_runtime() as runtime:
        yield runtime


def execution(comment: str, name: str = "2026-11-27") -> tuple[str, str]:
    iam = client("iam")
    try:
        role = iam.get_role(RoleName="sfn")["Role"]["Arn"]
    except iam.exceptions.NoSuchEntityException:
        role = iam.create_role(RoleName="sfn", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
    sfn = client("stepfunctions")
    definition = {"Comment": comment, "StartAt": "Wait", "States": {"Wait": {"Type": "Wait", "Seconds": 60,
                                                                                "End": True}}}
    machine = sfn.create_state_machine(name="sluice-daily", definition=json.dumps(definition),
                                       roleArn=role)["stateMachineArn"]
    arn = sfn.start_execution(stateMachineArn=machine, name=name,
                              input=json.dumps({"params": {"n": 1}, "logical_date": "2026-11-27T00:00:00Z",
                                                "trigger": {"type": "schedule"}}))["executionArn"]
    return machine, arn


def event(machine: str, arn: str, status: str, **fields: Any) -> ExecutionEvent:
    values: dict[str, Any] = {"execution_arn": arn, "state_machine_arn": machine, "name": "2026-11-27",
                              "status": status, "time": "2026-11-27T00:00:05Z", "start_date": "2026-11-27T00:00:01Z",
                              "input": {"params": {"n": 1}, "logical_date": "2026-11-27T00:00:00Z",
                                        "trigger": {"type": "schedule"}}}
    return ExecutionEvent(**(values | fields))


def test_a_run_is_recorded_with_its_trigger_params_and_version(rt: Any) -> None:
    # GIVEN a Sluice state machine's execution
    machine, arn = execution(definition_comment("daily", "0123456789abcdef"))
    # WHEN its RUNNING and then SUCCEEDED events arrive
    assert rt.recorder.on_event(event(machine, arn, "RUNNING")) == "run RUNNING"
    assert rt.recorder.on_event(event(machine, arn, "SUCCEEDED", stop_date="2026-11-27T00:09:00Z",
                                      output={"ok": True})) == "run SUCCEEDED"
    # THEN the run item has everything the issue asks a run to record
    run = rt.recorder.runs.get(arn)
    assert run["status"] == "SUCCEEDED" and run["pipeline"] == "daily" and run["config_hash"] == "0123456789abcdef"
    assert run["trigger"] == {"type": "schedule"} and run["params"] == {"n": 1}
    assert (run["started_at"], run["ended_at"], run["logical_date"]) == (
        "2026-11-27T00:00:01Z", "2026-11-27T00:09:00Z", "2026-11-27T00:00:00Z")
    assert run["pipeline_pk"] == "PIPELINE#daily" and run["status_pk"] == "STATUS#SUCCEEDED"
    assert run["expires_at"] > 0


def test_a_late_running_event_does_not_regress_a_finished_run(rt: Any) -> None:
    machine, arn = execution(definition_comment("daily", "0123456789abcdef"))
    # WHEN the end arrives before the start
    rt.recorder.on_event(event(machine, arn, "FAILED", error="Sluice.RunFailed", cause="task 'x' failed"))
    assert rt.recorder.on_event(event(machine, arn, "RUNNING")).startswith("ignored")
    # THEN the run stays FAILED, with its start facts filled in
    run = rt.recorder.runs.get(arn)
    assert (run["status"], run["error"], run["started_at"]) == ("FAILED", "Sluice.RunFailed", "2026-11-27T00:00:01Z")


def test_a_second_end_does_not_overwrite_the_first(rt: Any) -> None:
    machine, arn = execution(definition_comment("daily", "0123456789abcdef"))
    rt.recorder.on_event(event(machine, arn, "RUNNING"))
    rt.recorder.on_event(event(machine, arn, "ABORTED"))
    assert rt.recorder.on_event(event(machine, arn, "SUCCEEDED")).startswith("ignored")
    assert rt.recorder.runs.get(arn)["status"] == "ABORTED"


def test_executions_of_other_state_machines_are_ignored(rt: Any) -> None:
    machine, arn = execution("somebody else's workflow")
    assert rt.recorder.on_event(event(machine, arn, "RUNNING")) == "ignored: not a Sluice state machine"
    assert rt.recorder.runs.get(arn) is None


def queue_for(name: str, pattern: dict[str, Any]) -> tuple[Any, str]:
    """A queue receiving the default bus's events that match pattern, through a rule (moto delivers them)."""
    sqs, events = client("sqs"), client("events")
    queue = sqs.create_queue(QueueName=name)["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    events.put_rule(Name=name, EventPattern=json.dumps(pattern))
    events.put_targets(Rule=name, Targets=[{"Id": "q", "Arn": queue_arn}])
    return sqs, queue


def test_a_recorded_end_is_announced_once_on_the_bus(rt: Any) -> None:
    # GIVEN a rule sending Sluice's own events to a queue
    sqs, queue = queue_for("incidents", {"source": ["sluice"]})
    machine, arn = execution(definition_comment("daily", "0123456789abcdef"))
    # WHEN the run starts, fails, and the failure is delivered twice
    rt.recorder.on_event(event(machine, arn, "RUNNING"))
    failed = event(machine, arn, "FAILED", stop_date="2026-11-27T00:09:00Z", error="Sluice.RunFailed",
                   cause="task 'load' failed after 5 attempt(s)")
    assert rt.recorder.on_event(failed) == "run FAILED"
    assert rt.recorder.on_event(failed).startswith("ignored")
    # THEN exactly one "Sluice Run Failed" event says which run, why and where
    received = sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10)["Messages"]
    (message,) = [json.loads(m["Body"]) for m in received]
    assert (message["source"], message["detail-type"], message["resources"]) == ("sluice", "Sluice Run Failed", [arn])
    assert message["detail"] == {"pipeline": "daily", "run_id": "2026-11-27", "status": "FAILED", "execution_arn": arn,
                                 "started_at": "2026-11-27T00:00:01Z", "ended_at": "2026-11-27T00:09:00Z",
                                 "error": "Sluice.RunFailed", "cause": "task 'load' failed after 5 attempt(s)"}


def test_a_bus_that_refuses_the_announcement_does_not_undo_the_record(rt: Any) -> None:
    from functions.adapters.notices import Notices

    machine, arn = execution(definition_comment("daily", "0123456789abcdef"))
    rt.recorder.notices = Notices(client("events"), bus="no-such-bus")
    assert rt.recorder.on_event(event(machine, arn, "SUCCEEDED", stop_date="2026-11-27T00:09:00Z")) == "run SUCCEEDED"
    assert rt.recorder.runs.get(arn)["status"] == "SUCCEEDED"


def test_a_deadline_is_met_only_by_a_run_that_succeeded_in_time(rt: Any) -> None:
    # GIVEN the day's run, started 01:00 and still running at the 07:30 deadline
    sqs, queue = queue_for("late", {"detail-type": ["Sluice Deadline Missed"]})
    machine, arn = execution(definition_comment("daily", "0123456789abcdef"))
    rt.recorder.on_event(event(machine, arn, "RUNNING", start_date="2026-11-27T01:00:00Z"))
    # WHEN the deadline is checked THEN it is missed, and announced with the runs there were
    assert rt.deadlines.check("daily", "2026-11-27T07:30:00Z", 24 * 3600) is False
    (message,) = [json.loads(m["Body"]) for m in sqs.receive_message(QueueUrl=queue)["Messages"]]
    assert message["detail"] == {"pipeline": "daily", "deadline": "2026-11-27T07:30:00Z", "runs": [
        {"run_id": "2026-11-27", "status": "RUNNING", "started_at": "2026-11-27T01:00:00Z"}]}
    # WHEN the run succeeds late THEN that deadline stays missed (it ended after 07:30), the next day's check
    # with a run in time is met, and a run outside the window does not count
    rt.recorder.on_event(event(machine, arn, "SUCCEEDED", start_date="2026-11-27T01:00:00Z",
                               stop_date="2026-11-27T08:00:00Z"))
    assert rt.deadlines.check("daily", "2026-11-27T07:30:00Z", 24 * 3600) is False
    assert rt.deadlines.check("daily", "2026-11-27T09:00:00Z", 24 * 3600) is True
    assert rt.deadlines.check("daily", "2026-11-27T09:00:00Z", 3600) is False


def test_an_ended_run_is_priced_and_a_failed_pricing_keeps_the_record(rt: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    # GIVEN an execution that ends
    machine, arn = execution(definition_comment("daily", "0123456789abcdef"))
    rt.recorder.on_event(event(machine, arn, "RUNNING"))
    assert rt.recorder.runs.get(arn).get("cost") is None  # a running run is not priced
    rt.recorder.on_event(event(machine, arn, "SUCCEEDED", stop_date="2026-11-27T00:09:00Z"))
    # THEN its record carries its cost, from its history (moto's: ExecutionStarted, WaitStateEntered)
    cost = rt.recorder.runs.get(arn)["cost"]
    lines = {line["key"]: line["quantity"] for line in cost["lines"]}
    assert lines["state_transitions"] >= 1 and lines["lambda_invocations"] == 2 and cost["total_usd"] > 0
    # GIVEN the history cannot be read for another run WHEN it ends
    machine, other = execution(definition_comment("daily", "0123456789abcdef"), name="2026-11-28")
    failing = client("stepfunctions")

    def refuse(**_: Any) -> None:
        failing.describe_execution(executionArn=other + "-missing")  # raises ExecutionDoesNotExist (ClientError)

    monkeypatch.setattr(rt.recorder.costs.executions, "history", lambda _arn: refuse())
    assert rt.recorder.on_event(event(machine, other, "FAILED", error="e")) == "run FAILED"
    # THEN the run is recorded without a cost, and its end was still announced as usual
    run = rt.recorder.runs.get(other)
    assert run["status"] == "FAILED" and "cost" not in run


def test_statuses_of_many_runs_are_read_in_batches(rt: Any) -> None:
    # GIVEN three recorded runs among 250 asked for (BatchGetItem takes 100 keys at a time)
    prefix = "arn:aws:states:eu-west-1:123456789012:execution:sluice-daily:"
    recorded = {f"{prefix}run-{i}": status for i, status in ((7, "RUNNING"), (150, "FAILED"), (249, "SUCCEEDED"))}
    for arn, status in recorded.items():
        rt.recorder.runs.record(event(f"{prefix[:-1].replace(':execution:', ':stateMachine:')}", arn, status),
                                "daily", "0123456789abcdef")
    # WHEN their statuses are read THEN exactly the recorded ones come back
    assert rt.recorder.runs.statuses([f"{prefix}run-{i}" for i in range(250)]) == recorded
