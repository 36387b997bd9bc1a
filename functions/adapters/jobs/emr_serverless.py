"""Spark job runs on an EMR Serverless application.

StartJobRun deduplicates by clientToken (the key). The run's name ends with the key as well, and a start first
looks for a recent run of that name: the token's memory is not documented, and moto ignores the token.
"""

from __future__ import annotations

from typing import Any

from ...events import usage
from ...runtime.text import joined
from .base import JobError, JobNotFoundError, JobRef, JobStart, JobState
from .errors import start_once, translated

LOOKUP_PAGES = 3  # ListJobRuns pages of 50, newest first
FAILED = frozenset({"FAILED", "CANCELLED"})
NOT_FOUND = ("ResourceNotFoundException",)


def run_name(job: JobStart) -> str:
    """"sluice-<pipeline>-<task>-<key>", the readable part cut to fit the 256 characters a name may have."""
    return f"sluice-{job.pipeline}-{job.task}"[: 255 - len(job.key)] + f"-{job.key}"


class EmrServerlessAdapter:
    kind = "emr_serverless"

    def __init__(self, client: Any) -> None:
        self.client = client

    def start(self, job: JobStart) -> JobRef:
        app, name = job.config["application_id"], run_name(job)
        spark: dict[str, Any] = {"entryPoint": job.config["entry_point"],
                                 "entryPointArguments": list(job.config.get("args", []))}
        if job.config.get("spark_params"):
            spark["sparkSubmitParameters"] = job.config["spark_params"]
        request: dict[str, Any] = {"applicationId": app, "clientToken": job.key, "name": name,
                                   "executionRoleArn": job.config["execution_role_arn"],
                                   "jobDriver": {"sparkSubmit": spark}}
        if job.tags:
            request["tags"] = dict(job.tags)

        def start() -> JobRef:
            with translated(f"EMR Serverless: start job run {name} on application {app}"):
                run_id = self.client.start_job_run(**request)["jobRunId"]
            return JobRef(self.kind, run_id, {"application_id": app})

        return start_once(lambda: self._find(app, name), start)

    def find(self, job: JobStart) -> JobRef | None:
        return self._find(job.config["application_id"], run_name(job))

    def _find(self, app: str, name: str) -> JobRef | None:
        token: str | None = None
        try:
            with translated(f"EMR Serverless: look up the job runs of application {app}", not_found=NOT_FOUND):
                for _ in range(LOOKUP_PAGES):
                    page = self.client.list_job_runs(applicationId=app, maxResults=50,
                                                     **({"nextToken": token} if token else {}))
                    for run in page.get("jobRuns", []):
                        if run.get("name") == name:
                            return JobRef(self.kind, run["id"], {"application_id": app})
                    token = page.get("nextToken")
                    if not token:
                        break
        except JobNotFoundError:
            # An unknown application (or, in moto, one without runs yet): StartJobRun gives the real answer.
            pass
        return None

    def describe(self, ref: JobRef) -> JobState:
        app = ref.details["application_id"]
        with translated(f"EMR Serverless: describe job run {ref.external_id} of application {app}",
                        not_found=NOT_FOUND):
            run = self.client.get_job_run(applicationId=app, jobRunId=ref.external_id)["jobRun"]
        state = run.get("state", "")
        if state == "SUCCESS":
            return JobState("SUCCEEDED", output={"job_run_id": ref.external_id, "application_id": app},
                            usage=usage.emr_serverless(run))
        if state in FAILED:
            return JobState("FAILED", error=joined(state, run.get("stateDetails")), usage=usage.emr_serverless(run))
        return JobState("RUNNING")

    def stop(self, ref: JobRef, reason: str) -> None:
        # EMR Serverless keeps no cancel reason; the caller records it on the attempt.
        app = ref.details["application_id"]
        doing = f"EMR Serverless: cancel job run {ref.external_id} of application {app}"
        try:
            with translated(doing, not_found=NOT_FOUND):
                self.client.cancel_job_run(applicationId=app, jobRunId=ref.external_id)
        except JobError as exc:
            # Cancelling a run that already ended is refused (ValidationException): not an error here.
            if exc.retryable or isinstance(exc, JobNotFoundError) or not self.describe(ref).ended:
                raise
