"""EventBridge events and Lambda invocation records -> JobEvent / ExecutionEvent: documented shapes map exactly;
anything else is an EventError (a top-level run's end a NotAJobError; a Lambda result from a bus is refused)."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from functions.events.jobs import event_kind, parse_completion, parse_execution_event, parse_job_event
from functions.events.types import EventError, ExecutionEvent, JobEvent, NotAJobError

EVENTS = Path(__file__).parent.parent / "events"
# A Lambda destination's events on a bus: what anyone allowed events:PutEvents can send, refused (docs/guarantees.md)
ON_A_BUS = ["lambda_destination_failure", "lambda_destination_success"]
FIXTURES = sorted(path.stem for path in EVENTS.glob("*.json") if path.stem not in ON_A_BUS)
CHILD_INPUT = json.dumps({"params": {}, "trigger": {"type": "parent", "pipeline": "orders", "run_id": "r-1",
                                                    "task": "load"}})

SM = "arn:aws:states:eu-west-1:123456789012:stateMachine:sluice-orders-daily"
EX = "arn:aws:states:eu-west-1:123456789012:execution:sluice-orders-daily:scheduled-202503"
TASK = "arn:aws:ecs:eu-west-1:123456789012:task/sluice/"
GLUE_FAILED_RUN = "jr_0a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8f9"
PULL_ERROR = ("CannotPullContainerError: pull image manifest has been retried 7 time(s): failed to resolve ref "
              "123456789012.dkr.ecr.eu-west-1.amazonaws.com/orders-export:1.4.3: not found")


def load(name: str) -> dict[str, Any]:
    event: dict[str, Any] = json.loads((EVENTS / f"{name}.json").read_text())
    return event


def as_child(event: Any) -> Any:
    """An execution event made a child run's (its input as functions/adapters/jobs/pipeline.py starts it)."""
    if isinstance(event, dict) and event.get("source") == "aws.states" and isinstance(event.get("detail"), dict):
        event = copy.deepcopy(event)
        event["detail"]["input"] = CHILD_INPUT
    return event


def job_event(event: Any) -> JobEvent:
    """What `complete` makes of the event (an execution event taken as a child run's)."""
    return parse_completion(as_child(event))[0]


def run_input(day: str) -> dict[str, Any]:
    return {"params": {"region": "emea"}, "logical_date": f"2025-03-{day}T08:00:00Z", "trigger": {"type": "schedule"}}


