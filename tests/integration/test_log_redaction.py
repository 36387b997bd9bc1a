"""What the functions log never holds a secret a run carries: params under sensitive keys, or a job's environment.

Each test plants one secret-looking value under sensitive keys (password, api_key, token, secret) in a run's params
or a job event, drives the real handlers, and reads every log line as Powertools writes it to CloudWatch (the
message, its keys and any traceback). Step Functions' execution events carry the run input (params included), and
ECS task events carry the container overrides (environment included).
"""

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
    waiting_execution,
)

SECRET = "Pl4nted-s3cr3t-7f3a9c1e"
SENSITIVE = ("password", "api_key", "token", "secret")
PARAMS = {"region": "emea", **{key: f"{SECRET}-{key}" for key in SENSITIVE}}
EVENTS = Path(__file__).resolve().parents[1] / "events"
@pytest.fixture
def rt() -> Any:
    with moto_runtime() as runtime, installed(runtime):
        yield runtime


def log_text(caplog: pytest.LogCaptureFixture, *, some: bool = True) -> str:
    """Every captured record as Powertools writes it (one JSON object a line), exceptions included."""
    lines = logged(caplog)
    assert lines or not some, "the handlers logged nothing: the test would prove nothing"
    return "\n".join(lines)


def assert_no_secret(text: str) -> None:
    leaked = [line for line in text.splitlines() if SECRET in line]
    assert leaked == [], "a planted secret reached the logs:\n" + "\n".join(leaked)


def event(name: str, **detail: Any) -> dict[str, Any]:
    found = json.loads((EVENTS / f"{name}.json").read_text())
    found["detail"].update(detail)
    return found


def run_input() -> str:
    return json.dumps({"params": PARAMS, "logical_date": "2025-03-15T08:00:00Z", "trigger": {"type": "schedule"}})


def ecs_environment() -> list[dict[str, Any]]:
    return [{"name": "orders-export", "environment": [{"name": key.upper(), "value": value}
                                                      for key, value in PARAMS.items()]}]


def test_a_run_with_secret_params_is_dispatched_completed_and_recorded_without_logging_them(
        rt: Any, caplog: pytest.LogCaptureFixture) -> None:
    from functions.complete.handler import handler as complete
    from functions.dispatch.handler import handler as dispatch
    from functions.record.handler import handler as record

    # GIVEN a run whose params hold secrets, and a job config that renders them
    machine, arn = waiting_execution("scheduled-20250315T080000Z", run_input())
    jobs = FakeJobs(kind="glue")
    rt.jobs["glue"] = jobs
    config = {"job": "orders", "arguments": {f"--{key}": f"{{{{ params.{key} }}}}" for key in SENSITIVE}}
    # WHEN the dispatcher starts its job, the job's end completes it, and the execution's events record the run
    dispatch(request(kind="glue", params=PARAMS, config=config).model_dump(mode="json"), LambdaContext())
    (job,) = jobs.jobs
    assert SECRET in json.dumps(jobs.jobs[job].config, default=str)  # the secrets did reach the job
    ended = event("glue_job_succeeded", jobRunId=job)
    ended["time"] = rt.completer.clock()
    assert complete(ended, LambdaContext()) == {"result": "attempt SUCCEEDED"}
    for name in ("sfn_execution_running", "sfn_execution_succeeded"):
        assert record(event(name, executionArn=arn, stateMachineArn=machine, input=run_input()),
                      LambdaContext())["result"].startswith("run ")
    assert rt.recorder.runs.get(arn)["params"] == PARAMS
    # THEN no log line holds them
    assert_no_secret(log_text(caplog))


def test_a_malformed_dispatch_request_with_secret_params_logs_and_raises_no_secret(
        rt: Any, caplog: pytest.LogCaptureFixture) -> None:
    from functions.dispatch.handler import handler as dispatch

    bad = {"v": 1, "pipeline": "demo", "execution_id": EXECUTION, "run_id": "run-1", "action": "launch",
           "params": PARAMS}
    with pytest.raises(pydantic.ValidationError) as raised:
        dispatch(bad, LambdaContext())
    # the Lambda runtime logs an unhandled error's message and traceback to the function's log group
    assert SECRET not in str(raised.value)
    assert_no_secret(log_text(caplog, some=False))


def test_a_malformed_execution_event_is_rejected_without_logging_the_run_input(
        rt: Any, caplog: pytest.LogCaptureFixture) -> None:
    from functions.record.handler import handler as record

    broken = event("sfn_execution_failed", input=run_input())
    del broken["detail"]["executionArn"]
    assert record(broken, LambdaContext())["result"].startswith("rejected: ")
    assert_no_secret(log_text(caplog))


@pytest.mark.parametrize(("name", "planted", "missing"), [
    ("ecs_task_stopped_failed", {"overrides": {"containerOverrides": ecs_environment()}}, "taskArn"),
    # a `lambda` task's payload is its rendered job config, params and all
    ("lambda_destination_failure", {"requestPayload": PARAMS}, "requestContext"),
])
def test_a_malformed_job_event_is_rejected_without_logging_what_the_job_was_given(
        rt: Any, caplog: pytest.LogCaptureFixture, name: str, planted: dict[str, Any], missing: str) -> None:
    from functions.complete.handler import handler as complete

    broken = event(name, **planted)
    del broken["detail"][missing]
    assert complete(broken, LambdaContext())["result"].startswith("rejected: ")
    assert_no_secret(log_text(caplog))
