"""The runtime on moto for tests: the run store table, the real services, and in-memory fakes for the edges."""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import boto3
from moto import mock_aws

from functions.adapters.jobs.base import JobError, JobRef, JobStart, JobState
from functions.adapters.tokens import TokenGoneError, Tokens
from functions.runtime.wiring import Runtime
from functions.settings import Settings
from sluice.contract import DispatchRequest
from sluice.local.moto_quirks import interpreter_fixes, route_lambda
from sluice.local.moto_speed import faster
from sluice.local.runner import LambdaContext
from sluice.run_store_schema import create_table_request

REGION = "eu-west-1"
MOTO_CONFIG = {"stepfunctions": {"execute_state_machine": True}, "lambda": {"use_docker": False}}
TABLE = "sluice-runs"
EXECUTION = "arn:aws:states:eu-west-1:123456789012:execution:sluice-demo:run-1"


class FakeTokens(Tokens):
    """Records answers; a token answered once is gone afterwards, as in Step Functions."""

    def __init__(self) -> None:
        self.answers: list[tuple[str, str, Any]] = []  # (token, "success"|"failure"|"heartbeat", output or error)
        self.gone: set[str] = set()

    def succeed(self, token: str, output: Any) -> None:
        self._answer(token, "success", output)

    def fail(self, token: str, error: str, cause: str) -> None:
        self._answer(token, "failure", (error, cause))

    def heartbeat(self, token: str) -> None:
        if token in self.gone:
            raise TokenGoneError("task timed out")
        self.answers.append((token, "heartbeat", None))

    def _answer(self, token: str, how: str, value: Any) -> None:
        if token in self.gone:
            raise TokenGoneError("task timed out")
        self.gone.add(token)
        self.answers.append((token, how, value))

    def of(self, token: str) -> list[tuple[str, Any]]:
        return [(how, value) for t, how, value in self.answers if t == token and how != "heartbeat"]


@dataclass
class FakeJobs:
    """A job service that deduplicates by key (like ECS clientToken), with scriptable failures."""

    kind: str = "fake"
    jobs: dict[str, JobStart] = field(default_factory=dict)  # external id -> start request
    by_key: dict[str, str] = field(default_factory=dict)
    states: dict[str, JobState] = field(default_factory=dict)
    refuse: list[JobError] = field(default_factory=list)  # raised by the next start calls, in order
    stopped: list[str] = field(default_factory=list)
    _ids: Iterator[int] = field(default_factory=itertools.count)

    def start(self, job: JobStart) -> JobRef:
        if self.refuse:
            raise self.refuse.pop(0)
        if job.key not in self.by_key:
            external = f"job-{next(self._ids)}"
            self.by_key[job.key], self.jobs[external] = external, job
            self.states[external] = JobState("RUNNING")
        return JobRef(self.kind, self.by_key[job.key], {"queue": "q"})

    def find(self, job: JobStart) -> JobRef | None:
        external = self.by_key.get(job.key)
        return JobRef(self.kind, external, {"queue": "q"}) if external else None

    def describe(self, ref: JobRef) -> JobState:
        return self.states[ref.external_id]

    def stop(self, ref: JobRef, reason: str) -> None:
        self.stopped.append(ref.external_id)
        self.states[ref.external_id] = JobState("FAILED", error=f"stopped: {reason}")


def client(name: str) -> Any:
    return boto3.client(name, region_name=REGION)


@contextmanager
def moto_runtime(*, fake_tokens: bool = True, **settings: Any) -> Iterator[Runtime]:
    """moto, the run store table, and a Runtime over them with the fake job service added (and fake tokens,
    unless a test runs a real execution whose tokens are moto's)."""
    with mock_aws(config=MOTO_CONFIG):
        client("dynamodb").create_table(**create_table_request(TABLE))
        runtime = Runtime(Settings(table_name=TABLE, **settings), clients=client, jobs_override={"fake": FakeJobs()},
                          tokens_override=FakeTokens() if fake_tokens else None)
        if fake_tokens:  # the fake tokens' runs have no execution in moto: they count as RUNNING
            real = runtime.executions.status
            runtime.executions.status = lambda arn: real(arn) or "RUNNING"  # type: ignore[method-assign]
        yield runtime


