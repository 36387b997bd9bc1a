"""What a run would be billed for in the cloud, counted during a local run, and its orchestration cost.

Counted: Step Functions Standard state transitions (from the execution histories, retries included), invocations
and GB-seconds of Sluice's own functions (dispatch, complete, record), DynamoDB write and read requests of the run
store. Not counted: the jobs' own compute (Glue, EMR, ECS, Lambda tasks), the sweeper's scheduled invocations
(shared by every run), EventBridge (events from AWS services on the default bus are free), CloudWatch.
"""

from __future__ import annotations

import math
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from ..cost import ORCHESTRATION, price

LAMBDA_MEMORY_MB = 256  # what infra gives Sluice's functions
BILLED_MS_MIN = 1  # Lambda bills per millisecond, at least 1 ms

WRITES = frozenset({"PutItem", "UpdateItem", "DeleteItem"})
READS = frozenset({"GetItem", "Query", "Scan"})
TRANSACTIONS = frozenset({"TransactWriteItems"})  # a transactional write costs 2 WRU per item


@dataclass
class Meter:
    """Counts calls as they happen (from several threads)."""

    invocations: Counter[str] = field(default_factory=Counter)
    seconds: dict[str, float] = field(default_factory=dict)
    dynamodb: Counter[str] = field(default_factory=Counter)  # operation -> request units
    wait_writes: int = 0  # write units on parked requests (WAIT# items), which a run's recorded cost leaves out
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @contextmanager
    def invocation(self, function: str) -> Iterator[None]:
        started = time.perf_counter()
        try:
            yield
        finally:
            billed = max(BILLED_MS_MIN, math.ceil((time.perf_counter() - started) * 1000)) / 1000
            with self._lock:
                self.invocations[function] += 1
                self.seconds[function] = self.seconds.get(function, 0.0) + billed

    def watch_dynamodb(self, client: Any) -> None:
        """Count the request units of every run-store call this client makes (1 unit per item up to 1 KB)."""
        def note(event_name: str, params: dict[str, Any], **_: Any) -> None:
            operation = event_name.rsplit(".", 1)[-1]
            if operation in TRANSACTIONS:
                entries = params.get("TransactItems", [])
                written: list[dict[str, Any]] = [next(iter(entry.values()), {}) for entry in entries]
                units, waits = 2 * len(written), 2 * sum(_on_wait(one) for one in written)
            elif operation in WRITES or operation in READS:
                units, waits = 1, int(operation in WRITES and _on_wait(params))
            else:
                return
            with self._lock:
                self.dynamodb[operation] += units
                self.wait_writes += waits

        client.meta.events.register("before-call.dynamodb", note)

    def counts(self, state_transitions: int) -> dict[str, Any]:
        writes = sum(units for op, units in self.dynamodb.items() if op in WRITES | TRANSACTIONS)
        reads = sum(units for op, units in self.dynamodb.items() if op in READS)
        gb_seconds = sum(self.seconds.values()) * LAMBDA_MEMORY_MB / 1024
        return {"state_transitions": state_transitions, "lambda_invocations": sum(self.invocations.values()),
                "lambda_invocations_by_function": dict(self.invocations),
                "lambda_gb_seconds": round(gb_seconds, 4), "lambda_memory_mb": LAMBDA_MEMORY_MB,
                "dynamodb_write_units": writes, "dynamodb_wait_write_units": self.wait_writes,
                "dynamodb_read_units": reads,
                "dynamodb_requests_by_operation": dict(self.dynamodb)}


def _on_wait(request: dict[str, Any]) -> bool:
    """Whether a write request (or one write of a transaction) is on a parked request's item."""
    key = request.get("Key") or request.get("Item") or {}
    return str(key.get("sk", {}).get("S", "")).startswith("WAIT#")


def cost(counts: dict[str, Any]) -> dict[str, Any]:
    """The orchestration cost of one run at the list prices in sluice.cost, from the local counts: the fallback
    when the record function kept no cost on the run (the figure a run's result shows otherwise)."""
    basis = {key: "counted locally (the run's record has no cost)" for key in ORCHESTRATION}
    return price({key: counts[key] for key in ORCHESTRATION}, basis=basis,
                 not_counted=["the jobs' own compute", "the sweeper's scheduled invocations (shared by every run)"])
