"""Steps on a running EMR cluster. AddJobFlowSteps takes no client token: the step's name carries the key, and a
start first looks for a step of that name on the cluster."""

from __future__ import annotations

from typing import Any

from ...runtime.text import joined
from .base import JobError, JobNotFoundError, JobRef, JobStart, JobState
from .errors import start_once, translated

LOOKUP_PAGES = 4  # ListSteps pages of 50, newest first
FAILED = frozenset({"FAILED", "CANCELLED", "INTERRUPTED"})


def step_name(key: str) -> str:
    return f"sluice-{key}"


def hadoop_jar_step(config: dict[str, Any]) -> dict[str, Any]:
    if config.get("spark_submit") is not None:
        return {"Jar": "command-runner.jar", "Args": ["spark-submit", *config["spark_submit"]]}
    step: dict[str, Any] = {"Jar": config["jar"], "Args": list(config.get("args", []))}
    if config.get("main_class"):
        step["MainClass"] = config["main_class"]
    return step


class EmrAdapter:
    kind = "emr"

    def __init__(self, client: Any) -> None:
        self.client = client

    def start(self, job: JobStart) -> JobRef:
        cluster, name = job.config["cluster_id"], step_name(job.key)
        # CONTINUE: one task's failure must not terminate a cluster other tasks (and pipelines) share.
        step = {"Name": name, "ActionOnFailure": "CONTINUE", "HadoopJarStep": hadoop_jar_step(job.config)}

        def start() -> JobRef:
            with translated(f"EMR: add step {name} to cluster {cluster}"):
                step_id = self.client.add_job_flow_steps(JobFlowId=cluster, Steps=[step])["StepIds"][0]
            return JobRef(self.kind, step_id, {"cluster_id": cluster})

        return start_once(lambda: self._find(cluster, name), start)

    def find(self, job: JobStart) -> JobRef | None:
        return self._find(job.config["cluster_id"], step_name(job.key))

    def _find(self, cluster: str, name: str) -> JobRef | None:
        marker: str | None = None
        with translated(f"EMR: look up the steps of cluster {cluster}"):
            for _ in range(LOOKUP_PAGES):
                page = self.client.list_steps(ClusterId=cluster, **({"Marker": marker} if marker else {}))
                for step in page.get("Steps", []):
                    if step.get("Name") == name:
                        return JobRef(self.kind, step["Id"], {"cluster_id": cluster})
                marker = page.get("Marker")
                if not marker:
                    break
        return None

    def describe(self, ref: JobRef) -> JobState:
        cluster = ref.details["cluster_id"]
        doing = f"EMR: describe step {ref.external_id} of cluster {cluster}"
        # InvalidRequestException: EMR's answer for a step or cluster id it does not know (any longer).
        with translated(doing, not_found=("InvalidRequestException",)):
            step = self.client.describe_step(ClusterId=cluster, StepId=ref.external_id).get("Step")
        if not step:
            raise JobNotFoundError(f"{doing} failed: the cluster has no such step")
        status = step.get("Status", {})
        state = status.get("State", "")
        if state == "COMPLETED":
            return JobState("SUCCEEDED", output={"step_id": ref.external_id, "cluster_id": cluster})
        if state in FAILED:
            return JobState("FAILED", error=failure(state, status))
        return JobState("RUNNING")

    def stop(self, ref: JobRef, reason: str) -> None:
        # EMR keeps no cancel reason; the caller records it on the attempt.
        cluster = ref.details["cluster_id"]
        doing = f"EMR: cancel step {ref.external_id} of cluster {cluster}"
        with translated(doing):
            infos = self.client.cancel_steps(ClusterId=cluster, StepIds=[ref.external_id],
                                             StepCancellationOption="SEND_INTERRUPT").get("CancelStepsInfoList", [])
        refused = [info for info in infos if info.get("Status") == "FAILED"]
        if refused and not self.describe(ref).ended:  # a step that already ended cannot be cancelled: not an error
            raise JobError(f"{doing} failed: {refused[0].get('Reason')}", retryable=False)


def failure(state: str, status: dict[str, Any]) -> str:
    """"FAILED: <state change reason>; <failure reason>: <message>; log: <file>", from what the step has."""
    details = status.get("FailureDetails") or {}
    return joined(joined(state, (status.get("StateChangeReason") or {}).get("Message")),
                  joined(details.get("Reason"), details.get("Message")),
                  f"log: {details['LogFile']}" if details.get("LogFile") else None, sep="; ")
