"""`sluice run --local`: the compiled pipelines on moto's Step Functions with the real functions in-process, job
services in moto, and end events delivered by the event pump."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import pytest

from functions.events.jobs import parse_completion
from sluice.graph import Dag
from sluice.local.runner import LocalRunRequest, run_local
from sluice.local.scenario import Scenario
from sluice.spec import Pipeline, load_paths
from tests.support.pipelines import examples

pytestmark = pytest.mark.moto
TERMINAL = {"SUCCEEDED", "FAILED"}


def run(name: str, tmp_path: Path, *, pipelines: dict[str, Pipeline] | None = None, fail: dict[str, str] | None = None,
        delay: dict[str, float] | None = None, **request: Any) -> dict[str, Any]:
    found = pipelines or examples()
    scenario = Scenario.empty().with_flags(list((fail or {}).items()),
                                           [(task, str(seconds)) for task, seconds in (delay or {}).items()])
    return run_local(LocalRunRequest(found[name], found, scenario=scenario, work_dir=tmp_path, **request))


def tasks(result: dict[str, Any]) -> dict[str, tuple[str, int]]:
    return {task["name"]: (task["status"], task["attempts"]) for task in result["tasks"]}


def attempts_of(result: dict[str, Any], task: str) -> list[dict[str, Any]]:
    return [a for a in result["attempts"] if a["task"] == task]


@pytest.mark.parametrize("name", sorted(examples()))
def test_every_example_runs_to_success_with_every_attempt_ended(name: str, tmp_path: Path) -> None:
    # GIVEN an example pipeline WHEN it runs locally with every job succeeding
    result = run(name, tmp_path)
    # THEN the run succeeded, every task that ran has exactly one attempt, and every attempt has ended
    assert result["status"] == "SUCCEEDED", result["cause"]
    assert all(a["status"] == "SUCCEEDED" and a["external_id"] for a in result["attempts"])
    assert {t["status"] for t in result["tasks"]} <= {"SUCCEEDED", "SKIPPED"}
    # AND the run store holds the run record as the record function wrote it
    [run_item] = [item for item in result["record"] if item["sk"] == "RUN"]
    assert run_item["status"] == "SUCCEEDED" and run_item["pipeline"] == name
    # AND what the cloud would bill was counted
    assert result["billing"]["state_transitions"] > 0 and result["billing"]["dynamodb_write_units"] > 0
    assert result["cost"]["total_usd"] > 0
    # AND the cost the record function kept on the run (from the history and the records, as in the cloud)
    # counts what the local meter saw happen: transitions, invocations of Sluice's functions, run-store writes
    # (but those on parked requests, which it says it leaves out: whether a request parks depends on timing)
    recorded = {line["key"]: line["quantity"] for line in json.loads(run_item["cost"])["lines"]}
    billing = result["billing"]
    assert (recorded["state_transitions"], recorded["lambda_invocations"]) == (
        billing["state_transitions"], billing["lambda_invocations"])
    # The record prices the run when it sees the run's end; in about 1 run in 5 of marketing-attribution the meter
    # counts 3 write units more than the record (not parked requests: those are apart). Which write lands after
    # the record's reading is not found yet (stop 24's note): the bound says how far the two may differ today.
    unseen = billing["dynamodb_write_units"] - billing["dynamodb_wait_write_units"] - recorded["dynamodb_write_units"]
    assert 0 <= unseen <= 3, (recorded, billing)


def test_a_task_failing_past_its_retries_fails_the_run_names_it_and_runs_the_alerting_task(tmp_path: Path) -> None:
    # GIVEN load_warehouse (retry.max_attempts 5) fails every attempt
    result = run("daily-sales-etl", tmp_path, fail={"load_warehouse": ""})
    # THEN the run failed because of it, with every attempt recorded FAILED with the job's error
    assert result["status"] == "FAILED" and result["failed_tasks"] == ["load_warehouse"]
    assert "task 'load_warehouse' failed after 5 attempt(s)" in result["cause"]
    load = attempts_of(result, "load_warehouse")
    assert [a["retry"] for a in load] == [0, 1, 2, 3, 4] and {a["status"] for a in load} == {"FAILED"}
    assert all("scripted failure" in a["error"] and a["exit_code"] == 1 for a in load)
    # AND the one_failed notifier ran, the when-false task was skipped
    assert tasks(result)["notify_failure"] == ("SUCCEEDED", 1)
    assert tasks(result)["rebuild_dimensions"] == ("SKIPPED", 0)


def test_a_task_that_fails_twice_is_retried_by_its_policy_and_the_run_recovers(tmp_path: Path) -> None:
    # GIVEN aggregate_sales fails its first 2 attempts (default retry: 3 attempts)
    result = run("daily-sales-etl", tmp_path, fail={"aggregate_sales": "2"})
    # THEN the third attempt succeeds and so does the run; the notifier is skipped
    assert result["status"] == "SUCCEEDED", result["cause"]
    assert [a["status"] for a in attempts_of(result, "aggregate_sales")] == ["FAILED", "FAILED", "SUCCEEDED"]
    assert tasks(result)["notify_failure"] == ("SKIPPED", 0)


def test_when_runs_the_task_once_its_parameter_says_so(tmp_path: Path) -> None:
    # GIVEN full_refresh=true WHEN the run goes THEN rebuild_dimensions runs too
    result = run("daily-sales-etl", tmp_path, params={"full_refresh": True}, logical_date="2026-11-27T00:00:00Z")
    assert tasks(result)["rebuild_dimensions"] == ("SUCCEEDED", 1)
    assert result["logical_date"] == "2026-11-27T00:00:00Z" and result["params"] == {"full_refresh": True}


def test_foreach_fans_out_one_job_per_item_and_feeds_the_list_downstream(tmp_path: Path) -> None:
    # GIVEN ml-training with three regions, the second failing its first attempt
    result = run("ml-training", tmp_path, params={"regions": ["eu", "us", "ap"]})
    # THEN one ECS job ran per item, and the downstream tasks ran on their outputs
    assert result["status"] == "SUCCEEDED", result["cause"]
    assert sorted(a["item"] for a in attempts_of(result, "train")) == [0, 1, 2]
    assert {a["kind"] for a in attempts_of(result, "train")} == {"ecs"}
    assert tasks(result)["register_model"] == ("SUCCEEDED", 1)


def test_the_cleanup_task_runs_after_a_failure_and_the_dependents_do_not(tmp_path: Path) -> None:
    # GIVEN attribution fails every attempt in the non-series-parallel marketing DAG
    result = run("marketing-attribution", tmp_path, fail={"attribution": ""})
    # THEN publish never ran, cleanup (all_done) did, and the run failed naming attribution
    statuses = tasks(result)
    assert result["status"] == "FAILED" and result["failed_tasks"] == ["attribution"]
    assert statuses["publish"] == ("UPSTREAM_FAILED", 0) and statuses["cleanup"] == ("SUCCEEDED", 1)
    assert statuses["funnel_report"] == ("SUCCEEDED", 1)


def test_a_child_pipeline_task_runs_the_child_and_gets_its_output(tmp_path: Path) -> None:
    # GIVEN a parent whose middle task runs a child pipeline of two Glue jobs
    (tmp_path / "parent.yaml").write_text("""