JOB_EVENTS: dict[str, JobEvent] = {
    "glue_job_succeeded": JobEvent(
        "glue", "jr_5f4e3d2c1b0a99887766554433221100ffeeddccbbaa99887766554433221100", "SUCCEEDED", "SUCCEEDED",
        "2025-03-14T08:12:31.000Z"),
    "glue_job_failed": JobEvent(
        "glue", GLUE_FAILED_RUN, "FAILED", "FAILED", "2025-03-14T08:14:02.000Z",
        error=f"FAILED: JobName:orders-load and JobRunId:{GLUE_FAILED_RUN} failed to execute with exception Role "
              "arn:aws:iam::123456789012:role/sluice-glue should be given assume role permissions for Glue Service."),
    "glue_job_timeout": JobEvent(
        "glue", "jr_9e8d7c6b5a4f30211203f4e5d6c7b8a99e8d7c6b5a4f30211203f4e5d6c7b8a9", "FAILED", "TIMEOUT",
        "2025-03-14T10:00:47.000Z", error="TIMEOUT: Job run timed out"),
    "glue_job_stopped": JobEvent(
        "glue", "jr_1f2e3d4c5b6a79880a1b2c3d4e5f6a7b1f2e3d4c5b6a79880a1b2c3d4e5f6a7b", "FAILED", "STOPPED",
        "2025-03-14T09:31:05.000Z", error="STOPPED: Job run stopped"),
    "emr_step_completed": JobEvent("emr", "s-1QCSYZ7RT0H3E", "SUCCEEDED", "COMPLETED", "2025-03-14T08:20:44.000Z"),
    "emr_step_running": JobEvent("emr", "s-1QCSYZ7RT0H3E", "RUNNING", "RUNNING", "2025-03-14T08:14:12.000Z"),
    "emr_step_failed": JobEvent(
        "emr", "s-2W7NQK4D9XPLV", "FAILED", "FAILED", "2025-03-14T08:17:09.000Z",
        error="FAILED: Step s-2W7NQK4D9XPLV (orders-aggregate) in Amazon EMR cluster j-3KX8Q1M2N0ABC (sluice-batch) "
              "failed at 2025-03-14 08:17 UTC."),
    "emr_serverless_job_running": JobEvent(
        "emr_serverless", "00fq3ct1n4sc0a01", "RUNNING", "RUNNING", "2025-03-14T08:31:42.000Z"),
    "emr_serverless_job_success": JobEvent(
        "emr_serverless", "00fq3ct1n4sc0a01", "SUCCEEDED", "SUCCESS", "2025-03-14T08:44:18.000Z"),
    "emr_serverless_job_failed": JobEvent(
        "emr_serverless", "00fq3d2m8rkv0b02", "FAILED", "FAILED", "2025-03-14T09:02:56.000Z",
        error="FAILED: Job failed, please check complete logs in configured logging destination. ExitCode: 1. Last "
              "few exceptions: pyspark.errors.exceptions.captured.AnalysisException: [PATH_NOT_FOUND] Path does not "
              "exist: s3://sluice-data-123456789012/orders/2025-03-14."),
    "ecs_task_running": JobEvent(
        "ecs", TASK + "6c4f1e2d8b7a4c3e9d0f1a2b3c4d5e6f", "RUNNING", "RUNNING", "2025-03-14T08:40:26.000Z"),
    "ecs_task_stopped_ok": JobEvent(
        "ecs", TASK + "6c4f1e2d8b7a4c3e9d0f1a2b3c4d5e6f", "SUCCEEDED", "STOPPED", "2025-03-14T08:52:41.000Z",
        exit_code=0, usage={"fargate_vcpu_seconds": 743.478, "fargate_memory_gb_seconds": 1486.956}),
    "ecs_task_stopped_failed": JobEvent(
        "ecs", TASK + "9b2e7d4f1a0c4e58b3d6f9a2c5e8b1d4", "FAILED", "STOPPED", "2025-03-14T09:05:13.000Z",
        error="Essential container in task exited; container orders-export: OutOfMemoryError: Container killed due "
              "to memory usage; exit code 137", exit_code=137,
        usage={"fargate_vcpu_seconds": 1495.104, "fargate_memory_gb_seconds": 2990.208}),
    "ecs_task_failed_to_start": JobEvent(
        "ecs", TASK + "e3a1c7b9d5f24086a2c4e6f8b0d2a4c6", "FAILED", "STOPPED", "2025-03-14T09:12:40.000Z",
        # Fargate bills from the image pull's start: a pull that kept failing for 32 minutes is billed
        error=f"TaskFailedToStart: {PULL_ERROR}",
        usage={"fargate_vcpu_seconds": 1942.815, "fargate_memory_gb_seconds": 3885.63}),
    "lambda_record_success": JobEvent(
        "lambda", "c2f8a1d4-7e39-4b06-a5c1-9d0e3f6b2a87", "SUCCEEDED", "Success", "2025-03-14T08:25:03.412Z",
        output={"rows": 1250, "path": "s3://sluice-data-123456789012/orders-enriched/2025-03-14/part-0000.parquet"},
        function="arn:aws:lambda:eu-west-1:123456789012:function:orders-enrich:$LATEST"),
    "lambda_record_failure": JobEvent(
        "lambda", "8e1d5b3f-0a27-4c94-b6e8-4f2a7c9d1e05", "FAILED", "RetriesExhausted", "2025-03-14T08:29:47.568Z",
        error="KeyError: 'customer_id' (RetriesExhausted)",
        function="arn:aws:lambda:eu-west-1:123456789012:function:orders-enrich:$LATEST"),
    "sfn_execution_running": JobEvent("pipeline", EX + "14T080000Z", "RUNNING", "RUNNING", "2025-03-14T08:00:02.000Z"),
    "sfn_execution_succeeded": JobEvent(
        "pipeline", EX + "14T080000Z", "SUCCEEDED", "SUCCEEDED", "2025-03-14T08:47:19.000Z",
        output={"status": "SUCCEEDED", "error": None, "cause": None}),
    "sfn_execution_failed": JobEvent(
        "pipeline", EX + "15T080000Z", "FAILED", "FAILED", "2025-03-15T08:13:51.000Z",
        error=f"Sluice.TaskFailed: glue job {GLUE_FAILED_RUN}: FAILED: Job run failed"),
    "sfn_execution_aborted": JobEvent(
        "pipeline", EX + "16T080000Z", "FAILED", "ABORTED", "2025-03-16T08:05:37.000Z", error="ABORTED"),
    "sfn_execution_timed_out": JobEvent(
        "pipeline", EX + "17T080000Z", "FAILED", "TIMED_OUT", "2025-03-17T10:00:03.000Z", error="TIMED_OUT"),
}

