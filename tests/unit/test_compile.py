"""The compiler: golden definitions for the examples, ASL mapping of every spec feature, determinism, budgets."""

from __future__ import annotations

import json
import os

import pytest

from sluice.compile import BudgetError, compile_pipeline
from sluice.compile.budget import HISTORY_LIMIT
from sluice.contract import DispatchRequest
from sluice.simulate import simulate
from sluice.spec import Pipeline
from tests.support.pipelines import ROOT, examples, pipeline_from_deps

GOLDEN = ROOT / "tests" / "golden"
EXAMPLES = examples()


@pytest.mark.parametrize("name", sorted(EXAMPLES))
def test_examples_match_golden_definitions(name):
    # GIVEN an example WHEN compiled THEN it matches the reviewed definition (UPDATE_GOLDEN=1 rewrites them)
    text = compile_pipeline(EXAMPLES[name]).to_json()
    golden = GOLDEN / f"{name}.asl.json"
    if os.environ.get("UPDATE_GOLDEN"):
        golden.write_text(text)
    assert text == golden.read_text(), f"compiled {name} differs from {golden}; review and run UPDATE_GOLDEN=1"


def test_compilation_is_deterministic():
    # GIVEN each example loaded twice from its file WHEN compiled THEN the JSON is byte-identical
    again = examples()
    for name, pipeline in EXAMPLES.items():
        assert compile_pipeline(pipeline).to_json() == compile_pipeline(again[name]).to_json()


def _all_states(states):
    for name, state in states.items():
        yield name, state
        for branch in state.get("Branches", []):
            yield from _all_states(branch["States"])
        if "ItemProcessor" in state:
            yield from _all_states(state["ItemProcessor"]["States"])


def _find(definition, name):
    return dict(_all_states(definition["States"]))[name]


def test_every_dispatch_payload_is_a_valid_dispatch_request():
    # GIVEN the compiled examples, their static payloads filled with what the interpreter supplies
    runtime = {"execution_id": "arn:x", "run_id": "r", "started_at": "2026-01-01T00:00:00Z", "params": {},
               "logical_date": "2026-01-01T00:00:00Z", "event": None, "task_token": "t", "attempt": 0,
               "item": "i", "item_index": 0, "error": {"Error": "E", "Cause": "C"},
               "entered_at": "2026-01-01T00:00:01Z", "resume_of": None}
    for pipeline in EXAMPLES.values():
        for _, state in _all_states(compile_pipeline(pipeline).definition["States"]):
            if state["Type"] != "Task":
                continue
            payload = {k.removesuffix(".$"): (runtime[k[:-2]] if k.endswith(".$") else v)
                       for k, v in state["Parameters"]["Payload"].items()}
            DispatchRequest.model_validate(payload)  # THEN the Lambda side parses every one


def test_task_maps_retry_timeout_heartbeat_and_catch():
    p = EXAMPLES["ml-training"]
    state = _find(compile_pipeline(p).definition, "build_features")
    assert state["Resource"] == "arn:aws:states:::lambda:invoke.waitForTaskToken"
    assert state["Parameters"]["FunctionName"] == "${DispatchFunctionArn}"
    assert state["TimeoutSeconds"] == 4 * 3600 and state["HeartbeatSeconds"] == 30 * 60
    job_retry, lambda_retry = state["Retry"]
    assert job_retry == {"ErrorEquals": ["Sluice.TaskFailed", "Sluice.TaskLost", "States.Timeout",
                                         "States.HeartbeatTimeout"], "IntervalSeconds": 300, "MaxAttempts": 1,
                         "BackoffRate": 2.0, "JitterStrategy": "FULL"}
    assert "Lambda.TooManyRequestsException" in lambda_retry["ErrorEquals"]
    assert state["Catch"] == [{"ErrorEquals": ["States.ALL"], "ResultPath": "$.error",
                               "Next": "build_features.failed"}]
    assert state["Parameters"]["Payload"]["attempt.$"] == "$$.State.RetryCount"


def test_task_retry_overrides_merge_with_defaults():
    p = EXAMPLES["daily-sales-etl"]
    retry = _find(compile_pipeline(p).definition, "load_warehouse")["Retry"][0]
    assert retry["MaxAttempts"] == 4  # max_attempts 5 set on the task
    assert retry["IntervalSeconds"] == 120 and retry["MaxDelaySeconds"] == 900  # inherited from defaults


def test_no_job_retrier_when_one_attempt():
    state = _find(compile_pipeline(pipeline_from_deps({"a": []})).definition, "a")
    assert [r["ErrorEquals"][0] for r in state["Retry"]] == ["Lambda.ServiceException"]


