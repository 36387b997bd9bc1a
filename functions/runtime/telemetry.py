"""The per-pipeline metrics of attempts (EMF, namespace Sluice): what the alarms and dashboards read."""

from __future__ import annotations

from aws_lambda_powertools.metrics import MetricUnit

from ..observability import measure
from .records import Attempt


def measure_attempt(attempt: Attempt, status: str, duration_s: float) -> None:
    """Once per ended attempt, by pipeline and task: its duration, that it ran, whether it was a retry, and a
    failure by its end status (FAILED, TIMED_OUT, LOST, STOPPED)."""
    dims = {"pipeline": attempt.pipeline, "task": attempt.task}
    measure("TaskDuration", duration_s, MetricUnit.Seconds, **dims)
    measure("TaskAttempts", 1, MetricUnit.Count, **dims)
    if attempt.retry > 0:
        measure("TaskRetries", 1, MetricUnit.Count, **dims)
    if status != "SUCCEEDED":
        measure("TaskFailures", 1, MetricUnit.Count, **dims, error=status)


def measure_dispatch(attempt: Attempt, latency_s: float) -> None:
    """From the Task state's entry to its job's start (gate waits included), by pipeline and task."""
    measure("DispatchLatency", latency_s * 1000, MetricUnit.Milliseconds, pipeline=attempt.pipeline, task=attempt.task)