EXECUTIONS: dict[str, ExecutionEvent] = {
    "sfn_execution_running": ExecutionEvent(
        EX + "14T080000Z", SM, "scheduled-20250314T080000Z", "RUNNING", "2025-03-14T08:00:02.000Z",
        start_date="2025-03-14T08:00:02.118Z", input=run_input("14")),
    "sfn_execution_succeeded": ExecutionEvent(
        EX + "14T080000Z", SM, "scheduled-20250314T080000Z", "SUCCEEDED", "2025-03-14T08:47:19.000Z",
        start_date="2025-03-14T08:00:02.118Z", stop_date="2025-03-14T08:47:19.564Z", input=run_input("14"),
        output={"status": "SUCCEEDED", "error": None, "cause": None}),
    "sfn_execution_failed": ExecutionEvent(
        EX + "15T080000Z", SM, "scheduled-20250315T080000Z", "FAILED", "2025-03-15T08:13:51.000Z",
        start_date="2025-03-15T08:00:02.231Z", stop_date="2025-03-15T08:13:51.008Z", input=run_input("15"),
        error="Sluice.TaskFailed", cause=f"glue job {GLUE_FAILED_RUN}: FAILED: Job run failed"),
    "sfn_execution_aborted": ExecutionEvent(
        EX + "16T080000Z", SM, "scheduled-20250316T080000Z", "ABORTED", "2025-03-16T08:05:37.000Z",
        start_date="2025-03-16T08:00:01.975Z", stop_date="2025-03-16T08:05:37.402Z", input=run_input("16")),
    "sfn_execution_timed_out": ExecutionEvent(
        EX + "17T080000Z", SM, "scheduled-20250317T080000Z", "TIMED_OUT", "2025-03-17T10:00:03.000Z",
        start_date="2025-03-17T08:00:02.660Z", stop_date="2025-03-17T10:00:03.114Z", input=run_input("17")),
}


def test_every_fixture_has_an_expected_result() -> None:
    # GIVEN the fixture folder WHEN compared with the expectations THEN none is left untested, none is missing
    assert sorted(JOB_EVENTS) == FIXTURES
    assert set(EXECUTIONS) == {name for name in FIXTURES if name.startswith("sfn_")}


@pytest.mark.parametrize("name", FIXTURES)
def test_each_documented_event_reduces_to_the_exact_job_event(name: str) -> None:
    # GIVEN an event shaped like AWS's documented example (an execution's, as a child run's)
    event = as_child(load(name))
    # WHEN it is parsed as a job event
    job, event_id = parse_completion(event)
    # THEN status, id, state, time, error, exit code and output are exactly as expected, and its kind agrees
    assert job == JOB_EVENTS[name]
    if job.kind != "lambda":
        assert event_kind(event) == job.kind and event_id == event["id"]


@pytest.mark.parametrize("name", ON_A_BUS)
def test_a_lambda_result_from_an_event_bus_is_refused(name: str) -> None:
    # GIVEN a "Lambda Function Invocation Result" event, which anyone allowed events:PutEvents can put on a bus
    # WHEN parsed THEN it is refused, saying why and what is taken instead
    with pytest.raises(EventError, match=r"refused: source 'lambda', .* came through an event bus, where anyone") as e:
        parse_completion(load(name))
    assert not isinstance(e.value, NotAJobError) and "invocation record its destination delivers" in str(e.value)


