"""A stand-in dispatcher for running compiled definitions under moto's Step Functions interpreter.

It follows DispatchRequest's documented behaviour over the in-memory Ledger: gates hold a task until its
gated dependencies end, trigger rules decide skips, jobs "run" on a timer thread and answer the task token.
"""

from __future__ import annotations

import json
import random
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import boto3

from sluice.contract import DispatchRequest
from sluice.ledger import Ledger
from sluice.local.moto_quirks import route_lambda

MOTO_CONFIG = {"stepfunctions": {"execute_state_machine": True}, "lambda": {"use_docker": False}}
REGION = "eu-west-1"


@dataclass
class StandIn:
    failures: dict[str, int] = field(default_factory=dict)  # task -> failing attempts before success
    max_delay: float = 0.0  # jobs end after a random delay up to this (seconds), on a timer thread
    seed: int = 0
    ledger: Ledger = field(default_factory=Ledger)
    requests: list[DispatchRequest] = field(default_factory=list)
    events: list[tuple[str, str]] = field(default_factory=list)  # ("start"|"end", task), in order

    def __post_init__(self) -> None:
        self._lock = threading.RLock()
        self._parked: list[DispatchRequest] = []
        self._random = random.Random(self.seed)
        self._timers: list[threading.Timer] = []

    def handle(self, payload: dict[str, Any]) -> dict[str, Any]:
        req = DispatchRequest.model_validate(payload)
        with self._lock:
            self.requests.append(req)
            if not all(self.ledger.ended(d) for d in req.wait_for):
                self._parked.append(req)  # the gate: answered when the last of wait_for ends
                return {}
            return self._proceed(req)

    def _proceed(self, req: DispatchRequest) -> dict[str, Any]:
        settled = self.ledger.settle(req)
        if settled.start_job:
            self._start_job(req)
            return {}
        if req.task_token:
            self._answer(req, settled.output, settled.error)
        self._release()
        return {} if req.task_token else (settled.output or {})

    def _start_job(self, req: DispatchRequest) -> None:
        self.events.append(("start", req.task))
        delay = self._random.uniform(0, self.max_delay)
        if delay:
            timer = threading.Timer(delay, self._finish_job, args=(req,))
            self._timers.append(timer)
            timer.start()
        else:
            self._finish_job(req)

    def _finish_job(self, req: DispatchRequest) -> None:
        with self._lock:
            failed = req.attempt < self.failures.get(req.task, 0)
            self.ledger.job_ended(req, succeeded=not failed)
            if failed:
                self._answer(req, error=("Sluice.TaskFailed", f"scripted failure of attempt {req.attempt + 1}"))
                return
            self.events.append(("end", req.task))
            self._answer(req, {"status": "SUCCEEDED"})
            self._release()

    def _release(self) -> None:
        ready = [r for r in self._parked if all(self.ledger.ended(d) for d in r.wait_for)]
        self._parked = [r for r in self._parked if r not in ready]
        for req in ready:
            self._proceed(req)

    @staticmethod
    def _answer(req: DispatchRequest, output: dict[str, Any] | None = None,
                error: tuple[str, str] | None = None) -> None:
        sfn = boto3.client("stepfunctions", region_name=REGION)
        if error:
            sfn.send_task_failure(taskToken=req.task_token, error=error[0], cause=error[1])
        else:
            sfn.send_task_success(taskToken=req.task_token, output=json.dumps(output or {}))
        if req.heartbeat:
            # moto's interpreter, for a Task with HeartbeatSeconds, reads the answer only after a heartbeat
            # arrives, and only once it waits (AWS needs none): keep beating briefly from another thread.
            threading.Thread(target=_beat, args=(sfn, req.task_token), daemon=True).start()

    def stop(self) -> None:
        for timer in self._timers:
            timer.cancel()


def _beat(sfn: Any, token: str | None, times: int = 500, every: float = 0.01) -> None:
    """Heartbeat until one lands: moto refuses it (InvalidToken) until the Task state has begun to wait."""
    for _ in range(times):
        try:
            sfn.send_task_heartbeat(taskToken=token)
            return
        except sfn.exceptions.ClientError:
            time.sleep(every)
        except AttributeError:
            return  # moto: the execution already ended and its environment is gone


@contextmanager
def routed_to(standin: StandIn) -> Iterator[None]:
    """Route moto's Lambda invocations to the stand-in (moto runs no Lambda code without Docker)."""
    def invoke(function_name: str, body: Any, response_headers: dict[str, Any]) -> bytes:
        return json.dumps(standin.handle(json.loads(body))).encode()

    try:
        with route_lambda(invoke):
            yield
    finally:
        standin.stop()


def run_definition(definition: dict[str, Any], standin: StandIn, run_input: dict[str, Any] | None = None,
                   timeout: float = 60.0) -> dict[str, Any]:
    """Create the dispatcher function and state machine in moto, run one execution, return describe_execution."""
    iam = boto3.client("iam", region_name=REGION)
    role = iam.create_role(RoleName=f"sfn-{time.monotonic_ns()}", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
    lam = boto3.client("lambda", region_name=REGION)
    fn = lam.create_function(FunctionName=f"dispatch-{time.monotonic_ns()}", Runtime="python3.12", Role=role,
                             Handler="handler.handler", Code={"ZipFile": b"stand-in"})["FunctionArn"]
    text = json.dumps(definition).replace("${DispatchFunctionArn}", fn)
    sfn = boto3.client("stepfunctions", region_name=REGION)
    arn = sfn.create_state_machine(name=f"sm-{time.monotonic_ns()}", definition=text, roleArn=role)["stateMachineArn"]
    # An explicit name: moto leaves $$.Execution.Name null without one (AWS generates a UUID).
    execution = sfn.start_execution(stateMachineArn=arn, name=f"run-{time.monotonic_ns()}",
                                    input=json.dumps(run_input or {}))["executionArn"]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        described = sfn.describe_execution(executionArn=execution)
        if described["status"] != "RUNNING":
            return described
        time.sleep(0.01)
    raise TimeoutError(f"execution still RUNNING after {timeout}s; parked: {standin._parked}")
