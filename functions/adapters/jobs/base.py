"""The port every job service adapter implements: start (idempotently), describe, stop.

Adapters translate AWS errors into the errors below at the edge; services never see botocore exceptions.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

JobStatus = Literal["RUNNING", "SUCCEEDED", "FAILED"]


@dataclass(frozen=True)
class JobStart:
    """One job to start. `key` is deterministic per (execution, task, item, attempt): the idempotency token."""

    kind: str
    key: str  # [A-Za-z0-9_-]{1,64}; used as clientToken / startedBy / marker argument / execution name
    pipeline: str
    run_id: str
    execution_id: str
    task: str
    config: dict[str, Any]  # the task's kind block with every template rendered
    tags: dict[str, str] = field(default_factory=dict)
    logical_date: str | None = None  # the run's logical date (a child pipeline run inherits it)
    item_index: int | None = None  # the foreach item, if any
    retry: int = 0  # the state attempt that claimed it


@dataclass(frozen=True)
class JobRef:
    """A started job: `external_id` is the id its state-change events carry; `details` what describe/stop need."""

    kind: str
    external_id: str
    details: dict[str, str] = field(default_factory=dict)
    log_location: str | None = None


@dataclass(frozen=True)
class JobState:
    status: JobStatus
    error: str | None = None  # message for a failed job (state reason, exit code, stopped reason)
    exit_code: int | None = None
    output: Any = None  # the task output for a succeeded job (see docs/runtime.md)
    usage: dict[str, Any] | None = None  # compute the service reports for an ended job (functions/events/usage.py)

    @property
    def ended(self) -> bool:
        return self.status != "RUNNING"


class JobError(Exception):
    """A job could not be started, described or stopped. `retryable`: throttling, capacity, concurrency limits."""

    def __init__(self, message: str, *, retryable: bool) -> None:
        super().__init__(message)
        self.retryable = retryable


class JobNotFoundError(JobError):
    """The service does not know the job (describe/stop of an id it has forgotten or never had)."""

    def __init__(self, message: str) -> None:
        super().__init__(message, retryable=False)


class JobAdapter(Protocol):
    kind: str

    def start(self, job: JobStart) -> JobRef:
        """Start the job, or return the one already started with the same key (never a second job)."""
        ...

    def find(self, job: JobStart) -> JobRef | None:
        """The job started with this key, if the service can tell (None when it was never started)."""
        ...

    def describe(self, ref: JobRef) -> JobState: ...

    def stop(self, ref: JobRef, reason: str) -> None:
        """Ask the service to stop the job; a job that already ended is not an error."""
        ...
