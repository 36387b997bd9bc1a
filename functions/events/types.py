"""What the completion and record functions need from an AWS event, whatever service sent it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

JobEventStatus = Literal["RUNNING", "SUCCEEDED", "FAILED"]
ExecutionStatus = Literal["RUNNING", "SUCCEEDED", "FAILED", "TIMED_OUT", "ABORTED", "PENDING_REDRIVE"]


class EventError(ValueError):
    """An event Sluice cannot use: wrong shape, missing fields, or a source it does not handle."""


class NotAJobError(EventError):
    """A well-formed event about something that is no Sluice job (a top-level run's end): nothing to do."""


@dataclass(frozen=True)
class JobEvent:
    """A job's state change. `kind` is a Sluice task kind; `external_id` matches JobRef.external_id."""

    kind: str
    external_id: str
    status: JobEventStatus  # RUNNING for every non-terminal state
    state: str  # the service's own state name (SUCCEEDED, SUCCESS, STOPPED, COMPLETED, ...)
    time: str  # the event's time, ISO 8601
    error: str | None = None
    exit_code: int | None = None
    output: Any = None  # Lambda responsePayload; child execution output (parsed JSON)
    usage: dict[str, Any] | None = None  # compute used, when the event itself reports it (ECS)
    function: str | None = None  # a Lambda invocation record's function ARN: the function that ran


def function_name(reference: str) -> str:
    """The function's name in any form Lambda takes it: a name (`f`, `f:alias`), a partial ARN
    (`123456789012:function:f`) or a full ARN (`arn:aws:lambda:eu-west-1:123456789012:function:f:$LATEST`)."""
    if reference.startswith("arn:"):
        parts = reference.split(":")
        return parts[6] if len(parts) > 6 else reference
    if ":function:" in reference:
        return reference.split(":function:", 1)[1].split(":", 1)[0]
    return reference.split(":", 1)[0]


@dataclass(frozen=True)
class ExecutionEvent:
    """A "Step Functions Execution Status Change" event."""

    execution_arn: str
    state_machine_arn: str
    name: str
    status: ExecutionStatus
    time: str
    start_date: str | None = None  # ISO 8601 (the event carries epoch milliseconds)
    stop_date: str | None = None
    input: Any = None
    output: Any = None
    error: str | None = None
    cause: str | None = None
