"""Compiled pipelines executed by moto's Step Functions with the real dispatch handler, run store and sweeper.

Jobs run in a fake job service here (the adapters have their own tests against moto's Glue, EMR, ECS...);
the sweeper is the only way job ends come back, which also proves a run completes with every event lost.
"""

from __future__ import annotations

import json
import time
from typing import Any

import pytest

from functions.adapters.jobs.base import JobState
from sluice.compile import compile_pipeline
from tests.support.pipelines import examples, fast_retries
from tests.support.runtime import FakeJobs, client, moto_runtime, routed_to_handlers

pytestmark = pytest.mark.moto
KINDS = ("glue", "emr", "emr_serverless", "ecs", "lambda", "pipeline")


@pytest.fixture
def rt() -> Any:
    with moto_runtime(fake_tokens=False) as runtime:
        fake = runtime.jobs["fake"]
        runtime.jobs.update({kind: fake for kind in KINDS})
        runtime.sweeper.after_seconds = 0
        yield runtime


def execute(rt: Any, name: str, *, fail: dict[str, int] | None = None, run_input: dict[str, Any] | None = None,
            timeout: float = 60.0, run_name: str = "run-1") -> dict[str, Any]:
    """Run the example pipeline `name` to its end; tasks in `fail` fail that many attempts first."""
    fail = dict(fail or {})
    definition = compile_pipeline(fast_retries(examples()[name])).definition
    role = client("iam").create_role(RoleName=f"r{time.monotonic_ns()}", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
    try:
        fn = client("lambda").create_function(FunctionName="sluice-dispatch", Runtime="python3.12", Role=role,
                                              Handler="functions.dispatch.handler.handler",
                                              Code={"ZipFile": b"asset"})["FunctionArn"]
    except client("lambda").exceptions.ResourceConflictException:  # a second run in the same test
        fn = client("lambda").get_function(FunctionName="sluice-dispatch")["Configuration"]["FunctionArn"]
    sfn = client("stepfunctions")
    machine = sfn.create_state_machine(name=f"sluice-{name}", roleArn=role,
                                       definition=json.dumps(definition).replace("${DispatchFunctionArn}", fn))
    jobs: FakeJobs = rt.jobs["fake"]
    with routed_to_handlers(rt):
        arn = sfn.start_execution(stateMachineArn=machine["stateMachineArn"], name=run_name,
                                  input=json.dumps(run_input or {}))["executionArn"]
        deadline = time.monotonic() + timeout
        while (described := sfn.describe_execution(executionArn=arn))["status"] == "RUNNING":
            assert time.monotonic() < deadline, "execution still RUNNING"
            for external, state in list(jobs.states.items()):
                if state.status == "RUNNING":  # every job ends at once, failing if scripted to
                    task = jobs.jobs[external].task
                    failing = fail.get(task, 0) > 0
                    fail[task] = fail.get(task, 0) - 1
                    jobs.states[external] = JobState("FAILED", error="exit code 1", exit_code=1) if failing \
                        else JobState("SUCCEEDED")
            rt.sweeper.sweep()
            time.sleep(0.02)
    return described | {"view": rt.store.load(arn)}


def statuses(result: dict[str, Any]) -> dict[str, str]:
    return {name: record.status for name, record in result["view"].ledger.tasks.items()}


def test_sales_etl_runs_to_success_with_outputs_feeding_templates(rt: Any) -> None:
    result = execute(rt, "daily-sales-etl")
    assert result["status"] == "SUCCEEDED"
    assert statuses(result) == {"extract_orders": "SUCCEEDED", "rebuild_dimensions": "SKIPPED",
                                "aggregate_sales": "SUCCEEDED", "load_warehouse": "SUCCEEDED",
                                "notify_failure": "SKIPPED"}
    # extract_orders' Glue argument 'output' is its output, rendered into aggregate_sales' arguments
    aggregate = next(job for job in rt.jobs["fake"].jobs.values() if job.task == "aggregate_sales")
    ds = json.loads(result["input"]).get("logical_date") or result["startDate"].date().isoformat()
    assert aggregate.config["args"][3] == f"s3://acme-lake/clean/orders/dt={ds[:10]}/"
    assert all(a.status == "SUCCEEDED" for a in result["view"].attempts)


def test_a_task_that_fails_past_its_retries_fails_the_run_and_runs_the_notifier(rt: Any) -> None:
    result = execute(rt, "daily-sales-etl", fail={"load_warehouse": 99})
    assert result["status"] == "FAILED"
    assert statuses(result)["load_warehouse"] == "FAILED" and statuses(result)["notify_failure"] == "SUCCEEDED"
    load = result["view"].attempts_of("load_warehouse", None)
    assert [a.status for a in load] == ["FAILED"] * 5  # retry.max_attempts: 5
    assert "task 'load_warehouse' failed after 5 attempt(s)" in result["cause"]


def test_retries_recover_and_the_run_succeeds(rt: Any) -> None:
    result = execute(rt, "daily-sales-etl", fail={"extract_orders": 2})
    assert result["status"] == "SUCCEEDED", result.get("cause")
    assert [a.status for a in result["view"].attempts_of("extract_orders", None)] == ["FAILED", "FAILED", "SUCCEEDED"]


def test_a_dag_with_gated_dependencies_runs_every_task_after_its_dependencies(rt: Any) -> None:
    result = execute(rt, "marketing-attribution")
    assert result["status"] == "SUCCEEDED"
    pipeline = examples()["marketing-attribution"]
    started = {a.task: a.started_at for a in result["view"].attempts}
    ended = {a.task: a.ended_at for a in result["view"].attempts}
    for name, task in pipeline.tasks.items():
        for dependency in task.depends_on:
            assert ended[dependency] <= started[name], f"{name} started before {dependency} ended"


def _jobs_of(rt: Any, task: str) -> int:
    return sum(1 for job in rt.jobs["fake"].jobs.values() if job.task == task)


@pytest.mark.parametrize(("name", "failing"), [("daily-sales-etl", "load_warehouse"),
                                               ("marketing-attribution", "attribution")])
def test_a_resumed_run_skips_exactly_what_succeeded_and_reruns_the_rest(rt: Any, name: str, failing: str) -> None:
    # GIVEN a run that failed because one task failed past its retries
    first = execute(rt, name, fail={failing: 99})
    assert first["status"] == "FAILED"
    succeeded = {t for t, status in statuses(first).items() if status == "SUCCEEDED"}
    jobs_before = {task: _jobs_of(rt, task) for task in examples()[name].tasks}
    # WHEN it is resumed (a new run of the same pipeline naming the first) and the task now succeeds
    second = execute(rt, name, run_name="run-2", run_input={**json.loads(first["input"]),
                                                            "resume_of": first["executionArn"]})
    # THEN the new run succeeded; every task that succeeded before was taken over, with no new job ...
    assert second["status"] == "SUCCEEDED", second.get("cause")
    for task in succeeded - {"notify_failure"}:
        [attempt] = second["view"].attempts_of(task, None)
        assert attempt.resumed_from is not None and attempt.resumed_from["run"] == first["executionArn"]
        assert attempt.external_id is None and _jobs_of(rt, task) == jobs_before[task], task
    # ... the failed task ran again as a new job, its templates fed by the outputs taken over
    [rerun] = second["view"].attempts_of(failing, None)
    assert rerun.resumed_from is None and rerun.external_id and _jobs_of(rt, failing) == jobs_before[failing] + 1
    assert rerun.config == first["view"].attempts_of(failing, None)[0].config
    # AND the original run's records are untouched
    assert statuses({"view": rt.store.load(first["executionArn"])}) == statuses(first)
