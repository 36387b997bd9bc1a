"""The compute a finished job used, as its service reports it (sluice.cost prices the keys returned here).

The shapes are the services' own: a Glue JobRun (GetJobRun), an EMR Serverless jobRun (GetJobRun), an ECS task
(DescribeTasks, or the detail of an "ECS Task State Change" event, which carries the same fields). None when the
service reported nothing usable; {"unpriced": "<what>"} for compute Sluice cannot attribute to the job.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

# DPUs per worker of each Glue worker type (https://docs.aws.amazon.com/glue/latest/dg/add-job.html).
GLUE_WORKER_DPU = {"Standard": 1.0, "G.025X": 0.25, "G.1X": 1.0, "G.2X": 2.0, "G.4X": 4.0, "G.8X": 8.0, "Z.2X": 2.0}
GLUE_MINIMUM_SECONDS = 60  # Glue 2.0+ and Python shell bill per second with a 1-minute minimum
FARGATE_MINIMUM_SECONDS = 60  # Fargate bills from the image pull to the task's end, per second, 1-minute minimum


def glue(run: dict[str, Any]) -> dict[str, Any] | None:
    """DPU-seconds: DPUSeconds where Glue reports it (auto-scaling, Flex), else ExecutionTime x capacity."""
    if _number(run.get("DPUSeconds")):
        return {"glue_dpu_seconds": float(run["DPUSeconds"])}
    seconds = run.get("ExecutionTime")
    capacity = run.get("MaxCapacity")
    if not _number(capacity) and _number(run.get("NumberOfWorkers")):
        per_worker = GLUE_WORKER_DPU.get(str(run.get("WorkerType")))
        capacity = run["NumberOfWorkers"] * per_worker if per_worker else None
    if not isinstance(seconds, int | float) or not isinstance(capacity, int | float):
        return None
    if not _number(seconds) or not _number(capacity):
        return None
    return {"glue_dpu_seconds": max(float(seconds), GLUE_MINIMUM_SECONDS) * float(capacity)}


def emr_serverless(run: dict[str, Any]) -> dict[str, Any] | None:
    """vCPU, memory and storage hours as billed (billedResourceUtilization), else as used in total."""
    used = run.get("billedResourceUtilization") or run.get("totalResourceUtilization")
    if not isinstance(used, dict):
        return None
    keys = {"vCPUHour": "emr_serverless_vcpu_hours", "memoryGBHour": "emr_serverless_memory_gb_hours",
            "storageGBHour": "emr_serverless_storage_gb_hours"}
    usage = {ours: float(used[theirs]) for theirs, ours in keys.items() if _number(used.get(theirs))}
    return usage or None


def ecs(task: dict[str, Any]) -> dict[str, Any] | None:
    """Fargate vCPU- and memory GB-seconds of a stopped task, from its size and its pull-to-stop time."""
    provider = str(task.get("capacityProviderName") or task.get("launchType") or "")
    if provider == "EC2" or (provider and "FARGATE" not in provider):
        return {"unpriced": "ecs_ec2"}
    if provider == "FARGATE_SPOT":
        return {"unpriced": "ecs_fargate_spot"}
    began, ended = _time(task.get("pullStartedAt") or task.get("startedAt")), _time(task.get("stoppedAt"))
    try:
        vcpu, memory_gb = float(task["cpu"]) / 1024, float(task["memory"]) / 1024
    except (KeyError, TypeError, ValueError):
        return None
    if began is None or ended is None or ended < began:
        return None
    seconds = max((ended - began).total_seconds(), FARGATE_MINIMUM_SECONDS)
    return {"fargate_vcpu_seconds": round(vcpu * seconds, 3),
            "fargate_memory_gb_seconds": round(memory_gb * seconds, 3)}


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and value > 0


def _time(value: Any) -> dt.datetime | None:
    """boto3 gives datetimes, events ISO 8601 strings."""
    if isinstance(value, dt.datetime):
        return value if value.tzinfo else value.replace(tzinfo=dt.UTC)
    if isinstance(value, str):
        try:
            parsed = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return None
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)
    return None
