"""ECS tasks run to completion. RunTask deduplicates by clientToken (the key); `startedBy` carries the key too,
and a start first lists the cluster's tasks started by it (running and stopped)."""

from __future__ import annotations

import hashlib
from typing import Any

from botocore.exceptions import ClientError

from ...events import usage
from ...runtime.text import joined
from .base import JobError, JobNotFoundError, JobRef, JobStart, JobState
from .errors import code_of, start_once, translated

STARTED_BY_MAX = 36  # ECS: startedBy holds up to 36 letters, digits, '-', '_' and '/'
REASON_MAX = 255  # ECS: the stop reason holds up to 255 characters


def started_by(key: str) -> str:
    """The key when it fits; else its start and a hash of the whole key, so keys sharing a prefix stay apart."""
    if len(key) <= STARTED_BY_MAX:
        return key
    return f"{key[:23]}-{hashlib.sha256(key.encode()).hexdigest()[:12]}"


_TRANSIENT = ("capacity is unavailable", "try again", "throttl", "rate exceeded")


def capacity(reason: str) -> bool:
    """RunTask failure reasons that mean "no room now": RESOURCE:CPU, RESOURCE:MEMORY, AGENT on EC2, and Fargate's
    "Capacity is unavailable at this time. Please try again later..." (the default launch type's usual one)."""
    lowered = reason.lower()
    return reason.startswith("RESOURCE:") or reason == "AGENT" or any(word in lowered for word in _TRANSIENT)


def run_request(job: JobStart) -> dict[str, Any]:
    config = job.config
    request: dict[str, Any] = {
        "cluster": config["cluster"], "taskDefinition": config["task_definition"], "count": 1,
        "launchType": config.get("launch_type") or "FARGATE", "clientToken": job.key, "startedBy": started_by(job.key),
        "tags": [{"key": key, "value": value} for key, value in job.tags.items()], "propagateTags": "TASK_DEFINITION",
    }
    overrides: dict[str, Any] = {}
    if config.get("container"):
        container: dict[str, Any] = {"name": config["container"]}
        if config.get("command") is not None:
            container["command"] = list(config["command"])
        if config.get("environment"):
            container["environment"] = [{"name": k, "value": v} for k, v in config["environment"].items()]
        overrides["containerOverrides"] = [container]
    for size in ("cpu", "memory"):
        if config.get(size):
            overrides[size] = str(config[size])  # task-level sizes are strings in the API
    if overrides:
        request["overrides"] = overrides
    if network := config.get("network"):
        request["networkConfiguration"] = {"awsvpcConfiguration": {
            "subnets": list(network["subnets"]), "securityGroups": list(network.get("security_groups", [])),
            "assignPublicIp": "ENABLED" if network.get("assign_public_ip") else "DISABLED"}}
    return request


class EcsAdapter:
    kind = "ecs"

    def __init__(self, client: Any) -> None:
        self.client = client

    def start(self, job: JobStart) -> JobRef:
        request = run_request(job)
        cluster, details = request["cluster"], {"cluster": request["cluster"]}
        doing = f"ECS: run task {request['taskDefinition']} on cluster {cluster}"

        def start() -> JobRef:
            with translated(doing):
                response = self.client.run_task(**request)
            tasks, failures = response.get("tasks", []), response.get("failures", [])
            if tasks:
                return JobRef(self.kind, tasks[0]["taskArn"], details)
            reasons = [joined(f.get("reason"), f.get("detail"), f.get("arn"), sep=" ") for f in failures]
            raise JobError(f"{doing} failed: {'; '.join(reasons) or 'no task and no failure reported'}",
                           retryable=any(capacity(f.get("reason") or "") for f in failures))

        return start_once(lambda: self.find(job), start)

    def find(self, job: JobStart) -> JobRef | None:
        cluster, by = job.config["cluster"], started_by(job.key)
        with translated(f"ECS: look up the tasks of cluster {cluster} started by {by}"):
            for desired in ("RUNNING", "STOPPED"):  # ListTasks filters by one desired status, RUNNING if none
                if arns := self._started(cluster, by, desired):
                    return JobRef(self.kind, arns[0], {"cluster": cluster})
        return None

    def _started(self, cluster: str, by: str, desired: str) -> list[str]:
        try:
            return list(self.client.list_tasks(cluster=cluster, startedBy=by, desiredStatus=desired)["taskArns"])
        except ClientError as exc:
            # The API reference wants startedBy as the only filter. Should ECS refuse it with desiredStatus,
            # list the running tasks alone: clientToken still guards the start.
            if code_of(exc) != "InvalidParameterException":
                raise
        return [] if desired == "STOPPED" else list(self.client.list_tasks(cluster=cluster, startedBy=by)["taskArns"])

    def describe(self, ref: JobRef) -> JobState:
        cluster = ref.details["cluster"]
        doing = f"ECS: describe task {ref.external_id} on cluster {cluster}"
        with translated(doing, not_found=("ClusterNotFoundException",)):
            response = self.client.describe_tasks(cluster=cluster, tasks=[ref.external_id])
        if not response.get("tasks"):  # failures: [{"reason": "MISSING"}]; ECS forgets stopped tasks after an hour
            reasons = [str(f.get("reason")) for f in response.get("failures", [])]
            raise JobNotFoundError(f"{doing} failed: {', '.join(reasons) or 'no such task'}")
        task = response["tasks"][0]
        if task.get("lastStatus") != "STOPPED":
            return JobState("RUNNING")
        # The same rule as the ECS Task State Change event (functions/events/reduce.py): any container's non-zero
        # exit fails the task, so the sweeper and the completion function never disagree.
        code, error = outcome(task)
        if code == 0:
            return JobState("SUCCEEDED", exit_code=0, output={"task_arn": ref.external_id, "exit_code": 0},
                            usage=usage.ecs(task))
        return JobState("FAILED", error=error, exit_code=code, usage=usage.ecs(task))

    def stop(self, ref: JobRef, reason: str) -> None:
        # Stopping a stopped task succeeds: nothing to check.
        cluster = ref.details["cluster"]
        with translated(f"ECS: stop task {ref.external_id} on cluster {cluster}"):
            self.client.stop_task(cluster=cluster, task=ref.external_id, reason=reason[:REASON_MAX])


def outcome(task: dict[str, Any]) -> tuple[int | None, str]:
    """Exit code and error of a stopped task: any container's non-zero exit fails it."""
    containers = task.get("containers", [])
    deciding = ([c for c in containers if c.get("exitCode") not in (None, 0)]
                or [c for c in containers if c.get("exitCode") == 0] or containers[:1])
    container = deciding[0] if deciding else {}
    code = container.get("exitCode")
    stopped = joined(task.get("stopCode"), task.get("stoppedReason"))
    which = joined(f"container {container.get('name', '?')}", container.get("reason"))
    if code is None:  # it never ran (image pull, capacity, secrets) or was stopped before it did
        return None, joined(stopped, which, sep="; ") or "task stopped without an exit code"
    return code, joined(stopped, which, f"exit code {code}", sep="; ")
