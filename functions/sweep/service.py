"""sweep_attempts: reconcile attempts whose end event never came, by asking their service and Step Functions."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from aws_lambda_powertools.metrics import MetricUnit

from ..adapters.clock import Clock, seconds_between, shifted, utc_now
from ..adapters.executions import Executions
from ..adapters.jobs import JobAdapters
from ..adapters.jobs.base import JobNotFoundError, JobRef, JobState
from ..adapters.run_store import RunStore
from ..adapters.tokens import TokenGoneError
from ..complete.service import Completer
from ..observability import logger, measure
from ..runtime.records import STARTING, Attempt
from ..runtime.waits import Wait

if TYPE_CHECKING:  # the backfill service is given by the wiring; its module needs none of this one
    from ..backfill.service import Backfills

# An ended attempt's answer is sent by whoever recorded the end, at once; the sweeper sends it again only when it is
# still not delivered this long after (a throttle, a crash), so the two rarely both send (a second one is refused).
DELIVERY_GRACE = 60


@dataclass
class SweepReport:
    checked: int = 0
    completed: int = 0  # ended jobs whose event was lost
    lost: int = 0  # jobs their service no longer knows
    relaunched: int = 0  # claims whose holder died before recording the job's start (its lease expired)
    stopped: int = 0  # attempts of executions that are no longer running
    delivered: int = 0  # ended attempts whose answer had not reached their token
    waiting: int = 0  # waits still parked or claimed (heartbeated)
    cancelled: int = 0  # waits of executions that ended, or whose state gave up waiting
    backfill_starts: int = 0  # backfill dates whose StartExecution had failed, started now
    errors: list[str] = field(default_factory=list)


class Sweeper:
    def __init__(self, store: RunStore, executions: Executions, jobs: JobAdapters,
                 completer: Completer, *, after_seconds: int, clock: Clock = utc_now,
                 backfills: Backfills | None = None) -> None:
        self.store, self.executions, self.jobs, self.completer = store, executions, jobs, completer
        self.after_seconds, self.clock, self.backfills = after_seconds, clock, backfills

    def sweep(self) -> SweepReport:
        now = self.clock()
        cutoff = shifted(now, -self.after_seconds)
        report = SweepReport()
        statuses: dict[str, str | None] = {}
        for found in self.store.live():
            try:
                if found.run not in statuses:
                    statuses[found.run] = self.executions.status(found.run)
                if isinstance(found, Wait):
                    self._settle(found, statuses[found.run], report)
                elif found.ended:
                    if seconds_between(found.ended_at or now, now) >= DELIVERY_GRACE:
                        self._deliver(found, statuses[found.run], report)
                elif statuses[found.run] != "RUNNING" or found.status == STARTING or found.started_at < cutoff:
                    report.checked += 1
                    self._reconcile(found, statuses[found.run], now, report)
            except Exception as exc:  # one item's trouble (a throttle, a service) never ends a sweep
                logger.exception("sweep of one item failed; the next sweep tries again", sk=found.sk)
                report.errors.append(f"{found.sk} of {found.run}: {exc}")
        if self.backfills is not None:
            # The periodic retry of failed backfill starts: a backfill whose last running run ended while its next
            # StartExecution was throttled has no run end left to retry it.
            try:
                report.backfill_starts = sum(self.backfills.retry_failed_starts().values())
            except Exception as exc:
                logger.exception("retrying failed backfill starts failed; the next sweep tries again")
                report.errors.append(f"backfill starts: {exc}")
        logger.info("sweep done", **vars(report))
        return report

    def _deliver(self, attempt: Attempt, execution: str | None, report: SweepReport) -> None:
        """An ended attempt whose answer was never delivered (a throttle or a crash after its end was recorded)."""
        if execution != "RUNNING":
            self.store.delivered(attempt)  # nobody waits for it any more
            return
        if self.completer.dispatcher.deliver(attempt):
            report.delivered += 1
            if attempt.status == "SUCCEEDED" and attempt.gated and attempt.item_index is None:
                self.completer.dispatcher.release(attempt.run, attempt.task)

    def _settle(self, wait: Wait, execution: str | None, report: SweepReport) -> None:
        """A wait: cancelled when its execution ended; else heartbeated (a waiting state's HeartbeatSeconds would
        otherwise fire), and released when its condition holds or its holder died."""
        if execution != "RUNNING":
            self.completer.dispatcher.cancel(wait, f"the execution is {execution or 'gone'}")
            report.cancelled += 1
            return
        report.waiting += 1
        if wait.token:
            try:
                self.completer.tokens.heartbeat(wait.token)
            except TokenGoneError as exc:
                # The state gave up waiting (its timeout): its retry parks a wait of its own.
                self.completer.dispatcher.cancel(wait, f"nobody waits for its token: {exc}")
                report.cancelled += 1
                return
        self.completer.dispatcher.settle(wait)

    def _reconcile(self, attempt: Attempt, execution: str | None, now: str, report: SweepReport) -> None:
        sweep_id = f"sweep:{now}:{attempt.key}"
        if execution != "RUNNING":
            # Stopped, failed or forgotten: nobody will wait for this job; end it and its record.
            self.completer.dispatcher.close(attempt, "STOPPED", f"the execution is {execution or 'gone'}")
            report.stopped += 1
            return
        if attempt.status == STARTING:
            if self.store.lease_live(attempt, now) or not self.store.take_lease(attempt, now):
                return  # its dispatcher (or an adopter) may still be starting the job
            # The holder of the claim died between claim and record (its lease expired), and no later state attempt
            # took it over: start it now under a lease of our own. The start looks the job up by the claim's key
            # first, so a job the dead holder did start is reattached, never started twice.
            self.completer.dispatcher.launch(attempt)
            report.relaunched += 1
            measure("SweepRelaunched", 1, MetricUnit.Count, pipeline=attempt.pipeline)
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
