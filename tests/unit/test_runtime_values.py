"""Values the runtime hands to AWS and to downstream templates: job arguments as strings, foreach outputs as lists,
and a request botocore refuses before sending never retried."""

from __future__ import annotations

from botocore.exceptions import ParamValidationError

from functions.adapters.jobs.errors import job_error
from functions.runtime.records import Attempt, build_view
from sluice import template

RUN = "arn:aws:states:eu-west-1:123456789012:execution:sluice-demo:run-1"


def test_text_rendering_turns_whole_references_into_strings_for_the_job_apis() -> None:
    # GIVEN an ECS environment and args that are one whole reference each, to a bool and an int
    config = {"environment": {"FULL_REFRESH": "{{ params.full_refresh }}"}, "args": ["{{ params.days }}", "x"]}
    context = {"params": {"full_refresh": False, "days": 30}}
    # WHEN rendered for a job API THEN every value is a string, JSON-formatted
    assert template.render(config, context, text=True) == {"environment": {"FULL_REFRESH": "false"},
                                                           "args": ["30", "x"]}
    # AND typed rendering (Lambda payloads, child params) keeps the types
    assert template.render(config, context)["args"][0] == 30


def test_a_request_botocore_refuses_before_sending_is_not_retried() -> None:
    # GIVEN botocore refused a parameter of the wrong type
    refused = ParamValidationError(report="Invalid type for parameter environment[0].value")
    # WHEN it is translated THEN the error says so and is not retryable (the same request fails again)
    error = job_error(refused, "ECS: run task loader")
    assert not error.retryable and "Invalid type for parameter" in str(error)


def attempt(task: str, item: int | None, retry: int, status: str, output: object) -> Attempt:
    return Attempt(run=RUN, task=task, item_index=item, retry=retry, key=f"{task}{item}{retry}", kind="ecs",
                   token="t", status=status, output=output)


def test_a_succeeded_foreach_tasks_output_is_its_items_outputs_in_item_order() -> None:
    # GIVEN a foreach task whose item 1 succeeded on its second attempt, and item 0 on its first
    attempts = [attempt("train", 1, 0, "FAILED", None), attempt("train", 1, 1, "SUCCEEDED", {"model": "b"}),
                attempt("train", 0, 0, "SUCCEEDED", {"model": "a"})]
    # WHEN the run is read with the task recorded SUCCEEDED
    view = build_view(RUN, [{"task": "train", "status": "SUCCEEDED"}], attempts, [])
    # THEN downstream templates see the list of item outputs, item 0 first
    assert view.outputs["train"] == [{"model": "a"}, {"model": "b"}]


def test_a_failed_foreach_task_has_no_output() -> None:
    # GIVEN one item failed and the task is recorded FAILED
    attempts = [attempt("train", 0, 0, "SUCCEEDED", {"model": "a"}), attempt("train", 1, 0, "FAILED", None)]
    view = build_view(RUN, [{"task": "train", "status": "FAILED"}], attempts,
                      [{"task": "train", "item_index": 1}])
    # THEN nothing downstream can read a partial list
    assert "train" not in view.outputs