@pytest.mark.parametrize("name", sorted(EXECUTIONS))
def test_a_top_level_runs_execution_event_is_no_job(name: str) -> None:
    # GIVEN a documented execution event of a scheduled run (no Sluice task started it) WHEN parsed for complete
    # THEN it is no job's event, and says so
    with pytest.raises(NotAJobError, match=r"is not a child run of a Sluice task .*trigger is 'schedule'"):
        parse_completion(load(name))


@pytest.mark.parametrize(("name", "child"), [("f3b1c0a9d8e7f6a5b4c3d2e1f0a9b8c7", True),
                                             ("scheduled-20250314T080000Z", False), ("api-f3b1c0a9d8e7f6a5", False)])
def test_an_execution_event_without_its_input_is_told_by_its_name(name: str, child: bool) -> None:
    # GIVEN an execution event whose input was too large to include WHEN parsed for complete
    event = _with("sfn_execution_succeeded", _set(input=None, name=name))
    # THEN a child run is named by its attempt's key (32 hex digits); any other name is no job
    if child:
        assert parse_completion(event)[0].status == "SUCCEEDED"
    else:
        with pytest.raises(NotAJobError, match="trigger is missing"):
            parse_completion(event)


@pytest.mark.parametrize("name", sorted(EXECUTIONS))
def test_each_execution_event_reduces_to_the_exact_execution_event(name: str) -> None:
    # GIVEN a Step Functions execution status change WHEN parsed for the record function
    execution = parse_execution_event(load(name))
    # THEN epoch-millisecond dates become ISO 8601 UTC and input/output JSON strings are parsed
    assert execution == EXECUTIONS[name]


def _with(name: str, change: Callable[[dict[str, Any]], None]) -> dict[str, Any]:
    event = copy.deepcopy(load(name))
    change(event.get("detail", event))  # an invocation record is its own detail
    return event


def _set(**fields: Any) -> Callable[[dict[str, Any]], None]:
    return lambda detail: detail.update(fields)


def _drop(*names: str) -> Callable[[dict[str, Any]], None]:
    def drop(detail: dict[str, Any]) -> None:
        for name in names:
            detail.pop(name, None)
    return drop


def _containers(*containers: dict[str, Any]) -> Callable[[dict[str, Any]], None]:
    return _set(containers=[{"name": f"c{i}", **c} for i, c in enumerate(containers)])


@pytest.mark.parametrize(("name", "change", "status", "error", "exit_code"), [
    ("glue_job_failed", _set(state="ERROR", message=None), "FAILED", "ERROR", None),
    ("glue_job_succeeded", _set(state="RUNNING"), "RUNNING", None, None),
    ("emr_step_failed", _set(state="CANCELLED", message="cancelled"), "FAILED", "CANCELLED: cancelled", None),
    ("emr_step_failed", _set(state="INTERRUPTED", message=None), "FAILED", "INTERRUPTED", None),
    ("emr_step_failed", _set(message="m", failureDetails={"Reason": "Unknown error.", "LogFile": "s3://l/stderr.gz"}),
     "FAILED", "FAILED: m; Unknown error.; log: s3://l/stderr.gz", None),
    ("emr_step_running", _set(state="PENDING"), "RUNNING", None, None),
    ("emr_step_running", _set(state="CANCEL_PENDING"), "RUNNING", None, None),
    ("emr_serverless_job_failed", _set(state="CANCELLED", stateDetails=None), "FAILED", "CANCELLED", None),
    ("emr_serverless_job_running", _set(state="CANCELLING"), "RUNNING", None, None),
    ("emr_serverless_job_running", _set(state="QUEUED"), "RUNNING", None, None),
    ("ecs_task_stopped_failed", _containers({"exitCode": 0}, {"exitCode": None}, {"exitCode": 2, "reason": "boom"}),
     "FAILED", "Essential container in task exited; container c2: boom; exit code 2", 2),
    ("ecs_task_stopped_failed", _containers({"exitCode": 0}, {"exitCode": None}), "SUCCEEDED", None, 0),
    ("ecs_task_stopped_failed", _containers({"exitCode": 3}, {"exitCode": 4}),
     "FAILED", "Essential container in task exited; container c0; exit code 3", 3),
    ("ecs_task_failed_to_start", _set(stopCode="UserInitiated", stoppedReason="Task stopped by user", containers=[]),
     "FAILED", "UserInitiated: Task stopped by user", None),
    ("ecs_task_failed_to_start", _drop("stopCode", "stoppedReason", "containers"),
     "FAILED", "task stopped without an exit code", None),
    ("ecs_task_stopped_failed", _set(lastStatus="DEPROVISIONING"), "RUNNING", None, None),
    ("ecs_task_running", _set(lastStatus="PENDING"), "RUNNING", None, None),
])
def test_each_service_state_maps_to_its_status(name: str, change: Callable[[dict[str, Any]], None], status: str,
                                               error: str | None, exit_code: int | None) -> None:
    # GIVEN a documented event with its state (or containers) changed WHEN parsed
    job = job_event(_with(name, change))
    # THEN it has the status, error text and exit code the mapping rules give
    assert (job.status, job.error, job.exit_code) == (status, error, exit_code)


