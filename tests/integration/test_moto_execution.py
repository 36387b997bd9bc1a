"""Compiled definitions execute under moto's Step Functions interpreter with a stand-in dispatcher."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from moto import mock_aws

from sluice.compile import compile_pipeline
from sluice.graph import Dag
from tests.support.pipelines import examples, fast_retries, pipeline_from_deps
from tests.support.standin import MOTO_CONFIG, StandIn, routed_to, run_definition
from tests.unit.test_exactness import dags

pytestmark = pytest.mark.moto
EXAMPLES = examples()


def _run(pipeline, standin, run_input=None):
    with mock_aws(config=MOTO_CONFIG), routed_to(standin):
        return run_definition(compile_pipeline(fast_retries(pipeline)).definition, standin, run_input)


@pytest.mark.parametrize("name", sorted(EXAMPLES))
def test_every_example_succeeds(name):
    # GIVEN an example pipeline and a dispatcher whose jobs all succeed
    standin = StandIn()
    # WHEN its compiled definition runs under moto
    result = _run(EXAMPLES[name], standin)
    # THEN the execution succeeds and every task ended SUCCEEDED or was skipped by design
    assert result["status"] == "SUCCEEDED", result
    statuses = {n: r.status for n, r in standin.ledger.tasks.items()}
    assert set(statuses) == set(EXAMPLES[name].tasks)
    assert set(statuses.values()) <= {"SUCCEEDED", "SKIPPED"}


def test_sales_etl_skips_when_condition_and_one_failed_notifier():
    standin = StandIn()
    result = _run(EXAMPLES["daily-sales-etl"], standin)
    assert result["status"] == "SUCCEEDED"
    assert standin.ledger.tasks["rebuild_dimensions"].status == "SKIPPED"  # when: params.full_refresh (false)
    assert standin.ledger.tasks["notify_failure"].status == "SKIPPED"  # one_failed, nothing failed
    # AND a run with full_refresh=true runs the dimension rebuild
    standin = StandIn()
    assert _run(EXAMPLES["daily-sales-etl"], standin, {"params": {"full_refresh": True}})["status"] == "SUCCEEDED"
    assert standin.ledger.tasks["rebuild_dimensions"].status == "SUCCEEDED"


def test_retries_recover_within_the_policy():
    # GIVEN load_warehouse (5 attempts) failing twice
    standin = StandIn(failures={"load_warehouse": 2})
    result = _run(EXAMPLES["daily-sales-etl"], standin)
    assert result["status"] == "SUCCEEDED"
    assert standin.ledger.tasks["load_warehouse"].attempts == 3
    assert [r.attempt for r in standin.requests if r.task == "load_warehouse" and r.action == "run"] == [0, 1, 2]


def test_failure_past_retries_fails_the_run_naming_the_task_and_runs_the_notifier():
    # GIVEN aggregate_sales failing every one of its 3 attempts
    standin = StandIn(failures={"aggregate_sales": 99})
    result = _run(EXAMPLES["daily-sales-etl"], standin)
    # THEN the run fails with Sluice.RunFailed naming the task, downstream is blocked, one_failed runs
    assert result["status"] == "FAILED"
    assert result["error"] == "Sluice.RunFailed"
    assert "task 'aggregate_sales' failed after 3 attempt(s)" in result["cause"]
    tasks = standin.ledger.tasks
    assert tasks["aggregate_sales"].status == "FAILED" and tasks["aggregate_sales"].attempts == 3
    assert tasks["load_warehouse"].status == "UPSTREAM_FAILED"
    assert tasks["notify_failure"].status == "SUCCEEDED"


def test_foreach_fans_out_over_the_list_param():
    standin = StandIn()
    result = _run(EXAMPLES["ml-training"], standin, {"params": {"regions": ["a", "b", "c"]}})
    assert result["status"] == "SUCCEEDED"
    items = sorted(r.item for r in standin.requests if r.task == "train" and r.action == "run")
    assert items == ["a", "b", "c"]
    assert standin.ledger.tasks["train"].items == {0: "SUCCEEDED", 1: "SUCCEEDED", 2: "SUCCEEDED"}


def test_foreach_over_max_items_fails_cleanly():
    standin = StandIn()
    result = _run(EXAMPLES["ml-training"], standin, {"params": {"regions": [str(i) for i in range(21)]}})
    assert result["status"] == "FAILED"
    assert "task 'train' failed" in result["cause"] and "Sluice.TooManyItems" in result["cause"]


def test_cleanup_runs_after_a_failure_in_a_non_series_parallel_dag():
    standin = StandIn(failures={"ingest_spend": 99})
    result = _run(EXAMPLES["marketing-attribution"], standin)
    assert result["status"] == "FAILED"
    tasks = standin.ledger.tasks
    assert tasks["funnel_report"].status == "SUCCEEDED"  # independent of the failure: still runs
    assert tasks["attribution"].status == "UPSTREAM_FAILED" and tasks["publish"].status == "UPSTREAM_FAILED"
    assert tasks["cleanup"].status == "SUCCEEDED"  # trigger_rule: all_done


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                 HealthCheck.function_scoped_fixture])
@given(deps=dags(max_tasks=8))
def test_random_dags_respect_every_dependency_under_moto(deps):
    # GIVEN a random DAG whose jobs end after random delays on other threads
    standin = StandIn(max_delay=0.02)
    result = _run(pipeline_from_deps(deps), standin)
    assert result["status"] == "SUCCEEDED", result
    # THEN no task started before each of its dependencies ended, and each ran once
    position = {event: i for i, event in enumerate(standin.events)}
    for task, ds in Dag(deps).preds.items():
        for d in ds:
            assert position[("end", d)] < position[("start", task)], (d, task)
    assert sorted(t for kind, t in standin.events if kind == "start") == sorted(deps)
