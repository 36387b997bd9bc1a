"""Each service's state-change event, reduced to a JobEvent (or an ExecutionEvent): the mapping rules in one place."""

from __future__ import annotations

import datetime as dt
import json
import re
from typing import Any

from ..adapters.clock import iso_utc
from ..runtime.text import joined, shown
from . import usage
from .models import (
    EcsContainer,
    EcsTaskStateChange,
    EmrServerlessJobRunStateChange,
    EmrStepStatusChange,
    GlueJobStateChange,
    LambdaInvocationRecord,
    SfnExecutionStatusChange,
)
from .types import EventError, ExecutionEvent, JobEvent, NotAJobError

GLUE_FAILED = frozenset({"FAILED", "TIMEOUT", "STOPPED", "ERROR"})
EMR_FAILED = frozenset({"FAILED", "CANCELLED", "INTERRUPTED"})
EMR_SERVERLESS_FAILED = frozenset({"FAILED", "CANCELLED"})
SFN_FAILED = frozenset({"FAILED", "TIMED_OUT", "ABORTED"})
CHILD_NAME = re.compile("[0-9a-f]{32}")  # functions/runtime/records.attempt_key
_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)


def iso(when: dt.datetime) -> str:
    """ISO 8601 UTC with milliseconds and "Z", as the run store writes times (so they sort as they compare)."""
    if when.tzinfo is None:  # EventBridge times are UTC; one without an offset is taken as UTC, not local time
        when = when.replace(tzinfo=dt.UTC)
    try:
        return iso_utc(when)
    except OverflowError:
        raise EventError(f"time {when.isoformat()} is out of range") from None


def iso_from_epoch_ms(millis: int | None, field: str) -> str | None:
    if millis is None:
        return None
    try:
        return iso(_EPOCH + dt.timedelta(milliseconds=millis))
    except OverflowError:
        raise EventError(f"detail.{field}: {millis} is not a time in epoch milliseconds") from None


def json_or_raw(text: str | None) -> Any:
    """A Step Functions input/output string, parsed; kept as the raw string when it is not JSON."""
    if text is None:
        return None
    try:
        return json.loads(text)
    except (ValueError, RecursionError):
        return text


def glue(event: GlueJobStateChange) -> JobEvent:
    d, time = event.detail, iso(event.time)
    if d.state == "SUCCEEDED":
        return JobEvent("glue", d.jobRunId, "SUCCEEDED", d.state, time)
    if d.state in GLUE_FAILED:
        return JobEvent("glue", d.jobRunId, "FAILED", d.state, time, error=joined(d.state, d.message))
    return JobEvent("glue", d.jobRunId, "RUNNING", d.state, time)


def emr_step(event: EmrStepStatusChange) -> JobEvent:
    d, time = event.detail, iso(event.time)
    if d.state == "COMPLETED":
        return JobEvent("emr", d.stepId, "SUCCEEDED", d.state, time)
    if d.state not in EMR_FAILED:
        return JobEvent("emr", d.stepId, "RUNNING", d.state, time)
    error = joined(d.state, d.message)
    if d.failureDetails:
        details = joined(*(d.failureDetails.get(key) for key in ("Reason", "reason", "Message", "message")))
        log = d.failureDetails.get("LogFile") or d.failureDetails.get("logFile")
        error = joined(error, details, f"log: {log}" if log else None, sep="; ")
    return JobEvent("emr", d.stepId, "FAILED", d.state, time, error=error)


def emr_serverless(event: EmrServerlessJobRunStateChange) -> JobEvent:
    d, time = event.detail, iso(event.time)
    if d.state == "SUCCESS":
        return JobEvent("emr_serverless", d.jobRunId, "SUCCEEDED", d.state, time)
    if d.state in EMR_SERVERLESS_FAILED:
        return JobEvent("emr_serverless", d.jobRunId, "FAILED", d.state, time, error=joined(d.state, d.stateDetails))
    return JobEvent("emr_serverless", d.jobRunId, "RUNNING", d.state, time)


def _container(container: EcsContainer) -> str:
    return joined(f"container {container.name or '?'}", container.reason)