def _too_old(detail: dict[str, Any]) -> None:
    # An event older than the maximum age is dropped unrun: its record has no response.
    _drop("responseContext", "responsePayload")(detail)
    detail["requestContext"]["condition"] = "EventAgeExceeded"


@pytest.mark.parametrize(("change", "state", "error"), [
    (_too_old, "EventAgeExceeded", "EventAgeExceeded"),
    (_set(responsePayload={"errorMessage": "RequestId: 8e1d Process exited before completing request"}),
     "RetriesExhausted", "RequestId: 8e1d Process exited before completing request (RetriesExhausted)"),
    (_set(responsePayload="plain failure"), "RetriesExhausted", "plain failure (RetriesExhausted)"),
    (lambda d: d["requestContext"].pop("condition"), "Failure", "KeyError: 'customer_id'"),
])
def test_lambda_failures_name_the_error_or_the_condition(change: Callable[[dict[str, Any]], None], state: str,
                                                          error: str) -> None:
    # GIVEN a Lambda failure record without a response (event too old), or with a bare message WHEN parsed
    job = job_event(_with("lambda_record_failure", change))
    # THEN the error says what the record says, and the condition is the state
    assert (job.status, job.state, job.error) == ("FAILED", state, error)


def test_a_lambda_success_with_no_return_value_has_no_output() -> None:
    # GIVEN a successful invocation whose handler returned None WHEN parsed
    job = job_event(_with("lambda_record_success", _set(responsePayload=None)))
    # THEN it succeeded with no output
    assert (job.status, job.output) == ("SUCCEEDED", None)


@pytest.mark.parametrize(("change", "status", "error", "output"), [
    (_set(status="PENDING_REDRIVE"), "RUNNING", None, None),
    (_set(status="SUCCEEDED", output="not json {"), "SUCCEEDED", None, "not json {"),
    (_set(status="SUCCEEDED", output=None), "SUCCEEDED", None, None),
    (_set(status="TIMED_OUT", error="States.Timeout", cause=None), "FAILED", "States.Timeout", None),
    (_set(status="ABORTED", error=None, cause="stopped by an operator"), "FAILED", "stopped by an operator", None),
])
def test_child_pipeline_executions_map_to_job_events(change: Callable[[dict[str, Any]], None], status: str,
                                                     error: str | None, output: Any) -> None:
    # GIVEN a child execution's status change WHEN parsed as the parent task's job event
    job = job_event(_with("sfn_execution_running", change))
    # THEN redrive-pending is still running, failures say "<error>: <cause>" or what they have, output is parsed
    assert (job.kind, job.status, job.error, job.output) == ("pipeline", status, error, output)


def test_execution_input_and_output_that_are_not_json_are_kept_as_they_came() -> None:
    # GIVEN an execution whose output is not JSON and whose input is missing, stopped a redrive ago
    event = _with("sfn_execution_succeeded", _set(output="{truncated", input=None, status="PENDING_REDRIVE"))
    # WHEN parsed for the record function
    execution = parse_execution_event(event)
    # THEN nothing is lost or invented
    assert (execution.status, execution.input, execution.output) == ("PENDING_REDRIVE", None, "{truncated")


