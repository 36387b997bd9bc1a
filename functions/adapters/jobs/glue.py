"""Glue job runs. StartJobRun takes no client token: a marker argument carries the key, and a start first looks
for a recent run of the job with that marker."""

from __future__ import annotations

from typing import Any

from ...events import usage
from .base import JobError, JobRef, JobStart, JobState
from .errors import start_once, translated

MARKER = "--sluice-attempt"  # job argument: the JobStart key of the run (Glue passes unknown arguments through)
LOOKUP_PAGES = 3  # pages of 200 runs, newest first: a retry comes within minutes of its start, not 600 runs later
FAILED = frozenset({"FAILED", "ERROR", "TIMEOUT", "STOPPED", "EXPIRED"})
LOG_GROUP = "/aws-glue/jobs/output"  # the driver's output; its stream is the run id
NOT_FOUND = ("EntityNotFoundException",)


class GlueAdapter:
    kind = "glue"

    def __init__(self, client: Any) -> None:
        self.client = client

    def start(self, job: JobStart) -> JobRef:
        name = job.config["job"]
        arguments = {**job.config.get("arguments", {}), MARKER: job.key}
        request: dict[str, Any] = {"JobName": name, "Arguments": arguments}
        if job.config.get("worker_type"):
            request["WorkerType"] = job.config["worker_type"]
        if job.config.get("workers"):
            request["NumberOfWorkers"] = job.config["workers"]

        def start() -> JobRef:
            with translated(f"Glue: start a run of job '{name}'"):
                run_id = self.client.start_job_run(**request)["JobRunId"]
            return self._ref(name, run_id)

        return start_once(lambda: self._find(name, job.key), start)

    def find(self, job: JobStart) -> JobRef | None:
        return self._find(job.config["job"], job.key)

    def _find(self, name: str, key: str) -> JobRef | None:
        token: str | None = None
        with translated(f"Glue: look up the runs of job '{name}'"):
            for _ in range(LOOKUP_PAGES):
                page = self.client.get_job_runs(JobName=name, MaxResults=200, **({"NextToken": token} if token else {}))
                for run in page.get("JobRuns", []):
                    if (run.get("Arguments") or {}).get(MARKER) == key:
                        return self._ref(name, run["Id"])
                token = page.get("NextToken")
                if not token:
                    break
        return None

    def _ref(self, name: str, run_id: str) -> JobRef:
        return JobRef(self.kind, run_id, {"job_name": name}, log_location=f"{LOG_GROUP}:{run_id}")

    def describe(self, ref: JobRef) -> JobState:
        name = ref.details["job_name"]
        doing = f"Glue: describe run {ref.external_id} of job '{name}'"
        with translated(doing, not_found=NOT_FOUND):
            run = self.client.get_job_run(JobName=name, RunId=ref.external_id, PredecessorsIncluded=False)["JobRun"]
        state = run.get("JobRunState", "")
        if state == "SUCCEEDED":
            return JobState("SUCCEEDED", output={"job_run_id": ref.external_id, "job_name": name},
                            usage=usage.glue(run))
        if state in FAILED:
            message = run.get("ErrorMessage")
            return JobState("FAILED", error=f"{state}: {message}" if message else state, usage=usage.glue(run))
        return JobState("RUNNING")

    def stop(self, ref: JobRef, reason: str) -> None:
        # Glue keeps no stop reason; the caller records it on the attempt.
        name = ref.details["job_name"]
        doing = f"Glue: stop run {ref.external_id} of job '{name}'"
        with translated(doing, not_found=NOT_FOUND):
            errors = self.client.batch_stop_job_run(JobName=name, JobRunIds=[ref.external_id]).get("Errors", [])
        if errors and not self.describe(ref).ended:  # a run that already ended cannot be stopped: not an error
            detail = errors[0].get("ErrorDetail", {})
            raise JobError(f"{doing} failed: {detail.get('ErrorCode')}: {detail.get('ErrorMessage')}", retryable=False)
