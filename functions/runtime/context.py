"""What a task's templates are rendered with at dispatch, and what a finished task leaves as its output."""

from __future__ import annotations

from typing import Any

from sluice import template
from sluice.contract import DispatchRequest

from .records import Attempt


def render_context(req: DispatchRequest, outputs: dict[str, Any], now: str) -> dict[str, Any]:
    """The values `{{ ... }}` may name (docs/pipelines.md, Templates), for one request."""
    context: dict[str, Any] = {
        "run_id": req.run_id, "execution_id": req.execution_id, "pipeline": req.pipeline, "task": req.task,
        "attempt": req.attempt + 1, "params": req.params, "event": req.event,
        "tasks": {name: {"output": output} for name, output in outputs.items()},
        **template.context_values(req.logical_date or req.started_at or now),
    }
    if req.item_index is not None:
        context["item"] = req.item
    return context


# The ids a job leaves as its output, from what its attempt recorded (end events do not carry them all).
_IDS: dict[str, tuple[str, str | None, str | None]] = {  # kind: (external id as, detail key, detail as)
    "glue": ("job_run_id", "job_name", "job_name"),
    "emr": ("step_id", "cluster_id", "cluster_id"),
    "emr_serverless": ("job_run_id", "application_id", "application_id"),
    "ecs": ("task_arn", None, None),
}


def task_output(attempt: Attempt, job_output: Any, exit_code: int | None = None) -> Any:
    """A succeeded task's output (docs/runtime.md, Task outputs): a Lambda's result or a child run's output as
    they are; for the other kinds the job's ids, and for Glue also the arguments it ran with (without the
    leading '--'), so downstream tasks can read the paths it wrote."""
    if attempt.kind not in _IDS:
        return job_output
    id_name, detail, detail_name = _IDS[attempt.kind]
    output: dict[str, Any] = {id_name: attempt.external_id}
    if detail and detail_name and detail in attempt.details:
        output[detail_name] = attempt.details[detail]
    if attempt.kind == "ecs":
        output["exit_code"] = exit_code if exit_code is not None else 0
    if attempt.kind == "glue":
        output = {name.removeprefix("--"): value for name, value in attempt.config.get("arguments", {}).items()
                  if name != "--sluice-attempt"} | output
    return output | (job_output if isinstance(job_output, dict) else {})
