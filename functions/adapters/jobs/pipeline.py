"""Child pipeline runs: a Step Functions execution of the child's state machine, named by the key.

StartExecution with the name and input of a running execution returns that execution; once it ended (or when the
input differs) it answers ExecutionAlreadyExists, and the existing execution is the child run.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from botocore.exceptions import ClientError

from ...runtime.text import joined
from .base import JobError, JobNotFoundError, JobRef, JobStart, JobState
from .errors import code_of, start_once, translated

FAILED = frozenset({"FAILED", "TIMED_OUT", "ABORTED"})
NOT_FOUND = ("ExecutionDoesNotExist",)
CAUSE_MAX = 32768


def execution_arn(state_machine_arn: str, name: str) -> str:
    """arn:aws:states:<region>:<account>:stateMachine:<machine> -> ...:execution:<machine>:<name>."""
    return state_machine_arn.replace(":stateMachine:", ":execution:", 1) + f":{name}"


class PipelineAdapter:
    kind = "pipeline"

    def __init__(self, client: Any, arn_for: Callable[[str], str]) -> None:
        """`arn_for`: pipeline name -> the ARN of its state machine."""
        self.client = client
        self.arn_for = arn_for

    def start(self, job: JobStart) -> JobRef:
        child = job.config["name"]
        machine = self.arn_for(child)
        run: dict[str, Any] = {"params": job.config.get("params", {}), "trigger": {
            "type": "parent", "pipeline": job.pipeline, "run_id": job.run_id, "task": job.task}}
        if job.logical_date is not None:  # without one, the child's logical date is its own start time
            run["logical_date"] = job.logical_date
        # Sorted keys: a retry must send the very same input for StartExecution to be idempotent.
        payload = json.dumps(run, sort_keys=True, separators=(",", ":"))
        doing = f"Step Functions: start child pipeline '{child}' ({machine}) as execution {job.key}"

        def start() -> JobRef:
            try:
                with translated(doing):
                    arn_started = self.client.start_execution(stateMachineArn=machine, name=job.key, input=payload)
            except JobError as exc:
                # Started before with this name: that execution is the child run.
                if not isinstance(exc.__cause__, ClientError) or code_of(exc.__cause__) != "ExecutionAlreadyExists":
                    raise
                if (found := self.find(job)) is None:
                    raise
                return found
            return JobRef(self.kind, arn_started["executionArn"], {"pipeline": child})

        # No look-up first: StartExecution itself finds the execution a key started.
        return start_once(lambda: self.find(job), start, look_first=False)

    def find(self, job: JobStart) -> JobRef | None:
        child = job.config["name"]
        machine = self.arn_for(child)
        arn = execution_arn(machine, job.key)
        try:
            with translated(f"Step Functions: describe execution {arn}", not_found=NOT_FOUND):
                existing = self.client.describe_execution(executionArn=arn)
        except JobNotFoundError:
            return None
        if existing.get("stateMachineArn") != machine:
            raise JobError(f"Step Functions: execution {arn} of child pipeline '{child}' runs "
                           f"{existing.get('stateMachineArn')}, not {machine}", retryable=False)
        return JobRef(self.kind, existing["executionArn"], {"pipeline": child})

    def describe(self, ref: JobRef) -> JobState:
        with translated(f"Step Functions: describe child run {ref.external_id}", not_found=NOT_FOUND):
            execution = self.client.describe_execution(executionArn=ref.external_id)
        status = execution.get("status", "")
        if status == "SUCCEEDED":
            output = execution.get("output")
            return JobState("SUCCEEDED", output=json.loads(output) if output else None)
        if status in FAILED:
            return JobState("FAILED", error=joined(execution.get("error"), execution.get("cause")) or status)
        return JobState("RUNNING")  # RUNNING, PENDING_REDRIVE

    def stop(self, ref: JobRef, reason: str) -> None:
        doing = f"Step Functions: stop child run {ref.external_id}"
        try:
            with translated(doing, not_found=NOT_FOUND):
                self.client.stop_execution(executionArn=ref.external_id, error="sluice.Stopped",
                                           cause=reason[:CAUSE_MAX])
        except JobError as exc:
            # An execution that already ended cannot be stopped: not an error here.
            if exc.retryable or isinstance(exc, JobNotFoundError) or not self.describe(ref).ended:
                raise
