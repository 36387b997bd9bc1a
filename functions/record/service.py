"""record_run: keep the run item in step with Step Functions' execution status events."""

from __future__ import annotations

from aws_lambda_powertools.metrics import MetricUnit
from botocore.exceptions import BotoCoreError, ClientError

from ..adapters.clock import seconds_between
from ..adapters.executions import Executions
from ..adapters.notices import Notices
from ..adapters.run_store import StoreError
from ..adapters.runs import ENDS as RUN_ENDS
from ..adapters.runs import RunRecords
from ..backfill.service import Backfills
from ..events.types import ExecutionEvent
from ..observability import logger, measure
from .cost import RunCosts

# Metric names per run status (dimension: pipeline). monitoring alarms and dashboards read these names.
RUN_METRICS = {"RUNNING": "RunsStarted", "SUCCEEDED": "RunsSucceeded", "FAILED": "RunsFailed",
               "TIMED_OUT": "RunsTimedOut", "ABORTED": "RunsAborted", "PENDING_REDRIVE": "RunsPendingRedrive"}


class Recorder:
    def __init__(self, runs: RunRecords, executions: Executions, notices: Notices | None = None,
                 costs: RunCosts | None = None, backfills: Backfills | None = None) -> None:
        self.runs, self.executions, self.notices, self.costs = runs, executions, notices, costs
        self.backfills = backfills

    def on_event(self, event: ExecutionEvent) -> str:
        identity = self.executions.identity(event.execution_arn)
        if identity is None:
            return "ignored: not a Sluice state machine"
        pipeline, config_hash = identity
        recorded = self.runs.record(event, pipeline, config_hash)
        if recorded:
            self._recorded(event, pipeline)
        if event.status in RUN_ENDS:
            # Last, once the end is recorded (the next date's start may fail: the run must not stay RUNNING for it),
            # and on a repeated end too: advancing counts each run's end once, so a crash before it is made good
            # when the event is delivered again.
            self._advance_backfill(event)
        return f"run {event.status}" if recorded else f"ignored: a later status is recorded than {event.status}"

    def _recorded(self, event: ExecutionEvent, pipeline: str) -> None:
        """What follows a status change recorded: metrics, cost, notices (once: a repeated event is not recorded)."""
        measure(RUN_METRICS[event.status], 1, MetricUnit.Count, pipeline=pipeline)
        if event.status == "SUCCEEDED":  # a run that succeeds, even after its deadline, clears a missed deadline
            measure("DeadlineMissed", 0, MetricUnit.Count, pipeline=pipeline)
        if event.status in RUN_ENDS and event.start_date and event.stop_date:
            measure("RunDuration", seconds_between(event.start_date, event.stop_date), MetricUnit.Seconds,
                    pipeline=pipeline)
        if event.status in RUN_ENDS and self.costs is not None:
            self._cost(event.execution_arn, pipeline)
        if self.notices is not None:
            self.notices.run_ended(event, pipeline)

    def _advance_backfill(self, event: ExecutionEvent) -> None:
        trigger = event.input.get("trigger") if isinstance(event.input, dict) else None
        if self.backfills is None or not isinstance(trigger, dict) or trigger.get("type") != "backfill":
            return
        outcome = self.backfills.advance(str(trigger.get("backfill")), event.name)
        logger.info("backfill advanced", backfill=trigger.get("backfill"), outcome=outcome)

    def _cost(self, execution_arn: str, pipeline: str) -> None:
        """Price the ended run and keep it on its record; best effort: the run's end is recorded already."""
        assert self.costs is not None
        try:
            cost = self.costs.of(execution_arn)
            self.runs.set_cost(execution_arn, cost)
        except (BotoCoreError, ClientError, StoreError) as exc:
            logger.warning("could not price the run; its record has no cost", execution_arn=execution_arn,
                           reason=str(exc))
            return
        measure("RunCost", cost["total_usd"], MetricUnit.NoUnit, pipeline=pipeline)
        measure("RunComputeCost", cost["compute_usd"], MetricUnit.NoUnit, pipeline=pipeline)
