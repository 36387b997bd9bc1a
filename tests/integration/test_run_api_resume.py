"""Resuming a run stopped outside the API (the console, StopExecution) while its jobs still run.

Requests go through the real Lambda handler (tests/support/api.py) on moto, as in test_run_api.py.
"""

from __future__ import annotations

import contextlib
import time

import pytest

from functions.adapters.tokens import TokenGoneError
from tests.support.api import Cloud

pytestmark = pytest.mark.moto


def _console_stop(cloud: Cloud, arn: str) -> None:
    """StopExecution as the console does it. Step Functions ends the execution at once and nobody tells the
    dispatcher: its attempts stay RUNNING, their jobs run on. moto's interpreter instead waits on the task's token:
    answering it (not through the dispatcher) ends the execution with the attempt records untouched, the same."""
    with contextlib.suppress(Exception):
        cloud.sfn.stop_execution(executionArn=arn, error="Stopped", cause="from the console")
    for attempt in cloud.rt.store.load(arn).attempts:
        with contextlib.suppress(TokenGoneError):
            cloud.rt.tokens.fail(attempt.token, "States.Aborted", "stopped from the console")
    _ended(cloud, arn)


def _ended(cloud: Cloud, arn: str) -> None:
    deadline = time.monotonic() + 20
    while cloud.sfn.describe_execution(executionArn=arn)["status"] == "RUNNING":
        assert time.monotonic() < deadline, "moto never ended the execution"
        time.sleep(0.05)


def _explain(cloud: Cloud, arn: str) -> str:
    """What a failing assertion needs to say: the run's attempts, the jobs and the execution's failure events."""
    attempts = [(a.task, a.retry, a.status, a.external_id, a.error) for a in cloud.rt.store.load(arn).attempts]
    jobs = [(ext, job.task, job.key, cloud.jobs.states[ext].status) for ext, job in cloud.jobs.jobs.items()]
    history = cloud.sfn.get_execution_history(executionArn=arn)["events"]
    failures = [(e["type"], next((v for k, v in e.items() if k.endswith("EventDetails")), None)) for e in history
                if "Fail" in e["type"] or "Abort" in e["type"] or "Retry" in e["type"]]
    return f"attempts {attempts}\njobs {jobs}\nfailure events {failures}"


def _running_jobs(cloud: Cloud) -> dict[str, int]:
    counts: dict[str, int] = {}
    for external, state in cloud.jobs.states.items():
        if state.status == "RUNNING":
            counts[cloud.jobs.jobs[external].task] = counts.get(cloud.jobs.jobs[external].task, 0) + 1
    return counts


def test_resuming_a_run_stopped_from_the_console_stops_its_running_jobs_first(cloud: Cloud) -> None:
    # GIVEN a run whose first job is running, stopped from the console (the sweeper would stop the job in 15 min)
    started = cloud.call("POST", "/pipelines/ml-training/runs", {})[1]
    arn = started["execution_arn"]
    deadline = time.monotonic() + 30
    while not any(a.status == "RUNNING" for a in cloud.rt.store.load(arn).attempts):
        assert time.monotonic() < deadline, "no job started"
        time.sleep(0.02)
    _console_stop(cloud, arn)
    running = [a for a in cloud.rt.store.load(arn).attempts if not a.ended]
    assert running and _running_jobs(cloud) == {running[0].task: 1}, _explain(cloud, arn)
    # WHEN it is resumed
    status, resumed = cloud.call("POST", f"/runs/{started['id']}/resume", {"reason": "go on"})
    # THEN the original's unfinished attempts are STOPPED and their jobs stopped before the new run starts
    assert status == 201, resumed
    assert {a.status for a in cloud.rt.store.load(arn).attempts} == {"STOPPED"}
    assert cloud.jobs.stopped
    # AND once the resumed run's job runs, each task has one job running, never two
    deadline = time.monotonic() + 30
    while not any(a.status == "RUNNING" for a in cloud.rt.store.load(resumed["execution_arn"]).attempts):
        assert time.monotonic() < deadline, "the resumed run started no job"
        time.sleep(0.02)
    assert set(_running_jobs(cloud).values()) == {1}
