"""Small fakes for the runtime's edges, and a fault plan that breaks them on cue (test_stateful_runtime.py).

- `Faults`: armed per port ("dynamodb", "tokens", "jobs"), it fires at the Nth call from now: a throttling error, a
  `Crash` (the Lambda dying) before or after the call, or an `interleave` (another invocation runs in between).
  Armed at an operation instead (`arm_at`, one of `OPERATIONS`), it fires at that operation's next call, whatever
  came before it.
- `FaultyClient`: a boto3 client (the run store's DynamoDB client, or the fake Step Functions client) whose every
  call, paginated pages included, passes through the plan.
- `FakeStates`: the Step Functions side, in memory: executions (RUNNING / ABORTED / ended), Task states with their
  current token, answered once (a second answer gets the ClientError codes the real `Tokens` translates),
  heartbeats, States.Timeout / States.HeartbeatTimeout and the Retry they schedule.
- `FakeJobService` with two `JobAdapter`s: `DedupeAdapter` (the service refuses a second job for a key, as EMR
  Serverless' clientToken) and `LookupAdapter` (Glue-like: look the key up, then start, through the real
  `start_once`: not atomic).
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from botocore.exceptions import ClientError

from functions.adapters.jobs.base import JobError, JobNotFoundError, JobRef, JobStart, JobState
from functions.adapters.jobs.errors import start_once

THROTTLES = {"dynamodb": ("ThrottlingException", "ProvisionedThroughputExceededException"),
             "tokens": ("ThrottlingException",)}
KINDS = ("throttle", "crash", "crash_after", "interleave")
# The operations the runtime calls, by port, as `Faults` sees them: the boto3 method names (a paginated query's
# pages are each a "query") and the job adapters' "<kind>.<call>".
OPERATIONS = {"dynamodb": ("put_item", "update_item", "delete_item", "get_item", "query"),
              "tokens": ("describe_execution", "send_task_success", "send_task_failure", "send_task_heartbeat"),
              "jobs": ("lookup.find", "lookup.start", "lookup.describe", "lookup.stop",
                       "dedupe.start", "dedupe.describe", "dedupe.stop")}


class Crash(BaseException):  # not an error the code may catch: the Lambda container is gone
    """The Lambda invocation died here (timeout, out of memory): nothing after this point of it runs."""


def client_error(code: str, operation: str, message: str = "", status: int = 400) -> ClientError:
    return ClientError({"Error": {"Code": code, "Message": message or code},
                        "ResponseMetadata": {"HTTPStatusCode": status}}, operation)


@dataclass
class Armed:
    countdown: int
    kind: str


@dataclass
class Faults:
    """One armed fault per port at most, and one per operation (`at`); `fired` records (port, operation, kind) of
    every fault that went off. At most one fires per call: when a port's countdown ends at a call whose operation
    is armed too, the operation's fault fires and the port's is spent."""

    interleave: Callable[[], None] = lambda: None
    armed: dict[str, Armed] = field(default_factory=dict)
    at: dict[str, str] = field(default_factory=dict)  # operation -> kind
    fired: list[tuple[str, str, str]] = field(default_factory=list)
    calls: dict[str, int] = field(default_factory=dict)
    _throttles: Iterator[int] = field(default_factory=itertools.count)

    def arm(self, port: str, nth: int, kind: str) -> None:
        self.armed[port] = Armed(nth, kind)

    def arm_at(self, operation: str, kind: str) -> None:
        if not any(operation in names for names in OPERATIONS.values()):
            raise ValueError(f"no such operation: {operation}")
        self.at[operation] = kind

    def _due(self, port: str, operation: str) -> str | None:
        kind = self.at.pop(operation, None)
        armed = self.armed.get(port)
        if armed is not None:
            armed.countdown -= 1
            if armed.countdown <= 0:
                del self.armed[port]
                kind = kind or armed.kind
        return kind

    def before(self, port: str, operation: str) -> str | None:
        """Count a call; raise or interleave when an armed fault is due; "crash_after" is returned to the caller."""
        self.calls[port] = self.calls.get(port, 0) + 1
        kind = self._due(port, operation)
        if kind is None:
            return None
        self.fired.append((port, operation, kind))
        if kind == "crash":
            raise Crash(f"{port}.{operation}")
        if kind == "throttle":
            if port == "jobs":
                raise JobError(f"{operation} failed: ThrottlingException: Rate exceeded", retryable=True)
            codes = THROTTLES[port]
            raise client_error(codes[next(self._throttles) % len(codes)], operation, "Rate exceeded")
        if kind == "interleave":
            self.interleave()
            return None
        return kind

    def call(self, port: str, operation: str, do: Callable[[], Any]) -> Any:
        after = self.before(port, operation)
        result = do()
        if after == "crash_after":
            raise Crash(f"{port}.{operation} (after it took effect)")
        return result


class FaultyClient:
    """A boto3 client whose calls (and paginated pages) pass through `faults` as `port`."""

    def __init__(self, client: Any, faults: Faults, port: str) -> None:
        self._client, self._faults, self._port = client, faults, port

    def get_paginator(self, operation: str) -> Any:
        return _Paginator(self._client.get_paginator(operation), self._faults, self._port, operation)

    def __getattr__(self, name: str) -> Any:
        method = getattr(self._client, name)
        if not callable(method) or name.startswith("_") or name in {"meta", "exceptions"}:
            return method

        def call(*args: Any, **kwargs: Any) -> Any:
            return self._faults.call(self._port, name, lambda: method(*args, **kwargs))

        return call


class _Paginator:
    def __init__(self, paginator: Any, faults: Faults, port: str, operation: str) -> None:
        self._paginator, self._faults, self._port, self._operation = paginator, faults, port, operation

    def paginate(self, **kwargs: Any) -> Iterator[Any]:
        pages = iter(self._paginator.paginate(**kwargs))
        while True:
            after = self._faults.before(self._port, self._operation)
            try:
                page = next(pages)
            except StopIteration:
                return
            if after == "crash_after":
                raise Crash(f"{self._port}.{self._operation} (after it took effect)")
            yield page


# ---- Step Functions ----------------------------------------------------------------------------------------------


@dataclass
class TaskState:
    """One Task state of an execution (a foreach item is its own state): its current attempt and token."""

    execution: str
    task: str
    item: int | None
    attempt: int
    token: str
    entered: float  # model seconds: when this attempt began (its TimeoutSeconds runs from here)
    last_beat: float
    timeout: int
    heartbeat: int | None
    status: str = "WAITING"  # WAITING, SUCCEEDED, FAILED
    answers: list[tuple[str, str, Any]] = field(default_factory=list)  # (token, how, what)


@dataclass
class FakeStates:
    """Executions and their Task states; the client `Tokens` and `Executions` call (send_task_*, describe_execution).

    `retry(state, error)` is called when a state fails with an error its Retry matches (the state machine then
    sends a new DispatchRequest); `failed(state, error)` when it fails for good (its Catch sends `fail`)."""

    now: Callable[[], float]
    retry: Callable[[TaskState, str], None]
    failed: Callable[[TaskState, str, str], None]
    retryable: frozenset[str] = frozenset()
    max_retries: int = 2
    executions: dict[str, str] = field(default_factory=dict)
    states: list[TaskState] = field(default_factory=list)
    by_token: dict[str, TaskState] = field(default_factory=dict)
    heartbeats: list[str] = field(default_factory=list)
    _tokens: Iterator[int] = field(default_factory=itertools.count)

    def enter(self, execution: str, task: str, item: int | None, *, timeout: int,
              heartbeat: int | None = None) -> TaskState:
        state = TaskState(execution, task, item, 0, "", self.now(), self.now(), timeout, heartbeat)
        self.states.append(state)
        self._new_token(state)
        return state

    def _new_token(self, state: TaskState) -> None:
        item = "" if state.item is None else state.item
        state.token = f"tok-{state.task}-{item}-{state.attempt}-{next(self._tokens)}"
        state.entered = state.last_beat = self.now()
        self.by_token[state.token] = state

    def waiting(self, state: TaskState, token: str | None = None) -> bool:
        return (state.status == "WAITING" and self.executions.get(state.execution) == "RUNNING"
                and (token is None or token == state.token))

    # ---- the client ----------------------------------------------------------------------------------------

    def describe_execution(self, executionArn: str) -> dict[str, Any]:  # boto3's parameter name
        if executionArn not in self.executions:
            raise client_error("ExecutionDoesNotExist", "DescribeExecution")
        return {"executionArn": executionArn, "status": self.executions[executionArn]}

    def send_task_success(self, taskToken: str, output: str) -> dict[str, Any]:
        self._answer(taskToken, "success", output, "SendTaskSuccess")
        return {}

    def send_task_failure(self, taskToken: str, error: str, cause: str = "") -> dict[str, Any]:
        self._answer(taskToken, "failure", (error, cause), "SendTaskFailure")
        return {}

    def send_task_heartbeat(self, taskToken: str) -> dict[str, Any]:
        state = self._waiting_on(taskToken, "SendTaskHeartbeat")
        state.last_beat = self.now()
        self.heartbeats.append(taskToken)
        return {}

    def _waiting_on(self, token: str, operation: str) -> TaskState:
        state = self.by_token.get(token)
        if state is None:
            raise client_error("InvalidToken", operation, "Invalid token")
        if self.executions.get(state.execution) != "RUNNING":
            raise client_error("TaskDoesNotExist", operation, "the execution has ended")
        if not self.waiting(state, token):
            raise client_error("TaskTimedOut", operation, "Task Timed Out")
        return state

    def _answer(self, token: str, how: str, what: Any, operation: str) -> None:
        state = self._waiting_on(token, operation)
        state.answers.append((token, how, what))
        if how == "success":
            state.status = "SUCCEEDED"
        else:
            self.fail(state, what[0], what[1])

    # ---- the state machine's own moves ------------------------------------------------------------------------

    def fail(self, state: TaskState, error: str, cause: str) -> None:
        """The state's attempt failed with `error`: Retry (a new attempt, a new token) or Catch (failed for good)."""
        if error in self.retryable and state.attempt < self.max_retries:
            state.attempt += 1
            self._new_token(state)
            self.retry(state, error)
        else:
            state.status = "FAILED"
            self.failed(state, error, cause)

    def time_passes(self) -> list[tuple[TaskState, str]]:
        """Time out the waiting states whose TimeoutSeconds or HeartbeatSeconds ran out; which, and why."""
        expired = []
        for state in self.states:
            if not self.waiting(state):
                continue
            if self.now() - state.entered >= state.timeout:
                expired.append((state, "States.Timeout"))
            elif state.heartbeat is not None and self.now() - state.last_beat >= state.heartbeat:
                expired.append((state, "States.HeartbeatTimeout"))
        for state, error in expired:
            self.fail(state, error, "the state timed out")
        return expired

    def stop(self, execution: str) -> None:
        self.executions[execution] = "ABORTED"


