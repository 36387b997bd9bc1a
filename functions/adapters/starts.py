"""Starting and stopping pipeline runs (Step Functions executions) by name: a repeated start is the same run."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import ClientError

NAME_MAX = 80  # Step Functions execution names


def execution_name(kind: str, *parts: str) -> str:
    """A deterministic execution name: the same (kind, parts) always names the same run."""
    digest = hashlib.sha256("|".join((kind, *parts)).encode()).hexdigest()[:32]
    return f"{kind}-{digest}"[:NAME_MAX]


@dataclass(frozen=True)
class Started:
    execution_arn: str
    name: str
    created: bool  # False: a run of that name existed already (the same start repeated)
    run_input: dict[str, Any] | None = None  # the existing run's input (when not created)


class NotSameRunError(Exception):
    """A run of that name exists with different input: the name was used for another start."""

    def __init__(self, message: str, existing: Started) -> None:
        super().__init__(message)
        self.existing = existing


class Starts:
    def __init__(self, client: Any, machine_arn_prefix: str) -> None:
        self.client, self.prefix = client, machine_arn_prefix

    def machine_arn(self, pipeline: str) -> str:
        return f"{self.prefix}{pipeline}"

    def execution_arn(self, pipeline: str, name: str) -> str:
        return f"{self.machine_arn(pipeline).replace(':stateMachine:', ':execution:', 1)}:{name}"

    def start(self, pipeline: str, name: str, run_input: dict[str, Any]) -> Started:
        """Start the run, or find the one already started under this name with the same input."""
        text = json.dumps(run_input, sort_keys=True)
        try:
            arn = self.client.start_execution(stateMachineArn=self.machine_arn(pipeline), name=name,
                                              input=text)["executionArn"]
            return Started(arn, name, True, run_input)
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") != "ExecutionAlreadyExists":
                raise
        arn = self.execution_arn(pipeline, name)
        existing = self.client.describe_execution(executionArn=arn)
        found = Started(arn, name, False, json.loads(existing.get("input") or "{}"))
        if found.run_input != run_input:
            raise NotSameRunError(f"run {name} of '{pipeline}' exists with other input", found)
        return found

    def describe(self, arn: str) -> dict[str, Any] | None:
        try:
            return dict(self.client.describe_execution(executionArn=arn))
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("ExecutionDoesNotExist", "InvalidArn"):
                return None
            raise

    def stop(self, arn: str, error: str, cause: str) -> None:
        self.client.stop_execution(executionArn=arn, error=error, cause=cause[:32_000])