@pytest.mark.parametrize(("time", "expected"), [
    ("2025-03-14T08:12:31+02:00", "2025-03-14T06:12:31.000Z"),
    ("2025-03-14T08:12:31", "2025-03-14T08:12:31.000Z"),
    ("2025-03-14T08:12:31.5Z", "2025-03-14T08:12:31.500Z"),
])
def test_event_times_are_written_as_the_run_store_writes_times(time: str, expected: str) -> None:
    # GIVEN an event whose time has an offset, none, or a fraction WHEN parsed
    event = load("glue_job_succeeded") | {"time": time}
    # THEN the time is UTC with milliseconds and "Z", so stored times sort as they compare
    assert job_event(event).time == expected


def _without(name: str, *path: str) -> dict[str, Any]:
    event = copy.deepcopy(load(name))
    parent = event
    for part in path[:-1]:
        parent = parent[part]
    del parent[path[-1]]
    return event


@pytest.mark.parametrize(("event", "message"), [
    ([], "not an EventBridge event: expected a JSON object, got list"),
    ("{}", "expected a JSON object, got str"),
    (None, "got NoneType"),
    ({}, "unsupported event source: source missing, detail-type missing"),
    (load("glue_job_succeeded") | {"source": "aws.ec2", "detail-type": "EC2 Instance State-change Notification"},
     "unsupported event source: source 'aws.ec2', detail-type 'EC2 Instance State-change Notification'; Sluice "
     "handles events from aws.ecs, aws.emr, aws.emr-serverless, aws.glue, aws.states"),
    (load("glue_job_succeeded") | {"source": ["aws.glue"]}, "unsupported event source: source of type list"),
    (load("glue_job_succeeded") | {"detail-type": "Glue Job Run Status"},
     "unsupported detail-type: source 'aws.glue', detail-type 'Glue Job Run Status'; from aws.glue Sluice handles "
     "'Glue Job State Change'"),
    (load("lambda_destination_success") | {"detail-type": "Lambda Function Invocation Result"},
     "unsupported event source: source 'lambda', detail-type 'Lambda Function Invocation Result'"),
    (_without("glue_job_succeeded", "detail"),
     "malformed event (source 'aws.glue', detail-type 'Glue Job State Change'): detail: field required"),
    (_without("glue_job_succeeded", "detail", "jobRunId"), "detail.jobRunId: field required"),
    (_without("emr_step_failed", "detail", "stepId"), "(source 'aws.emr', detail-type 'EMR Step Status Change'): "
                                                      "detail.stepId: field required"),
    (_without("emr_serverless_job_failed", "detail", "state"), "detail.state: field required"),
    (_without("ecs_task_stopped_ok", "detail", "taskArn"), "detail.taskArn: field required"),
    (_without("lambda_record_failure", "requestContext", "requestId"),
     "malformed Lambda invocation record: requestContext.requestId: field required"),
    (load("lambda_record_failure") | {"timestamp": "soon"}, "timestamp: input should be a valid datetime"),
    (load("lambda_record_failure") | {"requestContext": "r-1"}, "requestContext: input should be a valid dictionary"),
    (_without("sfn_execution_failed", "detail", "executionArn"), "detail.executionArn: field required"),
    (_without("glue_job_succeeded", "id"), "malformed event (source 'aws.glue', detail-type 'Glue Job State "
                                           "Change'): id: field required"),
    (_with("glue_job_succeeded", _set(jobRunId=123)), "detail.jobRunId: input should be a valid string (got int)"),
    (load("glue_job_succeeded") | {"detail": "jr_1"}, "detail: input should be a valid dictionary"),
    (_with("ecs_task_stopped_ok", _containers({"exitCode": "zero"})),
     "detail.containers.0.exitCode: input should be a valid integer, unable to parse string as an integer (got str)"),
    (_with("ecs_task_stopped_ok", _set(containers={"exitCode": 0})), "detail.containers: input should be a valid list"),
    (_with("sfn_execution_failed", _set(status="EXPLODED")),
     "detail.status: input should be 'RUNNING', 'SUCCEEDED', 'FAILED', 'TIMED_OUT', 'ABORTED' or 'PENDING_REDRIVE' "
     "(got str)"),
    (_with("sfn_execution_failed", _set(startDate="yesterday")), "detail.startDate: input should be a valid integer"),
    (_with("sfn_execution_failed", _set(stopDate=10**20)), "detail.stopDate: 100000000000000000000 is not a time"),
    (load("glue_job_succeeded") | {"time": "soon"}, "time: input should be a valid datetime"),
])
def test_malformed_or_foreign_events_raise_event_error_saying_what_is_wrong(event: Any, message: str) -> None:
    # GIVEN something that is not a usable event of a handled type WHEN parsed as a job event
    with pytest.raises(EventError) as raised:
        job_event(event)
    # THEN an EventError names the field or the source/detail-type at fault
    assert message in str(raised.value)


