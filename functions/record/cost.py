"""A run's cost at its end: orchestration from its execution history and run-store items, plus the compute its jobs
reported (priced by sluice.cost, whose docstring says what each part covers)."""

from __future__ import annotations

import json
import os
from typing import Any

from sluice.cost import UNREPORTED_COMPUTE, add_usage, lambda_invokes, price, state_transitions

from ..adapters.executions import Executions
from ..adapters.run_store import RunStore

# Sluice's own functions are billed for their duration, which no record keeps: priced at this assumed duration per
# invocation (a warm dispatch makes a few DynamoDB calls and one service call). Lambda compute is a small part of a
# run's orchestration cost either way: state transitions dominate.
ASSUMED_SECONDS_PER_INVOCATION = 0.15
RECORD_INVOCATIONS = 2  # the run's RUNNING and end events
RUN_ITEM_WRITES = 3  # its RUNNING and end records, and this cost
# Set by local mode (sluice/local/runner.py): the jobs are moto's, and what they report is no real job's usage.
LOCAL_JOBS_ENV = "SLUICE_LOCAL_JOBS"
LOCAL_COMPUTE_BASIS = ("local run: the job's scripted or measured duration under moto (its reported run time), "
                       "billed at the service's minimum (Glue: 60 s per job run)")


class RunCosts:
    def __init__(self, store: RunStore, executions: Executions, *, memory_mb: int | None = None) -> None:
        self.store, self.executions = store, executions
        self.memory_mb = memory_mb or int(os.environ.get("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "256"))
        self.compute_basis = LOCAL_COMPUTE_BASIS if os.environ.get(LOCAL_JOBS_ENV) else None

    def of(self, execution_arn: str) -> dict[str, Any]:
        """The cost of an ended run, from what is recorded about it now."""
        return run_cost(self.executions.history(execution_arn), self.store.items(execution_arn),
                        memory_mb=self.memory_mb, compute_basis=self.compute_basis)


def run_cost(history: list[dict[str, Any]], items: list[dict[str, Any]], *, memory_mb: int,
             compute_basis: str | None = None) -> dict[str, Any]:
    """Price one run: its execution's history events and every run-store item of it. `compute_basis` says where
    the jobs' usage came from when it is not their services' own report (a local run)."""
    attempts = [item for item in items if "#ATTEMPT#" in item["sk"]]
    outcomes = [item for item in items if item["sk"].startswith("TASK#") and "#ATTEMPT#" not in item["sk"]]
    completions = sum(1 for item in attempts if item.get("external_id") and item.get("ended_at"))
    invocations = lambda_invokes(history) + completions + RECORD_INVOCATIONS
    # one write per status change (its history), and one more for an answer marked delivered (answer kept, no
    # longer in the active index)
    writes = RUN_ITEM_WRITES + len(outcomes) + sum(
        len(item.get("history") or [1]) + (1 if item.get("answer") and not item.get("active_pk") else 0)
        for item in attempts)
    compute: dict[str, float] = {}
    not_counted = {"DynamoDB reads", "parked requests at gates (3 writes each: park, claim, done)",
                   "the sweeper's scheduled invocations (shared by every run)"}
    for attempt in attempts:
        usage = _usage(attempt)
        add_usage(compute, usage)
        if usage and usage.get("unpriced") in UNREPORTED_COMPUTE:
            not_counted.add(UNREPORTED_COMPUTE[usage["unpriced"]])
        elif attempt.get("kind") in UNREPORTED_COMPUTE:
            not_counted.add(UNREPORTED_COMPUTE[attempt["kind"]])
        elif attempt.get("external_id") and not usage:
            not_counted.add(f"{attempt.get('kind')} jobs whose service reported no usage")
    quantities: dict[str, float] = {
        "state_transitions": state_transitions(history), "lambda_invocations": invocations,
        "lambda_gb_seconds": round(invocations * ASSUMED_SECONDS_PER_INVOCATION * memory_mb / 1024, 4),
        "dynamodb_write_units": writes, **compute}
    basis = {"lambda_gb_seconds": f"assumed {ASSUMED_SECONDS_PER_INVOCATION * 1000:.0f} ms per invocation at "
                                  f"{memory_mb} MB",
             "dynamodb_write_units": "counted from the run's records, 1 KB items"}
    if compute_basis:
        basis |= {key: compute_basis for key in compute}
    return price(quantities, basis=basis, not_counted=not_counted)


def _usage(attempt: dict[str, Any]) -> dict[str, Any] | None:
    raw = attempt.get("usage")
    if isinstance(raw, str):
        try:
            parsed = json.loads(raw)
        except ValueError:
            return None
        return parsed if isinstance(parsed, dict) else None
    return raw if isinstance(raw, dict) else None
