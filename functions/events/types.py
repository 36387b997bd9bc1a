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