# ---- job services ------------------------------------------------------------------------------------------------


@dataclass
class Job:
    external_id: str
    kind: str
    key: str
    execution: str
    task: str
    item: int | None
    retry: int
    started: float
    execution_status: str  # the execution's status when the job was started
    status: str = "RUNNING"  # RUNNING, SUCCEEDED, FAILED
    error: str | None = None


@dataclass
class FakeJobService:
    """Every job the adapters started, by external id; `status_of(execution)` says how the execution stood."""

    faults: Faults
    now: Callable[[], float]
    status_of: Callable[[str], str]
    jobs: dict[str, Job] = field(default_factory=dict)
    _ids: Iterator[int] = field(default_factory=itertools.count)

    def launch(self, kind: str, job: JobStart) -> JobRef:
        external = f"{kind}-run-{next(self._ids)}"
        self.jobs[external] = Job(external, kind, job.key, job.execution_id, job.task, job.item_index, job.retry,
                                  self.now(), self.status_of(job.execution_id))
        return JobRef(kind, external, {"service": kind})

    def with_key(self, kind: str, key: str) -> Job | None:
        return next((j for j in self.jobs.values() if j.kind == kind and j.key == key), None)


@dataclass
class _Adapter:
    service: FakeJobService
    kind: str = "fake"

    def _call(self, operation: str, do: Callable[[], Any]) -> Any:
        return self.service.faults.call("jobs", f"{self.kind}.{operation}", do)

    def find(self, job: JobStart) -> JobRef | None:
        def look() -> JobRef | None:
            found = self.service.with_key(self.kind, job.key)
            return JobRef(self.kind, found.external_id, {"service": self.kind}) if found else None
        return self._call("find", look)  # type: ignore[no-any-return]

    def describe(self, ref: JobRef) -> JobState:
        def read() -> JobState:
            job = self.service.jobs.get(ref.external_id)
            if job is None:
                raise JobNotFoundError(f"{self.kind}: no job {ref.external_id}")
            return JobState(job.status, error=job.error)  # type: ignore[arg-type]
        return self._call("describe", read)  # type: ignore[no-any-return]

    def stop(self, ref: JobRef, reason: str) -> None:
        def stop() -> None:
            job = self.service.jobs.get(ref.external_id)
            if job is None:
                raise JobNotFoundError(f"{self.kind}: no job {ref.external_id}")
            if job.status == "RUNNING":
                job.status, job.error = "FAILED", f"stopped: {reason}"
        self._call("stop", stop)


@dataclass
class DedupeAdapter(_Adapter):
    """The service itself refuses a second job for one key (EMR Serverless clientToken, ECS clientToken)."""

    kind: str = "dedupe"

    def start(self, job: JobStart) -> JobRef:
        def start() -> JobRef:
            found = self.service.with_key(self.kind, job.key)
            if found is not None:
                return JobRef(self.kind, found.external_id, {"service": self.kind})
            return self.service.launch(self.kind, job)
        return self._call("start", start)  # type: ignore[no-any-return]


@dataclass
class LookupAdapter(_Adapter):
    """Glue-like: no client token; `start_once` looks for a run with the key, then starts one (two calls)."""

    kind: str = "lookup"

    def start(self, job: JobStart) -> JobRef:
        return start_once(lambda: self.find(job),
                          lambda: self._call("start", lambda: self.service.launch(self.kind, job)))  # type: ignore
