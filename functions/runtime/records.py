"""The run record's shapes: task attempts and their legal status changes, and a run read back as a Ledger."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from typing import Any

from sluice.ledger import Ledger

from ..adapters.jobs.base import JobStart

# An attempt is claimed (STARTING) before its job is started, RUNNING once the job's id is recorded, and ends
# once: SUCCEEDED or FAILED (the job's own end), LOST (the service no longer knows the job), TIMED_OUT (the state
# machine gave up on it), STOPPED (the run was stopped or cancelled).
STARTING, RUNNING = "STARTING", "RUNNING"
ATTEMPT_ENDS = ("SUCCEEDED", "FAILED", "LOST", "TIMED_OUT", "STOPPED")
LEGAL_FROM: dict[str, tuple[str, ...]] = {
    RUNNING: (STARTING,),
    **{end: (STARTING, RUNNING) for end in ATTEMPT_ENDS},
}


ITEM_LABEL = 60


def item_label(item: Any) -> str:
    """A foreach item as a person reads it: a string as is, anything else as compact JSON; long ones cut short."""
    text = item if isinstance(item, str) else json.dumps(item, separators=(",", ":"), default=str, sort_keys=True)
    return text if len(text) <= ITEM_LABEL else text[:ITEM_LABEL - 1] + "…"


def attempt_key(execution_id: str, task: str, item_index: int | None, retry: int) -> str:
    """The job's idempotency key: 32 hex characters fit every service's token (ECS startedBy allows 36)."""
    text = f"{execution_id}|{task}|{'' if item_index is None else item_index}|{retry}"
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def item_part(item_index: int | None) -> str:
    return "-" if item_index is None else f"{item_index:05d}"


@dataclass
class Attempt:
    run: str  # the execution ARN
    task: str
    item_index: int | None
    retry: int  # $$.State.RetryCount of the state attempt that claimed it
    key: str
    kind: str
    token: str
    status: str = STARTING
    started_at: str = ""
    config: dict[str, Any] = field(default_factory=dict)
    pipeline: str = ""
    run_id: str = ""
    timeout: int | None = None
    logical_date: str | None = None
    external_id: str | None = None
    details: dict[str, str] = field(default_factory=dict)
    log_location: str | None = None
    ended_at: str | None = None
    duration_s: float | None = None
    error: str | None = None
    exit_code: int | None = None
    output: Any = None
    end_event: str | None = None
    usage: dict[str, Any] | None = None  # compute the job used, as its service reported it (for the run's cost)
    resumed_from: dict[str, Any] | None = None  # a resumed run's copy of an attempt that succeeded in the original
    adopted_by: int | None = None  # the retry that took this attempt over, if one did
    gated: bool = True  # its pipeline parks requests at gates: its end must release them
    lease_until: str | None = None  # while STARTING: until when its claimer (or adopter) alone may start the job
    answer: dict[str, Any] | None = None  # what its token is told once it ended ({"output"} or {"error", "cause"})
    history: list[dict[str, str]] = field(default_factory=list)
    item_label: str | None = None  # a foreach item's value, short (ITEM_LABEL characters at most), for people

    @property
    def sk(self) -> str:
        return f"TASK#{self.task}#ATTEMPT#{item_part(self.item_index)}#{self.retry:04d}"

    @property
    def ended(self) -> bool:
        return self.status in ATTEMPT_ENDS

    def job(self) -> JobStart:
        """The job this attempt starts (the same request on every try: its key makes it idempotent)."""
        return JobStart(kind=self.kind, key=self.key, pipeline=self.pipeline, run_id=self.run_id,
                        execution_id=self.run, task=self.task, config=self.config, item_index=self.item_index,
                        retry=self.retry,
                        tags={"sluice:pipeline": self.pipeline, "sluice:run-id": self.run_id, "sluice:task": self.task},
                        logical_date=self.logical_date)


def shown_status(recorded: str | None, attempts: list[Attempt], *, run_ended: bool) -> str:
    """A task's status as people are shown it: its recorded outcome; without one, what its attempts say (the last
    one's end once all ended, a run stopped or timed out records none: STOPPED, TIMED_OUT); without attempts,
    PENDING while the run goes on and NOT_RUN once it has ended."""
    if recorded not in (None, "PENDING"):
        return str(recorded)
    if attempts:
        last = max(attempts, key=lambda a: (a.item_index if a.item_index is not None else -1, a.retry))
        return last.status if all(a.ended for a in attempts) else RUNNING
    return "NOT_RUN" if run_ended else "PENDING"


@dataclass
class RunView:
    """Everything recorded for one run: task outcomes (as a Ledger), attempts, and parked requests."""

    run: str
    ledger: Ledger
    attempts: list[Attempt]
    outputs: dict[str, Any]

    def attempts_of(self, task: str, item_index: int | None) -> list[Attempt]:
        return sorted((a for a in self.attempts if a.task == task and a.item_index == item_index),
                      key=lambda a: a.retry)

    def ended(self, task: str) -> bool:
        return self.ledger.ended(task)


def build_view(run: str, tasks: list[dict[str, Any]], attempts: list[Attempt],
               item_failures: list[dict[str, Any]]) -> RunView:
    """Fold stored task outcomes, attempts and foreach item failures into the Ledger the rules run on."""
    ledger = Ledger()
    outputs: dict[str, Any] = {}
    item_outputs: dict[str, dict[int, Any]] = {}
    for attempt in sorted(attempts, key=lambda a: a.retry):
        record = ledger.task(attempt.task)
        if attempt.item_index is not None:
            if attempt.status == "SUCCEEDED":
                record.items[attempt.item_index] = "SUCCEEDED"
                item_outputs.setdefault(attempt.task, {})[attempt.item_index] = attempt.output
            continue
        if attempt.ended:
            record.attempts += 1
        if attempt.status == "SUCCEEDED":
            ledger.record(attempt.task, "SUCCEEDED", output=attempt.output)
            outputs[attempt.task] = attempt.output
    for failure in item_failures:
        ledger.task(failure["task"]).items[int(failure["item_index"])] = "FAILED"
    for task in tasks:
        # A task's own record (skipped, failed after its last attempt, a foreach's outcome) is final.
        record = ledger.task(task["task"])
        record.status, record.error, record.cause = task["status"], task.get("error"), task.get("cause")
        if record.status == "SUCCEEDED" and task["task"] not in outputs:
            # Only a foreach task's result is recorded SUCCEEDED here: its output is its items' outputs, in item
            # order ([] for no items).
            by_item = item_outputs.get(task["task"], {})
            outputs[task["task"]] = [by_item[index] for index in sorted(by_item)]
    return RunView(run, ledger, attempts, outputs)
