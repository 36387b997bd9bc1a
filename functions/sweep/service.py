"""sweep_attempts: reconcile attempts whose end event never came, by asking their service and Step Functions."""

from __future__ import annotations

from dataclasses import dataclass, field

from aws_lambda_powertools.metrics import MetricUnit

from ..adapters.clock import Clock, seconds_between, shifted, utc_now
from ..adapters.executions import Executions
from ..adapters.jobs import JobAdapters
from ..adapters.jobs.base import JobError, JobNotFoundError, JobRef, JobState
from ..adapters.run_store import RunStore
from ..adapters.tokens import TokenGoneError
from ..complete.service import Completer
from ..observability import logger, measure
from ..runtime.records import STARTING, Attempt

# A dispatcher that claimed an attempt is alive at most this long (Lambda's longest run): an older claim that
# never recorded its job's start belongs to a dispatcher that died.
CLAIM_TIMEOUT = 900


@dataclass
class SweepReport:
    checked: int = 0
    completed: int = 0  # ended jobs whose event was lost
    lost: int = 0  # jobs their service no longer knows, and claims whose dispatcher died before starting
    stopped: int = 0  # attempts of executions that are no longer running
    errors: list[str] = field(default_factory=list)


class Sweeper:
    def __init__(self, store: RunStore, executions: Executions, jobs: JobAdapters,
                 completer: Completer, *, after_seconds: int, clock: Clock = utc_now) -> None:
        self.store, self.executions, self.jobs, self.completer = store, executions, jobs, completer
        self.after_seconds, self.clock = after_seconds, clock

    def sweep(self) -> SweepReport:
        now = self.clock()
        report = SweepReport()
        statuses: dict[str, str | None] = {}
        for attempt in self.store.active(shifted(now, -self.after_seconds)):
            report.checked += 1
            if attempt.run not in statuses:
                statuses[attempt.run] = self.executions.status(attempt.run)
            try:
                self._reconcile(attempt, statuses[attempt.run], now, report)
            except JobError as exc:  # one service's trouble must not stop the sweep of the others
                report.errors.append(f"{attempt.task} ({attempt.kind} {attempt.external_id}): {exc}")
        logger.info("sweep done", **vars(report))
        return report

    def _reconcile(self, attempt: Attempt, execution: str | None, now: str, report: SweepReport) -> None:
        sweep_id = f"sweep:{now}:{attempt.key}"
        if execution != "RUNNING":
            # Stopped, failed or forgotten: nobody will wait for this job; end it and its record.
            self.completer.dispatcher.close(attempt, "STOPPED", f"the execution is {execution or 'gone'}")
            report.stopped += 1
            return
        if attempt.status == STARTING:
            if seconds_between(attempt.started_at, now) < CLAIM_TIMEOUT:
                return  # its dispatcher may still be starting the job
            # The dispatcher died between claim and record, and no later state attempt adopted the claim: nobody
            # waits for its job. Stop the job if it was started after all, and close the attempt.
            adapter = self.jobs.adapter(attempt.kind, attempt.pipeline)
            orphan = adapter.find(attempt.job()) if adapter is not None else None
            reason = "the dispatcher stopped before the job was recorded as started"
            if orphan is not None and adapter is not None:
                adapter.stop(orphan, reason)
                reason += f"; its job {orphan.external_id} was found and stopped"
            self.completer.finish(attempt, JobState("FAILED", error=reason), sweep_id, lost=True)
            report.lost += 1
            measure("SweepLost", 1, MetricUnit.Count, pipeline=attempt.pipeline)
            return
        adapter = self.jobs.adapter(attempt.kind, attempt.pipeline)
        if adapter is None or attempt.external_id is None:
            return
        try:
            state = adapter.describe(JobRef(attempt.kind, attempt.external_id, attempt.details))
        except JobNotFoundError as exc:
            self.completer.finish(attempt, JobState("FAILED", error=str(exc)), sweep_id, lost=True)
            report.lost += 1
            measure("SweepLost", 1, MetricUnit.Count, pipeline=attempt.pipeline)
            return
        if state.ended:
            if self.completer.finish(attempt, state, sweep_id).startswith("ignored"):
                return  # its end event (or another sweep) recorded it meanwhile: not a recovery
            report.completed += 1
            # per pipeline: a pipeline whose end events keep going missing shows here
            measure("SweepRecovered", 1, MetricUnit.Count, pipeline=attempt.pipeline)
            return
        # Still running: say so to the waiting state, so a task's `heartbeat` measures Sluice losing the job.
        try:
            self.completer.tokens.heartbeat(attempt.token)
        except TokenGoneError:
            logger.info("the state no longer waits for this job", task=attempt.task, external_id=attempt.external_id)