name: parent
tasks:
  prepare: {lambda: {function: prep}}
  refresh: {depends_on: prepare, pipeline: {name: child, params: {day: "{{ ds }}"}}}
  report: {depends_on: refresh, lambda: {function: report, payload: {child: "{{ tasks.refresh.output }}"}}}
""")
    (tmp_path / "child.yaml").write_text("""
name: child
params: {day: {type: string}}
defaults: {retry: {max_attempts: 2, interval: 1s}}
tasks:
  load: {glue: {job: child-load, arguments: {day: "{{ params.day }}"}}}
  check: {depends_on: load, glue: {job: child-check}}
""")
    loaded = load_paths([tmp_path])
    assert not loaded.errors, loaded.errors
    result = run("parent", tmp_path / "runs", pipelines=loaded.pipelines, fail={"child.check": "1"})
    # THEN the child ran as its own execution (its check retried once), and the parent succeeded after it
    assert result["status"] == "SUCCEEDED", result["cause"]
    [child] = attempts_of(result, "refresh")
    assert child["kind"] == "pipeline" and ":execution:sluice-child:" in child["external_id"]
    assert tasks(result)["report"] == ("SUCCEEDED", 1)


def test_a_task_failing_in_the_child_fails_the_parent_task(tmp_path: Path) -> None:
    (tmp_path / "parent.yaml").write_text("name: parent\ntasks:\n  sub: {pipeline: {name: kid}}\n")
    (tmp_path / "kid.yaml").write_text("name: kid\ntasks:\n  x: {glue: {job: x}}\n")
    result = run("parent", tmp_path / "runs", pipelines=load_paths([tmp_path]).pipelines, fail={"kid.x": ""})
    assert result["status"] == "FAILED" and result["failed_tasks"] == ["sub"]
    assert "Sluice.RunFailed" in tasks_error(result, "sub")


def tasks_error(result: dict[str, Any], name: str) -> str:
    return next(str(t["error"]) for t in result["tasks"] if t["name"] == name)


def test_a_local_command_runs_and_its_exit_code_decides(tmp_path: Path) -> None:
    # GIVEN a task whose local command writes a file, and one whose command exits 3
    marker = tmp_path / "ran.txt"
    write = f"import os, pathlib; pathlib.Path({str(marker)!r}).write_text(os.environ['SLUICE_TASK'])"
    (tmp_path / "cmd.yaml").write_text(f"""
