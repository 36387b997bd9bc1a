"""The run API on moto for tests: a Cloud with the example pipelines' state machines, the real dispatcher, a fake
job service, and the API handler called with API Gateway proxy events."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from functions.adapters.clock import iso_utc
from functions.adapters.jobs.base import JobState
from functions.api import service
from functions.api.catalog import Catalog
from functions.api.handler import handler
from functions.events.types import ExecutionEvent
from sluice.compile import compile_pipeline
from sluice.local.http_bridge import LocalLambdaContext, proxy_event
from sluice.spec import Pipeline
from tests.support.pipelines import examples, fast_retries
from tests.support.runtime import client, moto_runtime, routed_to_handlers

PREFIX = "arn:aws:states:eu-west-1:123456789012:stateMachine:sluice-"
KINDS = ("glue", "emr", "emr_serverless", "ecs", "lambda", "pipeline")
WHO = "arn:aws:iam::123456789012:user/ana"
REQUIRED = Pipeline.model_validate({"name": "needs-day", "params": {"day": {"type": "date"}},
                                    "tasks": {"t": {"lambda": {"function": "fn"}}}})


class Cloud:
    def __init__(self, rt: Any) -> None:
        self.rt, self.sfn, self.jobs = rt, client("stepfunctions"), rt.jobs["fake"]
        self.recorded: set[tuple[str, str]] = set()

    def call(self, method: str, path: str, body: Any = None, *, headers: dict[str, str] | None = None,
             query: dict[str, list[str]] | None = None, raw: bytes | None = None) -> tuple[int, Any]:
        data = raw if raw is not None else (b"" if body is None else json.dumps(body).encode())
        event = proxy_event(method, path, query or {}, {"Content-Type": "application/json", **(headers or {})},
                            data, principal=WHO)
        response = handler(event, LocalLambdaContext())
        return response["statusCode"], json.loads(response["body"]) if response.get("body") else None

    def end_jobs(self, fail: dict[str, int] | None = None) -> None:
        fail = fail if fail is not None else {}
        for external, state in list(self.jobs.states.items()):
            if state.status == "RUNNING":
                task = self.jobs.jobs[external].task
                failing = fail.get(task, 0) > 0
                fail[task] = fail.get(task, 0) - 1
                self.jobs.states[external] = (JobState("FAILED", error="exit code 1", exit_code=1) if failing
                                              else JobState("SUCCEEDED"))
        self.rt.sweeper.sweep()

    def finish(self, arn: str, fail: dict[str, int] | None = None, timeout: float = 60.0) -> str:
        """Run the execution to its end (jobs end at once) and deliver its end to the record function."""
        self.settle(arn, fail, timeout)
        return self.record(arn)

    def settle(self, arn: str, fail: dict[str, int] | None = None, timeout: float = 60.0) -> None:
        fail = dict(fail or {})
        deadline = time.monotonic() + timeout
        while self.sfn.describe_execution(executionArn=arn)["status"] == "RUNNING":
            assert time.monotonic() < deadline, "execution still RUNNING"
            self.end_jobs(fail)
            time.sleep(0.02)

    def record(self, arn: str, as_status: str | None = None) -> str:
        """What EventBridge delivers to the record function: the execution's start, then its status now (or
        `as_status`, what Step Functions would say where moto says otherwise)."""
        described = self.sfn.describe_execution(executionArn=arn)
        if as_status:
            described["status"] = as_status
        for status in ("RUNNING", described["status"]):
            if (arn, status) in self.recorded:
                continue
            self.recorded.add((arn, status))
            stop = described.get("stopDate") if status != "RUNNING" else None
            self.rt.recorder.on_event(ExecutionEvent(
                execution_arn=arn, state_machine_arn=described["stateMachineArn"], name=described["name"],
                status=status, time=iso_utc(stop or described["startDate"]), start_date=iso_utc(described["startDate"]),
                stop_date=iso_utc(stop) if stop else None, input=json.loads(described["input"]),
                error=described.get("error"), cause=described.get("cause")))
        return str(described["status"])

    def executions(self, pipeline: str) -> list[dict[str, Any]]:
        return self.sfn.list_executions(stateMachineArn=f"{PREFIX}{pipeline}")["executions"]


@contextmanager
def api_cloud() -> Iterator[Cloud]:
    """moto with every example pipeline (and one with a required parameter) deployed, and the API installed."""
    with moto_runtime(fake_tokens=False, state_machine_arn_prefix=PREFIX) as rt:
        fake = rt.jobs["fake"]
        rt.jobs.update({kind: fake for kind in KINDS})
        rt.sweeper.after_seconds = 0
        role = client("iam").create_role(RoleName="sfn", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
        fn = client("lambda").create_function(FunctionName="sluice-dispatch", Runtime="python3.12", Role=role,
                                              Handler="functions.dispatch.handler.handler",
                                              Code={"ZipFile": b"asset"})["FunctionArn"]
        pipelines = {**examples(), REQUIRED.name: REQUIRED}
        for name, pipeline in pipelines.items():
            definition = json.dumps(compile_pipeline(fast_retries(pipeline)).definition)
            client("stepfunctions").create_state_machine(
                name=f"sluice-{name}", roleArn=role, definition=definition.replace("${DispatchFunctionArn}", fn))
        service.use(service.Api(rt, Catalog(pipelines=pipelines)))
        try:
            with routed_to_handlers(rt):
                yield Cloud(rt)
        finally:
            service.use(None)
