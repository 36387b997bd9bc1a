"""Compile-time check against Step Functions quotas: history events, definition size, payload size."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from ..contract import LAMBDA_ERRORS

HISTORY_LIMIT = 25_000  # events per standard execution
DEFINITION_LIMIT = 1_048_576  # bytes of definition JSON
PAYLOAD_LIMIT = 262_144  # bytes of state input/output and of a task's parameters
WARN_AT = 0.8
TOKEN_BYTES = 1_024  # a task token and the context fields the interpreter adds, generously

# History events a state writes when it runs once, and per retry of a Task.
_EVENTS = {"Pass": 2, "Choice": 2, "Wait": 3, "Succeed": 2, "Fail": 1}  # nosec B105  # 'Pass' is the ASL state type
_TOKEN_TASK, _SYNC_TASK, _PER_RETRY, _PARALLEL, _MAP, _ITERATION = 6, 5, 4, 4, 4, 2


@dataclass(frozen=True)
class Budget:
    history_events: int
    definition_bytes: int
    payload_bytes: int

    def findings(self, pipeline: str) -> list[tuple[str, str]]:
        """(severity, message) for each figure at or over WARN_AT of its quota."""
        out = []
        for value, limit, what, advice in (
            (self.history_events, HISTORY_LIMIT, "worst-case execution history events",
             "split the pipeline with child 'pipeline' tasks, or lower retry.max_attempts / foreach.max_items"),
            (self.definition_bytes, DEFINITION_LIMIT, "definition size (bytes)",
             "split the pipeline into child pipelines ('pipeline' tasks)"),
            (self.payload_bytes, PAYLOAD_LIMIT, "largest dispatch payload (bytes)",
             "move large values (long argument lists, big parameter defaults) to S3 and pass their paths"),
        ):
            if value > limit:
                out.append(("error", f"{pipeline}: {what} {value:,} is over the Step Functions quota of {limit:,}; "
                                     f"{advice}"))
            elif value >= WARN_AT * limit:
                out.append(("warning", f"{pipeline}: {what} {value:,} is near the quota of {limit:,}; {advice}"))
        return out


def measure(definition: dict[str, Any], map_items: dict[str, int], param_bytes: int) -> Budget:
    """Estimate the worst case: every state runs, every job uses all its attempts, every foreach is full."""
    compact = json.dumps(definition, separators=(",", ":"), sort_keys=True)
    return Budget(
        history_events=2 + _states_events(definition["States"], map_items),
        definition_bytes=len(compact.encode()),
        payload_bytes=_largest_payload(definition["States"]) + param_bytes + TOKEN_BYTES,
    )


def _states_events(states: dict[str, Any], map_items: dict[str, int]) -> int:
    total = 0
    for name, state in states.items():
        kind = state["Type"]
        if kind == "Task":
            retries = sum(r.get("MaxAttempts", 3) for r in state.get("Retry", []) if r["ErrorEquals"] != LAMBDA_ERRORS)
            token = state["Resource"].endswith(".waitForTaskToken")
            total += (_TOKEN_TASK if token else _SYNC_TASK) + _PER_RETRY * retries
        elif kind == "Parallel":
            total += _PARALLEL + sum(_states_events(b["States"], map_items) for b in state["Branches"])
        elif kind == "Map":
            per_item = _ITERATION + _states_events(state["ItemProcessor"]["States"], map_items)
            total += _MAP + map_items.get(name, 1) * per_item
        else:
            total += _EVENTS.get(kind, 2)
    return total


def _largest_payload(states: dict[str, Any]) -> int:
    largest = 0
    for state in states.values():
        if state["Type"] == "Task":
            largest = max(largest, len(json.dumps(state["Parameters"], separators=(",", ":")).encode()))
        for inner in [*state.get("Branches", []), *([state["ItemProcessor"]] if "ItemProcessor" in state else [])]:
            largest = max(largest, _largest_payload(inner["States"]))
    return largest