def ecs(event: EcsTaskStateChange) -> JobEvent:
    d, time = event.detail, iso(event.time)
    if d.lastStatus != "STOPPED":
        return JobEvent("ecs", d.taskArn, "RUNNING", d.lastStatus, time)
    # The task's outcome is its containers': the first non-zero exit code fails it, all zeros succeed it.
    spent = usage.ecs(d.model_dump())
    failing = next((c for c in d.containers if c.exitCode not in (None, 0)), None)
    if failing is not None:
        error = joined(d.stoppedReason, _container(failing), f"exit code {failing.exitCode}", sep="; ")
        return JobEvent("ecs", d.taskArn, "FAILED", d.lastStatus, time, error=error, exit_code=failing.exitCode,
                        usage=spent)
    if any(c.exitCode == 0 for c in d.containers):
        return JobEvent("ecs", d.taskArn, "SUCCEEDED", d.lastStatus, time, exit_code=0, usage=spent)
    # Stopped without any exit code: it never ran (image pull, capacity, secrets) or was stopped before it did.
    stopped = joined(d.stopCode, d.stoppedReason)
    # ECS often copies the failing container's reason into stoppedReason: name it once.
    reasons = [_container(c) for c in d.containers if c.reason and c.reason not in stopped]
    error = joined(stopped, *reasons, sep="; ") or "task stopped without an exit code"
    return JobEvent("ecs", d.taskArn, "FAILED", d.lastStatus, time, error=error, usage=spent)


def lambda_result(record: LambdaInvocationRecord) -> JobEvent:
    request_id, time = record.requestContext.requestId, iso(record.timestamp)
    payload, condition = record.responsePayload, record.requestContext.condition
    failed = record.responseContext is not None and record.responseContext.functionError
    function = record.requestContext.functionArn
    if condition == "Success" and not failed:
        return JobEvent("lambda", request_id, "SUCCEEDED", "Success", time, output=payload, function=function)
    if isinstance(payload, dict):
        text = joined(payload.get("errorType"), payload.get("errorMessage"))
    else:
        text = payload if isinstance(payload, str) else ("" if payload is None else json.dumps(payload))
    # A record with no response never reached the function (EventAgeExceeded): the condition is all there is.
    error = f"{text} ({condition})" if text and condition else text or condition or "invocation failed"
    return JobEvent("lambda", request_id, "FAILED", condition or "Failure", time, error=error, function=function)


def _trigger(run_input: Any) -> Any:
    trigger = run_input.get("trigger") if isinstance(run_input, dict) else None
    return trigger.get("type") if isinstance(trigger, dict) else None


def is_child_run(run: ExecutionEvent) -> bool:
    """Started by a `pipeline` task (functions/adapters/jobs/pipeline.py): its input's trigger is 'parent'. An event
    without the input (too large to include) is told by the name, the attempt's key: 32 hex digits, where every
    top-level run's name has its kind before a '-' (functions/adapters/starts.execution_name)."""
    if run.input is None:
        return CHILD_NAME.fullmatch(run.name) is not None
    return bool(_trigger(run.input) == "parent")


def execution(event: SfnExecutionStatusChange) -> ExecutionEvent:
    d = event.detail
    return ExecutionEvent(
        execution_arn=d.executionArn, state_machine_arn=d.stateMachineArn, name=d.name, status=d.status,
        time=iso(event.time), start_date=iso_from_epoch_ms(d.startDate, "startDate"),
        stop_date=iso_from_epoch_ms(d.stopDate, "stopDate"), input=json_or_raw(d.input),
        output=json_or_raw(d.output), error=d.error, cause=d.cause,
    )


def pipeline(event: SfnExecutionStatusChange) -> JobEvent:
    """A child pipeline's execution, seen as the job of the parent's `pipeline` task; any other execution (a
    top-level run: scheduled, triggered, started by the API or by hand) raises NotAJobError."""
    run = execution(event)
    if not is_child_run(run):
        raise NotAJobError(f"execution {run.name} is not a child run of a Sluice task (its input's trigger is "
                           f"{shown(_trigger(run.input))}, not 'parent'): it ends no task")
    if run.status == "SUCCEEDED":
        return JobEvent("pipeline", run.execution_arn, "SUCCEEDED", run.status, run.time, output=run.output)
    if run.status in SFN_FAILED:
        error = joined(run.error, run.cause) or run.status
        return JobEvent("pipeline", run.execution_arn, "FAILED", run.status, run.time, error=error)
    return JobEvent("pipeline", run.execution_arn, "RUNNING", run.status, run.time)
