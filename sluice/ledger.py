"""The run record's rules, in memory: task outcomes, trigger-rule decisions, the run's outcome.

The dispatcher applies the same rules to the DynamoDB run store; simulation and tests use this directly.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .contract import RUN_FAILED, RunOutcome, TaskStatus, decide

TERMINAL = {"SUCCEEDED", "FAILED", "SKIPPED", "UPSTREAM_FAILED"}


@dataclass
class TaskRecord:
    status: str = "PENDING"
    attempts: int = 0
    error: str | None = None
    cause: str | None = None
    output: Any = None
    items: dict[int, str] = field(default_factory=dict)


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
