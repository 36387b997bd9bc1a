"""The run record's rules, in memory: task outcomes, trigger-rule decisions, the run's outcome.

The dispatcher applies the same rules to the DynamoDB run store; simulation and tests use this directly.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from . import template
from .contract import RUN_FAILED, TOO_MANY_ITEMS, DispatchRequest, RunOutcome, TaskStatus, decide

TERMINAL = {"SUCCEEDED", "FAILED", "SKIPPED", "UPSTREAM_FAILED"}


@dataclass
class TaskRecord:
    status: str = "PENDING"
    attempts: int = 0
    error: str | None = None
    cause: str | None = None
    output: Any = None
    items: dict[int, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Settled:
    """What a dispatcher call comes to once its gate is open: an answer, an error, or a job to start."""

    output: dict[str, Any] | None = None
    error: tuple[str, str] | None = None

    @property
    def start_job(self) -> bool:
        return self.output is None and self.error is None


class Ledger:
    def __init__(self) -> None:
        self.tasks: dict[str, TaskRecord] = {}

    def task(self, name: str) -> TaskRecord:
        return self.tasks.setdefault(name, TaskRecord())

    def ended(self, name: str) -> bool:
        return self.task(name).status in TERMINAL

    def decide(self, depends_on: list[str], trigger_rule: str) -> TaskStatus | None:
        """None when the task should run, else the status to record instead (SKIPPED / UPSTREAM_FAILED)."""
        return decide(trigger_rule, [self.task(d).status for d in depends_on])

    def record(self, name: str, status: str, *, error: str | None = None, cause: str | None = None,
               output: Any = None) -> None:
        record = self.task(name)
        if record.status in TERMINAL:
            return  # recorded outcomes never regress
        record.status, record.error, record.cause = status, error, cause
        if output is not None:
            record.output = output

    def finish_foreach(self, name: str) -> None:
        """A foreach task's outcome from its items (kept if already decided before any item ran)."""
        record = self.task(name)
        if record.status in TERMINAL:
            return
        failed = sorted(i for i, s in record.items.items() if s == "FAILED")
        if failed:
            self.record(name, "FAILED", error="Sluice.TaskFailed",
                        cause=f"{len(failed)} of {len(record.items)} items failed (indexes {failed[:10]})")
        else:
            self.record(name, "SUCCEEDED")

    def settle(self, req: DispatchRequest) -> Settled:
        """Apply a request whose `wait_for` tasks have all ended; everything short of running the job."""
        if req.action == "finalize":
            return Settled(self.outcome().model_dump())
        task = req.task
        assert task is not None, f"action {req.action} names no task"
        if req.action == "skip":
            self.record(task, "SKIPPED")
            return Settled({"status": "SKIPPED"})
        if req.action == "fail":
            error = req.error or {}
            if req.item_index is not None:
                self.task(task).items[req.item_index] = "FAILED"
            else:
                self.record(task, "FAILED", error=error.get("Error"), cause=error.get("Cause"))
            return Settled({})
        if req.action == "finish":
            self.finish_foreach(task)
            return Settled({})
        decision = self.decide(req.depends_on, req.trigger_rule) if req.item_index is None else None
        if decision:
            self.record(task, decision)
            return Settled({"items": []} if req.action == "prepare" else {"status": decision})
        if req.action == "prepare":
            items = template.render(req.items, {"params": req.params})
            if not isinstance(items, list):
                return Settled(error=(TOO_MANY_ITEMS, f"foreach items are not a list: {items!r:.200}"))
            if len(items) > (req.max_items or 0):
                return Settled(error=(TOO_MANY_ITEMS, f"{len(items)} items, foreach.max_items is {req.max_items}"))
            return Settled({"items": items})
        return Settled()

    def job_ended(self, req: DispatchRequest, succeeded: bool) -> None:
        """Count an attempt of a run request's job; record success (failures are recorded by `fail`)."""
        assert req.task is not None
        record = self.task(req.task)
        record.attempts += 1
        if not succeeded:
            return
        if req.item_index is None:
            self.record(req.task, "SUCCEEDED", output={"task": req.task})
        else:
            record.items[req.item_index] = "SUCCEEDED"

    def outcome(self) -> RunOutcome:
        failed = [n for n, r in self.tasks.items() if r.status == "FAILED"]
        if not failed:
            return RunOutcome(status="SUCCEEDED")
        parts = []
        for name in failed:
            r = self.tasks[name]
            tries = f" after {r.attempts} attempt(s)" if r.attempts else ""
            parts.append(f"task '{name}' failed{tries}: {r.error or 'error'}: {r.cause or ''}".rstrip(": "))
        blocked = [n for n, r in self.tasks.items() if r.status == "UPSTREAM_FAILED"]
        if blocked:
            parts.append(f"not run because upstream failed: {', '.join(blocked)}")
        return RunOutcome(status="FAILED", error=RUN_FAILED, cause="; ".join(parts)[:32_000])