def test_when_becomes_a_choice_with_a_recorded_skip():
    d = compile_pipeline(EXAMPLES["daily-sales-etl"]).definition
    choice = _find(d, "rebuild_dimensions.when")
    assert choice["Type"] == "Choice"
    assert choice["Choices"] == [{"Variable": "$.params.full_refresh", "BooleanEquals": True,
                                  "Next": "rebuild_dimensions"}]
    assert choice["Default"] == "rebuild_dimensions.skip"
    assert _find(d, "rebuild_dimensions.skip")["Parameters"]["Payload"]["action"] == "skip"


def test_foreach_becomes_prepare_map_finish():
    d = compile_pipeline(EXAMPLES["ml-training"]).definition
    prepare, fan_out = _find(d, "train.prepare"), _find(d, "train")
    assert prepare["Parameters"]["Payload"]["items"] == "{{ params.regions }}"
    assert prepare["Next"] == "train" and fan_out["Type"] == "Map" and fan_out["MaxConcurrency"] == 4
    assert fan_out["ItemsPath"] == "$.foreach.items" and fan_out["Next"] == "train.finish"
    assert fan_out["ItemSelector"]["item.$"] == "$$.Map.Item.Value"


def test_non_series_parallel_dag_gates_exactly_the_missing_edge():
    compiled = compile_pipeline(EXAMPLES["marketing-attribution"])
    assert compiled.structure.gated == {"attribution": ["ingest_sessions"]}
    payload = _find(compiled.definition, "attribution")["Parameters"]["Payload"]
    assert payload["wait_for"] == ["ingest_sessions"]
    assert payload["depends_on"] == ["ingest_sessions", "ingest_spend"]
    # A pipeline with gates leaves `gated` at its default (True): every end looks for parked requests.
    assert "gated" not in payload


def test_a_pipeline_without_gates_tells_the_dispatcher_so_in_every_payload():
    definition = compile_pipeline(EXAMPLES["daily-sales-etl"]).definition
    payloads = [state["Parameters"]["Payload"] for _, state in _all_states(definition["States"])
                if state.get("Type") == "Task"]
    assert payloads and all(payload["gated"] is False for payload in payloads)


def test_run_timeout_and_failure_epilogue():
    p = pipeline_from_deps({"a": []}, timeout="2h")
    d = compile_pipeline(p).definition
    assert d["TimeoutSeconds"] == 7200
    # the outcome Choice narrows its output to the outcome (cfn-lint refuses OutputPath on a Succeed state)
    assert d["States"]["Run outcome"]["OutputPath"] == "$.outcome"
    assert d["States"]["Run failed"] == {"Type": "Fail", "ErrorPath": "$.error", "CausePath": "$.cause"}
    assert d["States"]["Run succeeded"] == {"Type": "Succeed"}


def test_cost_in_state_transitions_per_task_is_documented_figure():
    # a chain of n tasks costs 6 fixed transitions (prologue, finalize, outcome, end) + 1 per task
    for n in (1, 5, 20):
        deps = {f"t{i}": ([f"t{i - 1}"] if i else []) for i in range(n)}
        assert simulate(compile_pipeline(pipeline_from_deps(deps)).definition).transitions == 6 + n


def test_budget_fails_over_the_history_limit_with_advice():
    # GIVEN a foreach whose worst case (items x attempts) exceeds 25,000 history events
    p = Pipeline.model_validate({"name": "huge", "params": {"xs": {"type": "list", "default": []}}, "tasks": {
        "t": {"foreach": {"items": "{{ params.xs }}", "max_items": 10_000}, "retry": {"max_attempts": 3},
              "lambda": {"function": "f"}}}})
    with pytest.raises(BudgetError, match=r"history events .* over the Step Functions quota of 25,000.*split"):
        compile_pipeline(p)
    compiled = compile_pipeline(p, check_budget=False)
    assert compiled.budget.history_events > HISTORY_LIMIT and compiled.warnings


def test_budget_warns_near_a_limit():
    p = Pipeline.model_validate({"name": "big", "params": {"xs": {"type": "list", "default": []}}, "tasks": {
        "t": {"foreach": {"items": "{{ params.xs }}", "max_items": 1_900}, "lambda": {"function": "f"}}}})
    compiled = compile_pipeline(p)
    assert any("near the quota" in w for w in compiled.warnings)


def test_compact_json_round_trips():
    compiled = compile_pipeline(EXAMPLES["daily-sales-etl"])
    assert json.loads(compiled.to_json(indent=None)) == compiled.definition