name: cmd
tasks:
  ok:
    glue: {{job: ok}}
    local: {{command: [{sys.executable!r}, -c, {json.dumps(write)}]}}
  bad:
    depends_on: ok
    retry: {{max_attempts: 2, interval: 1s}}
    ecs: {{cluster: c, task_definition: t, network: {{subnets: [subnet-1], security_groups: [sg-1]}}}}
    local: {{command: "{sys.executable} -c 'print(\\"boom\\"); raise SystemExit(3)'"}}
""")
    result = run("cmd", tmp_path / "runs", pipelines=load_paths([tmp_path]).pipelines)
    # THEN the first command ran with Sluice's environment, the second failed both attempts with its exit code
    assert marker.read_text() == "ok"
    assert result["status"] == "FAILED" and result["failed_tasks"] == ["bad"]
    bad = attempts_of(result, "bad")
    assert [a["exit_code"] for a in bad] == [3, 3] and "exited with code 3" in bad[0]["error"]
    # AND each attempt's output is kept in its own log
    logs = sorted((Path(result["logs"]) / "jobs").glob("bad.*.log"))
    assert len(logs) == 2 and logs[0].read_text().strip() == "boom"


def test_a_dag_that_is_not_series_parallel_finishes_in_its_critical_path_time(tmp_path: Path) -> None:
    # GIVEN durations where running level by level takes ~6 s (3 + 3) but the critical path is 3.3 s
    delay = {"ingest_sessions": 0.3, "ingest_spend": 3.0, "funnel_report": 3.0, "attribution": 0.3}
    result = run("marketing-attribution", tmp_path, delay=delay)
    assert result["status"] == "SUCCEEDED", result["cause"]
    pipeline = examples()["marketing-attribution"]
    critical, path = Dag.of(pipeline).critical_path({name: delay.get(name, 0.0) for name in pipeline.tasks})
    assert critical == pytest.approx(3.3) and path[:2] in (["ingest_spend", "attribution"],
                                                           ["ingest_sessions", "funnel_report"])
    # THEN every task started after its own dependencies ended ...
    started = {a["task"]: a["started_at"] for a in result["attempts"]}
    ended = {a["task"]: a["ended_at"] for a in result["attempts"]}
    for name, task in pipeline.tasks.items():
        for dependency in task.depends_on:
            assert ended[dependency] <= started[name], f"{name} started before {dependency} ended"
    # ... and no earlier: funnel_report did not wait for ingest_spend, which is in the level before it
    assert started["funnel_report"] < ended["ingest_spend"]
    # ... so the run is not level by level. (How long it took past its critical path is a benchmark's figure,
    # bench/local_run.py, not a timed assertion: shared machines are noisy.)
    assert result["duration_s"] >= critical


def test_a_run_over_its_timeout_is_stopped_and_says_why(tmp_path: Path) -> None:
    # (a timeout with room for the first job to start on a loaded machine: the suite runs on every core)
    result = run("daily-sales-etl", tmp_path, delay={"extract_orders": 120}, timeout=8.0)
    assert result["status"] == "ABORTED" and result["error"] == "Sluice.LocalStop"
    assert result["cause"] == "the local run took longer than --timeout 8 s"
    # AND the job still running was stopped and its attempt closed; nothing started after the stop
    assert [(a["task"], a["status"], a["error"]) for a in result["attempts"]] == [
        ("extract_orders", "STOPPED", "the run was stopped")]
    # AND the tasks say so: the stopped one STOPPED (as its attempt), the ones never started NOT_RUN, none PENDING
    statuses = {t["name"]: t["status"] for t in result["tasks"]}
    assert statuses.pop("extract_orders") == "STOPPED" and "NOT_RUN" in statuses.values()
    assert set(statuses.values()) <= {"NOT_RUN", "SKIPPED"}  # SKIPPED: decided before the stop (a false `when`)


def test_the_json_result_round_trips(tmp_path: Path) -> None:
    result = run("marketing-attribution", tmp_path)
    assert json.loads(json.dumps(result, default=str))["run_id"] == result["run_id"]


FIXTURES = Path(__file__).resolve().parents[1] / "events"
SAME_AS = {("aws.glue", "SUCCEEDED"): "glue_job_succeeded", ("aws.glue", "FAILED"): "glue_job_failed",
           ("aws.emr-serverless", "SUCCESS"): "emr_serverless_job_success",
           ("aws.emr-serverless", "FAILED"): "emr_serverless_job_failed",
           ("aws.ecs", "STOPPED"): "ecs_task_stopped_ok", ("aws.emr", "COMPLETED"): "emr_step_completed",
           (None, "Success"): "lambda_record_success", ("aws.states", "SUCCEEDED"): "sfn_execution_succeeded"}


def state_of(event: dict[str, Any]) -> str:
    detail = event.get("detail", event)  # Lambda's invocation record is its own detail
    return str(detail.get("state") or detail.get("lastStatus") or detail.get("status")
               or detail.get("requestContext", {}).get("condition"))


def test_the_pump_sends_events_shaped_like_the_documented_ones(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # GIVEN every event the pump sends is kept
    from sluice.local import pump

    sent: list[dict[str, Any]] = []
    original = pump.end_job

    def keep(*args: Any, **kwargs: Any) -> dict[str, Any]:
        sent.append(original(*args, **kwargs))
        return sent[-1]

    monkeypatch.setattr(pump, "end_job", keep)
    # WHEN runs use Glue, EMR, EMR Serverless, ECS and Lambda, some failing
    run("daily-sales-etl", tmp_path, fail={"extract_orders": "1", "aggregate_sales": "1"})
    run("ml-training", tmp_path)
    # THEN each event has the envelope of AWS's documented example for that source and state, and its detail
    # holds every field of the example that Sluice reads
    checked = set()
    for event in sent:
        name = SAME_AS.get((event.get("source"), state_of(event)))
        if name is None:
            continue
        example = json.loads((FIXTURES / f"{name}.json").read_text())
        assert set(event) == set(example) and event.get("detail-type") == example.get("detail-type"), name
        parse_completion(event)
        wanted = {"jobName", "jobRunId", "state", "message", "stepId", "clusterId", "applicationId", "taskArn",
                  "lastStatus", "containers", "stoppedReason", "requestContext", "responsePayload"}
        assert wanted & set(example.get("detail", example)) <= set(event.get("detail", event)), name
        checked.add(name)
    assert {"glue_job_succeeded", "glue_job_failed", "emr_serverless_job_success", "emr_serverless_job_failed",
            "ecs_task_stopped_ok", "emr_step_completed", "lambda_record_success"} <= checked


def test_an_empty_foreach_succeeds_with_an_empty_list_as_its_output(tmp_path: Path) -> None:
    # GIVEN ml-training over no regions WHEN it runs THEN train succeeds with no job and evaluate reads []
    result = run("ml-training", tmp_path, params={"regions": []})
    assert result["status"] == "SUCCEEDED", result["cause"]
    assert tasks(result)["train"] == ("SUCCEEDED", 0) and tasks(result)["evaluate"] == ("SUCCEEDED", 1)


def test_scripted_failures_count_per_item_even_when_items_render_the_same_job(tmp_path: Path) -> None:
    # GIVEN a foreach whose job does not mention the item, each item failing its first attempt
    (tmp_path / "fan.yaml").write_text("""
