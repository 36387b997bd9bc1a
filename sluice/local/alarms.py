"""What a local run's metrics would have set off in the cloud: the metrics the functions emitted (EMF, read back
from the run's function log) and the pipeline's alarm conditions evaluated on them.

The conditions mirror the alarms infra/constructs/monitoring.py deploys (same names without the environment
prefix; tests/infra/test_monitoring.py keeps the two lists equal). In the cloud the failed and timed-out alarms
read Step Functions' own metrics; here the run's RunsFailed/RunsAborted/RunsTimedOut stand in for them.
"""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sluice.spec import Pipeline


@dataclass(frozen=True)
class Datum:
    namespace: str
    name: str
    unit: str
    value: float
    dims: dict[str, str]


def read_emf(log: Path) -> list[Datum]:
    """Every metric datum in a log of EMF lines (other lines are the functions' logs)."""
    out = []
    for line in log.read_text(encoding="utf-8").splitlines():
        if not line.startswith("{") or '"_aws"' not in line:
            continue
        record = json.loads(line)
        for directive in record["_aws"]["CloudWatchMetrics"]:
            dims = {d: str(record[d]) for group in directive["Dimensions"] for d in group}
            for metric in directive["Metrics"]:
                values = record[metric["Name"]]
                for value in values if isinstance(values, list) else [values]:
                    out.append(Datum(directive["Namespace"], metric["Name"], metric.get("Unit", ""), float(value),
                                     dims))
    return out


def totals(data: list[Datum], pipeline: str) -> dict[str, float]:
    """Per metric name, the pipeline's sum (counts) or maximum (durations, latencies)."""
    out: dict[str, float] = defaultdict(float)
    for d in data:
        if d.namespace != "Sluice" or d.dims.get("pipeline") != pipeline:
            continue
        out[d.name] = max(out[d.name], d.value) if d.unit in {"Seconds", "Milliseconds"} else out[d.name] + d.value
    return dict(sorted(out.items()))


def alarms(pipeline: Pipeline, data: list[Datum]) -> list[dict[str, Any]]:
    """Each alarm the pipeline has, whether the run's metrics set it off, and why."""
    mine = [d for d in data if d.namespace == "Sluice" and d.dims.get("pipeline") == pipeline.name]

    def total(name: str) -> float:
        return sum(d.value for d in mine if d.name == name)

    def longest(name: str, task: str | None = None) -> float:
        return max((d.value for d in mine if d.name == name and (task is None or d.dims.get("task") == task)),
                   default=0.0)

    out = [_alarm(f"{pipeline.name}-failed", total("RunsFailed") + total("RunsAborted") >= 1,
                  "a run failed or was aborted")]
    if pipeline.timeout:
        out.append(_alarm(f"{pipeline.name}-timed-out", total("RunsTimedOut") >= 1,
                          f"a run passed the pipeline's timeout ({pipeline.timeout} s)"))
    if pipeline.max_duration:
        out.append(_alarm(f"{pipeline.name}-over-max-duration", longest("RunDuration") > pipeline.max_duration,
                          f"the run took {longest('RunDuration'):.1f} s; max_duration is {pipeline.max_duration} s"))
    if pipeline.deadline:
        out.append(_alarm(f"{pipeline.name}-deadline-missed", False,
                          f"checked at {pipeline.deadline.at} ({pipeline.deadline.timezone}) against the run store in "
                          "the cloud; a local run has no deadline"))
    for name, task in pipeline.tasks.items():
        if task.expected_duration:
            took = longest("TaskDuration", name)
            out.append(_alarm(f"{pipeline.name}-{name}-over-expected-duration", took > task.expected_duration,
                              f"the longest attempt of {name} took {took:.1f} s; expected_duration is "
                              f"{task.expected_duration} s"))
    return out


def _alarm(name: str, fired: bool, why: str) -> dict[str, Any]:
    return {"alarm": name, "would_fire": fired, "why": why}
