"""The event pump: what EventBridge and the job services do in the cloud, done in-process for a local run.

Job adapters report every job they start (`Observed`). The pump decides each job's end from the scenario (or
runs the task's local command), sets that end in moto, and delivers the end event AWS would send to the real
completion handler (for a Lambda task, the invocation record Lambda delivers to it as the function's destination),
redelivering while the attempt is not recorded yet (EventBridge and Lambda retry a failed delivery the same way).
It also watches the executions of the run and its child runs, and delivers their status-change events to the record
handler (and a child run's end to the completion handler).
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from functions.adapters.jobs.base import JobAdapter, JobRef, JobStart, JobState
from functions.complete.service import AttemptNotFoundYetError

from .scenario import Script
from .services import Outcome, end_job, execution_event

REDELIVER_AFTER = 0.02  # seconds before an event whose attempt is not recorded yet is delivered again
REDELIVERIES = 500
WATCH_EVERY = 0.05  # seconds between looks at the executions' status

Handler = Callable[[dict[str, Any]], Any]


@dataclass
class Job:
    start: JobStart
    ref: JobRef
    script: Script
    attempt: int  # 0 for the first attempt of this task (and item) in this execution
    started: float  # time.monotonic()
    due: float | None  # when the scripted end is delivered; None while a command runs
    process: subprocess.Popen[bytes] | None = None
    log: Path | None = None
    outcome: Outcome | None = None
    deliveries: int = 0
    done: bool = False


@dataclass
class Watched:
    arn: str
    status: str | None = None  # the last status delivered
    child_of: Job | None = None


@dataclass
class Pump:
    clients: Any
    region: str
    script_for: Callable[[JobStart], Script]
    complete: Handler
    record: Handler
    log_dir: Path | None = None
    jobs: dict[str, Job] = field(default_factory=dict)  # by external id
    executions: dict[str, Watched] = field(default_factory=dict)
    delivered: Counter[str] = field(default_factory=Counter)  # events by handler
    # Executions stopped by StopExecution, with its error and cause: their end is ABORTED, as Step Functions says
    # at once (moto's interpreter ends a stopped execution only once its waiting task is answered, as FAILED).
    aborted: dict[str, tuple[str, str]] = field(default_factory=dict)
    _attempts: Counter[tuple[str, str, int | None]] = field(default_factory=Counter)  # starts per task and item
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _next_watch: float = 0.0

    # ---- called by the job adapters, on the interpreter's threads ---------------------------------------------

    def started(self, start: JobStart, ref: JobRef) -> None:
        with self._lock:
            if ref.external_id in self.jobs:  # found again by its key: the same job
                return
            identity = (start.execution_id, start.task, start.item_index)
            attempt = self._attempts[identity]
            self._attempts[identity] += 1
            now = time.monotonic()
            if ref.kind == "pipeline":  # a child run ends by itself; its end event completes the task
                job = Job(start, ref, Script(), attempt, now, due=None)
                watched = self.executions.setdefault(ref.external_id, Watched(ref.external_id))
                watched.child_of = job
                if watched.status not in (None, "RUNNING"):
                    watched.status = None  # it ended before it was known as a child: deliver its end again
            else:
                script = self.script_for(start)
                job = Job(start, ref, script, attempt, now, due=None if script.command else now + script.delay)
                if script.command and not script.fails(attempt):
                    self._spawn(job)
                elif script.command:
                    job.due = now + script.delay
            self.jobs[ref.external_id] = job

    def stopped(self, ref: JobRef, reason: str) -> None:
        with self._lock:
            job = self.jobs.get(ref.external_id)
            if job is not None and not job.done and job.outcome is None:
                if job.process is not None and job.process.poll() is None:
                    job.process.kill()
                job.outcome, job.due = Outcome(False, error=reason, stopped=True), time.monotonic()

    def watch(self, execution_arn: str) -> bool:
        """Deliver this execution's status changes (True when it was not watched yet)."""
        with self._lock:
            if execution_arn in self.executions:
                return False
            self.executions[execution_arn] = Watched(execution_arn)
            return True

    def running(self, job: JobRef) -> bool:
        """Whether the pump still has to end this job (its service must not be believed about it before)."""
        with self._lock:
            found = self.jobs.get(job.external_id)
            return found is not None and found.ref.kind != "pipeline" and not found.done and found.outcome is None

    # ---- the main loop's work ----------------------------------------------------------------------------------

    def tick(self) -> bool:
        """Deliver every event that is due. True when something was delivered."""
        now, moved = time.monotonic(), False
        with self._lock:
            due = [job for job in self.jobs.values() if not job.done and self._ready(job, now)]
        for job in due:
            moved |= self._deliver_end(job)
        if now >= self._next_watch:  # DescribeExecution costs as much as a job's end: not on every tick
            self._next_watch = now + WATCH_EVERY
            with self._lock:
                watching = list(self.executions.values())
            for watched in watching:
                moved |= self._watch_execution(watched)
        return moved

    def busy(self) -> bool:
        """Jobs still running or events still to deliver."""
        with self._lock:
            return any(not job.done for job in self.jobs.values() if job.ref.kind != "pipeline")

    def stop_all(self, reason: str, execution_arn: str | None = None) -> None:
        """The run ended: every job still running is stopped (what the sweeper does for an ended execution); with
        `execution_arn`, only that execution's jobs."""
        with self._lock:
            open_jobs = [job.ref for job in self.jobs.values() if not job.done and job.ref.kind != "pipeline"
                         and execution_arn in (None, job.start.execution_id)]
        for ref in open_jobs:
            self.stopped(ref, reason)

    # ---- internals -----------------------------------------------------------------------------------------------

    def _ready(self, job: Job, now: float) -> bool:
        if job.ref.kind == "pipeline":
            return False  # delivered by the execution watch
        if job.process is not None and job.outcome is None:
            code = job.process.poll()
            timeout = job.script.command_timeout
            if code is None and timeout and now - job.started > timeout:
                job.process.kill()
                job.outcome = Outcome(False, error=f"local command timed out after {timeout:.0f} s", exit_code=-9)
            elif code is not None:
                job.outcome = Outcome(code == 0, error=None if code == 0 else
                                      f"local command exited with code {code} (log: {job.log})", exit_code=code)
            if job.outcome is not None:
                job.due = now
        return job.due is not None and now >= job.due

    def _outcome(self, job: Job) -> Outcome:
        if job.outcome is not None:
            return job.outcome
        script = job.script
        if script.fails(job.attempt):
            error = script.error or f"scripted failure of attempt {job.attempt + 1}"
            return Outcome(False, error=error, exit_code=script.exit_code)
        return Outcome(True, exit_code=0, output={"task": job.start.task, "attempt": job.attempt + 1})

    def _deliver_end(self, job: Job) -> bool:
        outcome = self._outcome(job)
        job.outcome = outcome
        event = end_job(self.clients, self.region, job.ref, outcome, payload=job.start.config.get("payload"))
        try:
            self._call(self.complete, "complete", event)
        except AttemptNotFoundYetError:
            # The dispatcher has started the job but not recorded it yet: EventBridge would retry.
            job.deliveries += 1
            if job.deliveries >= REDELIVERIES:
                raise
            job.due = time.monotonic() + REDELIVER_AFTER
            return False
        job.done = True
        return True

    def _watch_execution(self, watched: Watched) -> bool:
        if watched.status not in (None, "RUNNING"):
            return False
        event = execution_event(self.clients, self.region, watched.arn)
        if event["detail"]["status"] != "RUNNING" and watched.arn in self.aborted:
            error, cause = self.aborted[watched.arn]
            event["detail"].update(status="ABORTED", error=error, cause=cause, output=None)
        status = event["detail"]["status"]
        if status == watched.status:
            return False
        if watched.status is None and status != "RUNNING":
            # Ended before the first look: AWS still sends the RUNNING event first.
            started = json.loads(json.dumps(event))
            started["detail"].update(status="RUNNING", stopDate=None, output=None, error=None, cause=None)
            self._call(self.record, "record", started)
        self._call(self.record, "record", event)
        watched.status = status
        if status != "RUNNING" and watched.child_of is not None:
            self._call(self.complete, "complete", event)
            watched.child_of.done = True
        return True

    def _call(self, handler: Handler, name: str, event: dict[str, Any]) -> Any:
        self.delivered[name] += 1
        return handler(event)

    def _spawn(self, job: Job) -> None:
        assert job.script.command is not None
        # One log per attempt: the key is unique per (execution, task, item, retry).
        log = (self.log_dir or Path(".")) / f"{job.start.task}.{job.start.key[:8]}.log"
        log.parent.mkdir(parents=True, exist_ok=True)
        env = {**os.environ, **(job.script.env or {}), "SLUICE_PIPELINE": job.start.pipeline,
               "SLUICE_RUN_ID": job.start.run_id, "SLUICE_TASK": job.start.task,
               "SLUICE_ATTEMPT": str(job.attempt + 1), "SLUICE_LOGICAL_DATE": job.start.logical_date or "",
               "SLUICE_JOB": json.dumps(job.start.config, default=str)}
        with log.open("wb") as out:
            try:
                job.process = subprocess.Popen(job.script.command, stdout=out, stderr=subprocess.STDOUT, env=env)  # nosec B603  # the pipeline's own local command, run on its author's machine; an argument list, no shell
            except OSError as exc:
                job.outcome = Outcome(False, error=f"local command {job.script.command[0]!r} did not start: "
                                                   f"{exc.strerror or exc}", exit_code=127)
                job.due = time.monotonic()
        job.log = log


class Observed:
    """A job adapter that tells the pump about every job it starts or stops."""

    def __init__(self, inner: JobAdapter, pump: Pump) -> None:
        self.inner, self.pump = inner, pump
        self.kind = inner.kind

    def start(self, job: JobStart) -> JobRef:
        ref = self.inner.start(job)
        self.pump.started(job, ref)
        return ref

    def find(self, job: JobStart) -> JobRef | None:
        return self.inner.find(job)

    def describe(self, ref: JobRef) -> JobState:
        # The pump decides when a job ends; until then, moto's own idea of the job (some services move a job
        # along by themselves) must not end it behind the scenario's back (the sweeper asks).
        if self.pump.running(ref):
            return JobState("RUNNING")
        return self.inner.describe(ref)

    def stop(self, ref: JobRef, reason: str) -> None:
        # moto lacks some stop calls (Glue BatchStopJobRun): the pump sets the stopped state itself.
        with contextlib.suppress(NotImplementedError):
            self.inner.stop(ref, reason)
        self.pump.stopped(ref, reason)