def request(action: str = "run", task: str = "extract", *, attempt: int = 0, token: str | None = None,
            **fields: Any) -> DispatchRequest:
    """A DispatchRequest as the compiled state machine sends it (fake kind unless given)."""
    base: dict[str, Any] = {"action": action, "pipeline": "demo", "execution_id": EXECUTION, "run_id": "run-1",
                            "task": task, "attempt": attempt, "started_at": "2026-11-28T02:30:00Z",
                            "logical_date": "2026-11-27T02:30:00Z"}
    if action in {"run", "prepare", "skip"}:
        base |= {"task_token": token or f"token-{task}-{attempt}", "kind": "fake", "config": {}, "timeout": 3600}
    return DispatchRequest.model_validate(base | fields)


def count_writes(dynamodb: Any) -> list[str]:
    """Every DynamoDB write the client makes from now on, by operation name."""
    writes: list[str] = []

    def note(event_name: str, **_: Any) -> None:
        writes.append(event_name.rsplit(".", 1)[-1])

    for operation in ("PutItem", "UpdateItem", "DeleteItem", "TransactWriteItems", "BatchWriteItem"):
        dynamodb.meta.events.register(f"before-call.dynamodb.{operation}", note)
    return writes


@contextmanager
def routed_to_handlers(runtime: Runtime) -> Iterator[list[dict[str, Any]]]:
    """Route moto's Lambda invocations: the dispatcher's to the real handler, any other function's (a `lambda`
    task's job) into the returned list. moto runs no Lambda code without Docker."""
    from functions.dispatch import handler as dispatch

    invoked: list[dict[str, Any]] = []

    def invoke(function_name: str, body: Any, response_headers: dict[str, Any]) -> bytes:
        payload = json.loads(body or "{}")
        if function_name.rsplit(":", 1)[-1].startswith("sluice-dispatch"):
            return json.dumps(dispatch.handler(payload, LambdaContext())).encode()
        invoked.append({"function": function_name, "payload": payload})
        return b"{}"

    with route_lambda(invoke), installed(runtime), interpreter_fixes(), faster():
        yield invoked


@contextmanager
def installed(runtime: Runtime) -> Iterator[Runtime]:
    """The runtime the handlers find (functions/runtime/wiring.py) for the block; the one before it afterwards."""
    from functions.runtime import wiring

    previous = wiring._current
    wiring.use(runtime)
    try:
        yield runtime
    finally:
        wiring.use(previous)


def logged(caplog: Any, since: int = 0) -> list[str]:
    """The captured records from `since` on, as Powertools writes them to CloudWatch (one JSON object a line)."""
    from functions.observability import logger

    return [logger.registered_formatter.format(record) for record in caplog.records[since:]]


def waiting_execution(name: str, run_input: str = "{}") -> tuple[str, str]:
    """(state machine, execution) ARNs of a started run of the Sluice pipeline 'orders-daily' (its definition's
    Comment names it, as the record function reads), waiting in moto."""
    from sluice.contract import definition_comment

    role = client("iam").create_role(RoleName="sfn", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
    sfn = client("stepfunctions")
    definition = {"Comment": definition_comment("orders-daily", "00112233aabbccdd"), "StartAt": "W",
                  "States": {"W": {"Type": "Wait", "Seconds": 60, "End": True}}}
    machine = sfn.create_state_machine(name="sluice-orders-daily", definition=json.dumps(definition),
                                       roleArn=role)["stateMachineArn"]
    return str(machine), str(sfn.start_execution(stateMachineArn=machine, name=name, input=run_input)["executionArn"])


def running_job(rt: Any, kind: str) -> str:
    """Dispatch a task of `kind` on a fake job service installed for it; the started job's id."""
    jobs = FakeJobs(kind=kind)
    rt.jobs[kind] = jobs
    rt.dispatcher.handle(request(kind=kind))
    return next(iter(jobs.jobs))
