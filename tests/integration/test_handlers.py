"""The Lambda handlers end to end on moto: Powertools logging with the run id, bad input rejected cleanly."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pydantic
import pytest

from tests.support.runtime import (
    EXECUTION,
    FakeJobs,
    LambdaContext,
    installed,
    logged,
    moto_runtime,
    request,
    running_job,
    waiting_execution,
)


@pytest.fixture
def rt() -> Any:
    with moto_runtime() as runtime, installed(runtime):
        yield runtime


def log_lines(caplog: pytest.LogCaptureFixture) -> list[dict[str, Any]]:
    """The records as Powertools writes them to CloudWatch (one JSON object per line)."""
    return [json.loads(line) for line in logged(caplog)]


def test_dispatch_logs_json_with_the_run_id_as_correlation_id(rt: Any, caplog: pytest.LogCaptureFixture) -> None:
    from functions.dispatch.handler import handler

    handler(request().model_dump(mode="json"), LambdaContext())
    lines = log_lines(caplog)
    started = next(line for line in lines if line.get("message") == "job started")
    assert started["correlation_id"] == "run-1" and started["task"] == "extract"
    assert started["function_name"] == "sluice-dispatch"


def test_dispatch_rejects_a_malformed_request_and_records_nothing(rt: Any) -> None:
    from functions.dispatch.handler import handler

    with pytest.raises(pydantic.ValidationError, match="action"):
        handler({"v": 1, "pipeline": "demo", "execution_id": EXECUTION, "run_id": "run-1", "action": "launch"},
                LambdaContext())
    assert rt.store.load(EXECUTION).attempts == []


EVENTS = Path(__file__).resolve().parents[1] / "events"


def fixture(name: str, **detail: Any) -> dict[str, Any]:
    """An AWS-documented event from tests/events, with some detail fields replaced (an invocation record is its own
    detail)."""
    event = json.loads((EVENTS / f"{name}.json").read_text())
    event.get("detail", event).update(detail)
    return event


def test_complete_records_a_glue_end_from_the_documented_event(rt: Any) -> None:
    from functions.complete.handler import handler

    job = running_job(rt, "glue")
    event = fixture("glue_job_succeeded", jobRunId=job)
    event["time"] = rt.completer.clock()
    assert handler(event, LambdaContext()) == {"result": "attempt SUCCEEDED"}
    [attempt] = rt.store.load(EXECUTION).attempts
    assert (attempt.status, attempt.end_event) == ("SUCCEEDED", event["id"])
    # AND the same event delivered again answers again, which Step Functions refuses: logged, not raised
    assert handler(event, LambdaContext()) == {"result": "attempt SUCCEEDED"}
    assert rt.tokens.of("token-extract-0") == [("success", {"status": "SUCCEEDED"})]


def test_complete_rejects_a_malformed_event_without_touching_records(rt: Any) -> None:
    from functions.complete.handler import handler

    running_job(rt, "glue")
    broken = fixture("glue_job_failed")
    del broken["detail"]["jobRunId"]
    assert handler(broken, LambdaContext())["result"].startswith("rejected: ")
    assert handler({"source": "aws.ec2", "detail-type": "EC2 Instance State-change Notification"},
                   LambdaContext())["result"].startswith("rejected: ")
    assert [a.status for a in rt.store.load(EXECUTION).attempts] == ["RUNNING"]


def test_record_keeps_the_run_from_documented_execution_events(rt: Any) -> None:
    from functions.record.handler import handler

    machine, arn = waiting_execution("scheduled-20250314T080000Z")
    for name in ("sfn_execution_running", "sfn_execution_succeeded"):
        result = handler(fixture(name, executionArn=arn, stateMachineArn=machine), LambdaContext())
        assert result["result"].startswith("run ")
    run = rt.recorder.runs.get(arn)
    assert (run["status"], run["pipeline"], run["config_hash"]) == ("SUCCEEDED", "orders-daily", "00112233aabbccdd")
    assert run["params"] == {"region": "emea"} and run["trigger"] == {"type": "schedule"}


CHILD = {"params": {}, "trigger": {"type": "parent", "pipeline": "demo", "run_id": "run-1", "task": "extract"}}


def with_job_id(event: dict[str, Any], kind: str, external_id: str) -> dict[str, Any]:
    detail = event.get("detail", event)
    if kind == "lambda":
        detail["requestContext"]["requestId"] = external_id
        return event
    if kind == "pipeline":
        detail["input"] = json.dumps(CHILD)  # a child run's, as functions/adapters/jobs/pipeline.py starts it
    detail[{"emr": "stepId", "emr_serverless": "jobRunId", "ecs": "taskArn", "pipeline": "executionArn"}[kind]] = \
        external_id
    return event


@pytest.mark.parametrize(("name", "kind", "status", "answer"), [
    ("emr_step_completed", "emr", "SUCCEEDED", "success"),
    ("emr_step_failed", "emr", "FAILED", "failure"),
    ("emr_serverless_job_success", "emr_serverless", "SUCCEEDED", "success"),
    ("emr_serverless_job_failed", "emr_serverless", "FAILED", "failure"),
    ("ecs_task_stopped_ok", "ecs", "SUCCEEDED", "success"),
    ("ecs_task_stopped_failed", "ecs", "FAILED", "failure"),
    ("lambda_record_success", "lambda", "SUCCEEDED", "success"),
    ("lambda_record_failure", "lambda", "FAILED", "failure"),
    ("sfn_execution_succeeded", "pipeline", "SUCCEEDED", "success"),
    ("sfn_execution_timed_out", "pipeline", "FAILED", "failure"),
])
def test_complete_ends_every_kind_of_job_from_its_documented_event(rt: Any, name: str, kind: str, status: str,
                                                                   answer: str) -> None:
    from functions.complete.handler import handler

    # GIVEN a running attempt of this kind
    jobs = FakeJobs(kind=kind)
    rt.jobs[kind] = jobs
    rt.dispatcher.handle(request(kind=kind))
    event = with_job_id(fixture(name), kind, next(iter(jobs.jobs)))
    event["timestamp" if kind == "lambda" else "time"] = rt.completer.clock()
    # WHEN the service's end event arrives
    assert handler(event, LambdaContext()) == {"result": f"attempt {status}"}
    # THEN the attempt ended with the event's outcome and the token got the matching answer
    [attempt] = rt.store.load(EXECUTION).attempts
    [(how, value)] = rt.tokens.of("token-extract-0")
    assert (attempt.status, how) == (status, answer)
    if status == "FAILED":
        assert value[0] == "Sluice.TaskFailed" and attempt.error
    elif kind == "lambda":
        assert attempt.output == event["responsePayload"]