name: fan
tasks:
  each:
    foreach: {items: [1, 2, 3]}
    retry: {max_attempts: 2, interval: 1s}
    glue: {job: same-for-all}
""")
    result = run("fan", tmp_path / "runs", pipelines=load_paths([tmp_path]).pipelines, fail={"each": "1"})
    # THEN every item failed once and then succeeded
    assert result["status"] == "SUCCEEDED", result["cause"]
    by_item: dict[int, list[str]] = {}
    for a in sorted(attempts_of(result, "each"), key=lambda a: a["retry"]):
        by_item.setdefault(a["item"], []).append(a["status"])
    assert by_item == {0: ["FAILED", "SUCCEEDED"], 1: ["FAILED", "SUCCEEDED"], 2: ["FAILED", "SUCCEEDED"]}


def test_a_stopped_run_stops_its_child_runs_and_closes_every_attempt(tmp_path: Path) -> None:
    # GIVEN a parent whose child pipeline's task takes 120 s
    (tmp_path / "parent.yaml").write_text("name: parent\ntasks:\n  sub: {pipeline: {name: kid}}\n")
    (tmp_path / "kid.yaml").write_text(
        "name: kid\ndefaults: {retry: {max_attempts: 3, interval: 1s}}\ntasks:\n  slow: {glue: {job: slow}}\n")
    # WHEN the run is stopped after 8 s (room for the child to start on a loaded machine)
    result = run("parent", tmp_path / "runs", pipelines=load_paths([tmp_path]).pipelines, delay={"kid.slow": 120},
                 timeout=8.0)
    # THEN it ends before the child's job would have, every attempt is closed STOPPED
    assert result["status"] == "ABORTED" and result["duration_s"] < 120
    [sub] = attempts_of(result, "sub")
    assert sub["status"] == "STOPPED" and "stopped" in sub["error"]


def test_a_job_left_running_by_a_failed_run_is_stopped_as_the_sweeper_would(tmp_path: Path) -> None:
    # GIVEN ingest_spend fails at once while ingest_sessions' sibling funnel_report still runs for 3 s
    result = run("marketing-attribution", tmp_path, fail={"ingest_spend": ""}, delay={"funnel_report": 3})
    assert result["status"] == "FAILED" and result["failed_tasks"] == ["ingest_spend"]
    # THEN nothing is left open: funnel_report ended (its job ran out or was stopped), and every attempt ended
    assert all(a["status"] in {"SUCCEEDED", "FAILED", "STOPPED"} for a in result["attempts"])


def test_a_glue_runs_cost_is_one_total_that_says_what_it_includes(tmp_path: Path, capsys: pytest.CaptureFixture[str]
                                                                  ) -> None:
    import io

    from rich.console import Console

    from sluice.api_view import run_view
    from sluice.local.report import render_report
    from sluice.local.view import summary
    from sluice.spec import load_text

    # GIVEN a pipeline with one Glue task on 5 G.1X workers (5 DPU) WHEN it runs locally (a job of well under 60 s)
    pipeline, _ = load_text("name: priced\ntasks:\n  load: {glue: {job: load-sales, worker_type: G.1X, workers: 5}}\n")
    assert pipeline is not None
    result = run("priced", tmp_path, pipelines={"priced": pipeline})
    assert result["status"] == "SUCCEEDED", result["cause"]
    # THEN its Glue usage is the job's measured run time at Glue's 60 s minimum, not moto's fixed 123 s, and says so
    cost = result["cost"]
    glue = next(line for line in cost["lines"] if line["key"] == "glue_dpu_seconds")
    assert glue["quantity"] == 60 * 5 and glue["basis"].startswith("local run: the job's scripted or measured")
    # AND the result's total (summary, report) is the run record's (`show`) and RunCost's
    [run_item] = [item for item in result["record"] if item["sk"] == "RUN"]
    assert json.loads(run_item["cost"]) == cost
    assert result["metrics"]["RunCost"] == pytest.approx(cost["total_usd"])
    assert result["metrics"]["RunComputeCost"] == pytest.approx(cost["compute_usd"]) and cost["compute_usd"] > 0
    # AND each place that shows the total says what it includes
    includes = "includes Step Functions Standard state transitions, "
    assert cost["includes"][-1] == "Glue job DPU time"
    run_view({"id": result["run_id"], "pipeline": "priced", "status": "SUCCEEDED", "cost": cost}, local=True)
    shown = capsys.readouterr().out
    out = io.StringIO()
    summary(result, Console(file=out, width=400))
    report = render_report(result)
    total = f"${cost['total_usd']:.6f}"
    for text in (shown, out.getvalue(), report):
        assert total in text and includes in text and "Glue job DPU time" in text and "not counted: " in text
