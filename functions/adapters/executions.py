"""Step Functions executions as the runtime sees them: their status, and which pipeline version they run."""

from __future__ import annotations

import json
from typing import Any

from botocore.exceptions import ClientError

from sluice.contract import read_definition_comment


class Executions:
    def __init__(self, client: Any) -> None:
        self.client = client

    def status(self, execution_arn: str) -> str | None:
        """RUNNING, SUCCEEDED, FAILED, TIMED_OUT, ABORTED; None when Step Functions no longer knows it."""
        try:
            return str(self.client.describe_execution(executionArn=execution_arn)["status"])
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") == "ExecutionDoesNotExist":
                return None
            raise

    def history(self, execution_arn: str) -> list[dict[str, Any]]:
        """Every event of the execution's history, without input and output data (only their types are needed)."""
        events: list[dict[str, Any]] = []
        for page in self.client.get_paginator("get_execution_history").paginate(
                executionArn=execution_arn, includeExecutionData=False, PaginationConfig={"PageSize": 1000}):
            events.extend(page["events"])
        return events

    def identity(self, execution_arn: str) -> tuple[str, str] | None:
        """(pipeline, config hash) of the definition the execution runs; None for a non-Sluice state machine."""
        found = self.client.describe_state_machine_for_execution(executionArn=execution_arn)
        return read_definition_comment(json.loads(found["definition"]).get("Comment", ""))
