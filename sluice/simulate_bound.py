"""The best makespan a simulated run's DAG allows, to set against the makespan it had.

It assumes no retries and that every task starts as soon as its dependencies end; a foreach task takes one
duration per wave of `max_concurrency` items, so 25 items at max_concurrency 10 take three durations.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field

from .graph import Dag
from .ledger import Ledger
from .spec import Pipeline


@dataclass(frozen=True)
class Waves:
    items: int
    max_concurrency: int

    @property
    def count(self) -> int:
        return math.ceil(self.items / self.max_concurrency)


@dataclass(frozen=True)
class Bound:
    seconds: float
    path: list[str]
    waves: dict[str, Waves] = field(default_factory=dict)  # the foreach tasks that ran


def best_makespan(pipeline: Pipeline, durations: Mapping[str, float], ledger: Ledger) -> Bound:
    """The critical path of the tasks that ran (the others count 0), without retries, foreach tasks in waves."""
    weights: dict[str, float] = {}
    waves: dict[str, Waves] = {}
    for name, task in pipeline.tasks.items():
        record = ledger.tasks.get(name)
        if record is None or not record.attempts:
            weights[name] = 0.0
            continue
        weights[name] = durations[name]
        if task.foreach and record.items:
            waves[name] = Waves(len(record.items), task.foreach.max_concurrency)
            weights[name] *= waves[name].count
    length, path = Dag.of(pipeline).critical_path(weights)
    return Bound(length, path, waves)