@pytest.mark.parametrize("name", ["glue_job_succeeded", "lambda_destination_failure", "ecs_task_running"])
def test_only_step_functions_events_are_execution_events(name: str) -> None:
    # GIVEN a job event of another service WHEN parsed for the record function
    with pytest.raises(EventError, match="not a Step Functions execution status change: source '"):
        parse_execution_event(load(name))


def test_execution_event_errors_name_the_field() -> None:
    # GIVEN an execution event without its state machine WHEN parsed THEN the missing field is named
    with pytest.raises(EventError, match=r"detail\.stateMachineArn: field required"):
        parse_execution_event(_without("sfn_execution_running", "detail", "stateMachineArn"))


def test_extra_fields_aws_may_add_are_ignored() -> None:
    # GIVEN documented events with fields AWS does not send today, at the top and in the detail
    for name in FIXTURES:
        event = _with(name, _set(someNewField={"nested": [1, 2]})) | {"another-new-field": True}
        # WHEN parsed THEN they map as before
        assert job_event(event) == JOB_EVENTS[name]


# Hypothesis: whatever arrives, the parsers answer with an event or an EventError, never another exception.

SOURCES = ["aws.glue", "aws.emr", "aws.emr-serverless", "aws.ecs", "lambda", "aws.states", "aws.ec2"]
DETAIL_TYPES = ["Glue Job State Change", "EMR Step Status Change", "EMR Serverless Job Run State Change",
                "ECS Task State Change", "Lambda Function Invocation Result - Success",
                "Lambda Function Invocation Result - Failure", "Step Functions Execution Status Change"]
KEYS = ["version", "id", "detail-type", "source", "account", "time", "region", "resources", "detail", "timestamp",
        "requestContext", "requestId", "responsePayload", "input", "trigger", "type"]
scalars = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(), st.text(max_size=20),
                    st.sampled_from([*SOURCES, *DETAIL_TYPES, "STOPPED", "SUCCEEDED", "2025-03-14T08:00:00Z",
                                     "0001-01-01T00:00:00+05:00", "9999-12-31T23:59:59-05:00", "[[[", "{}"]))
json_values = st.recursive(scalars, lambda inner: st.one_of(
    st.lists(inner, max_size=4), st.dictionaries(st.one_of(st.sampled_from(KEYS), st.text(max_size=10)), inner,
                                                 max_size=5)), max_leaves=20)
events = st.dictionaries(st.one_of(st.sampled_from(KEYS), st.text(max_size=10)), json_values, max_size=10)


def _paths(node: Any, path: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    yield path
    if isinstance(node, dict):
        for key, value in node.items():
            yield from _paths(value, (*path, key))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from _paths(value, (*path, index))


@st.composite
def mutated_fixtures(draw: st.DrawFn) -> dict[str, Any]:
    event = copy.deepcopy(load(draw(st.sampled_from([*FIXTURES, *ON_A_BUS]))))
    for _ in range(draw(st.integers(1, 3))):
        path = draw(st.sampled_from([p for p in _paths(event) if p]))
        parent = event
        for part in path[:-1]:
            parent = parent[part]
        if draw(st.booleans()):
            parent[path[-1]] = draw(json_values)
        else:
            del parent[path[-1]]
    return event


def _answers_or_refuses(event: Any) -> None:
    for parse, result_type in ((job_event, JobEvent), (parse_job_event, JobEvent),
                               (parse_execution_event, ExecutionEvent)):
        try:
            result = parse(event)
        except EventError as exc:
            assert str(exc)
        else:
            assert isinstance(result, result_type)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(event=st.one_of(events, json_values))
def test_arbitrary_json_gives_an_event_or_an_event_error(event: Any) -> None:
    _answers_or_refuses(event)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(event=mutated_fixtures())
def test_mutated_documented_events_give_an_event_or_an_event_error(event: dict[str, Any]) -> None:
    _answers_or_refuses(event)
