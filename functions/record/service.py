"""record_run: keep the run item in step with Step Functions' execution status events."""

from __future__ import annotations

from ..adapters.executions import Executions
from ..adapters.runs import RunRecords
from ..events.types import ExecutionEvent


class Recorder:
    def __init__(self, runs: RunRecords, executions: Executions) -> None:
        self.runs, self.executions = runs, executions

    def on_event(self, event: ExecutionEvent) -> str:
        identity = self.executions.identity(event.execution_arn)
        if identity is None:
            return "ignored: not a Sluice state machine"
        pipeline, config_hash = identity
        if self.runs.record(event, pipeline, config_hash):
            return f"run {event.status}"
        return f"ignored: a later status is recorded than {event.status}"
