"""What crosses the state machine / Lambda boundary. The compiler writes these shapes; functions parse them.

Versioned: a change that an older dispatcher could misread bumps CONTRACT_VERSION.
"""

from __future__ import annotations

import hashlib
import re
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

if TYPE_CHECKING:
    from .spec import Pipeline

CONTRACT_VERSION: Literal[1] = 1

# Error names the compiled Retry/Catch match. The completion function fails task tokens with these.
TASK_FAILED = "Sluice.TaskFailed"  # the job ran and failed (non-zero exit, FAILED state); retried
TASK_LOST = "Sluice.TaskLost"  # the service lost track of the job (found by the sweeper); retried
DISPATCH_FAILED = "Sluice.DispatchFailed"  # the job could not be started (bad config, access); not retried
TOO_MANY_ITEMS = "Sluice.TooManyItems"  # a foreach list is longer than foreach.max_items; not retried
REDRIVE_REFUSED = "Sluice.RedriveUnsupported"  # a redriven state attempt (docs/runtime.md, "Redrive"); not retried
RUN_FAILED = "Sluice.RunFailed"  # the execution's error when any task failed; cause names the tasks
STATE_TIMEOUT, HEARTBEAT_TIMEOUT = "States.Timeout", "States.HeartbeatTimeout"


def timeout_cause(error: str, timeout: int | None, heartbeat: int | None) -> str | None:
    """What ran out, for a States.Timeout or States.HeartbeatTimeout Step Functions raises without a cause (None
    for other errors or an unknown limit): "task timeout of 3600 s (timeout: 1h) ran out"."""
    if error == STATE_TIMEOUT and timeout:
        return f"task timeout of {timeout} s (timeout: {duration_text(timeout)}) ran out"
    if error == HEARTBEAT_TIMEOUT and heartbeat:
        return f"no heartbeat within the heartbeat timeout of {heartbeat} s (heartbeat: {duration_text(heartbeat)})"
    return None


def duration_text(seconds: int) -> str:
    """Seconds as a pipeline file writes a duration: 3600 -> "1h", 5430 -> "1h30m30s"."""
    parts, rest = [], int(seconds)
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60), ("s", 1)):
        if rest >= size:
            parts.append(f"{rest // size}{unit}")
            rest %= size
    return "".join(parts) or "0s"


RETRYABLE_ERRORS = [TASK_FAILED, TASK_LOST, STATE_TIMEOUT, HEARTBEAT_TIMEOUT]
# Transient errors of the Lambda invoke itself (not of the job); retried on every Lambda-backed state.
# Lambda.Unknown is how Step Functions reports a dispatcher that died (timed out, ran out of memory, crashed) and
# Lambda.ClientExecutionTimeoutException one whose invoke timed out: retried, the retry adopts its claim.
LAMBDA_ERRORS = ["Lambda.ServiceException", "Lambda.AWSLambdaException", "Lambda.SdkClientException",
                 "Lambda.TooManyRequestsException", "Lambda.ClientExecutionTimeoutException", "Lambda.Unknown"]

Action = Literal["run", "prepare", "skip", "fail", "finish", "finalize"]
TaskStatus = Literal["SUCCEEDED", "FAILED", "SKIPPED", "UPSTREAM_FAILED"]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class RunInput(_Model):
    """Execution input. Every entry point (schedule, trigger, API, parent run) sends this shape."""

    params: dict[str, Any] = Field(default_factory=dict, description="given values; defaults fill the rest")
    logical_date: str | None = Field(None, description="ISO 8601; the execution start time when absent")
    event: dict[str, Any] | None = Field(None, description="the EventBridge event that triggered the run")
    trigger: dict[str, Any] = Field(default_factory=lambda: {"type": "manual"},
                                    description="who or what started the run (schedule, event, api, parent)")
    resume_of: str | None = Field(None, description="the execution ARN of an earlier run of the same pipeline: "
                                  "every task (or foreach item) that succeeded there is not run again, its recorded "
                                  "output taken over")


class DispatchRequest(_Model):
    """The dispatcher function's payload, one per Lambda-backed state.

    Actions:
    - run (task token): wait until every task in `wait_for` has ended (the gate for dependencies the state
      machine's shape does not enforce), apply `trigger_rule` to the recorded outcomes of `depends_on`, then
      start the job (or record SKIPPED / UPSTREAM_FAILED and answer the token at once). The token is answered
      when the job ends: success with the job's output, or failure with one of the error names above.
    - prepare (task token): the same gate and rule for a foreach task, then answer {"items": [...]}, the
      rendered list (empty when the task is skipped).
    - skip (task token): record the task SKIPPED because its `when` condition is false, once every task in
      `wait_for` has ended (a skipped task must not end before its own dependencies).
    - fail: record the task FAILED with `error` (the Catch's {Error, Cause}) after its last attempt.
    - finish: record a foreach task's outcome from its items.
    - finalize: return the run's outcome {status, error, cause} from the recorded tasks.

    `attempt` is `$$.State.RetryCount`, which counts retries by every retrier of the state, including those
    for Lambda invoke errors: an earlier attempt whose job start was never recorded is to be found and
    reattached to, never started again.
    """

    v: Literal[1] = CONTRACT_VERSION
    action: Action
    pipeline: str
    execution_id: str
    run_id: str
    started_at: str | None = Field(None, description="execution start time; sent where templates are rendered")
    task: str | None = None
    attempt: int = 0
    task_token: str | None = None
    entered_at: str | None = Field(None, description="when the Task state was entered ($$.State.EnteredTime)")
    params: dict[str, Any] = Field(default_factory=dict)
    logical_date: str | None = None
    event: dict[str, Any] | None = None
    resume_of: str | None = Field(None, description="RunInput.resume_of: take over what succeeded in that run")
    kind: str | None = None
    config: dict[str, Any] | None = Field(None, description="the task's job block, templates not yet rendered")
    timeout: int | None = Field(None, description="the Task state's TimeoutSeconds (per attempt)")
    heartbeat: int | None = Field(None, description="the Task state's HeartbeatSeconds, if any")
    depends_on: list[str] = Field(default_factory=list, description="declared dependencies, for trigger_rule")
    trigger_rule: Literal["all_success", "all_done", "one_failed"] = "all_success"
    wait_for: list[str] = Field(default_factory=list, description="dependencies gated at dispatch")
    gated: bool = Field(True, description="the pipeline has dependencies gated at dispatch, so requests may be "
                        "parked and every end must look for them to release; False saves that look-up")
    items: Any = None
    max_items: int | None = None
    item: Any = None
    item_index: int | None = None
    error: dict[str, Any] | None = None


class RunOutcome(_Model):
    """What `finalize` returns; the state machine fails with `error` and `cause` when status is FAILED."""

    status: Literal["SUCCEEDED", "FAILED"]
    error: str | None = None
    cause: str | None = None


def decide(trigger_rule: str, upstream: list[str | None]) -> TaskStatus | None:
    """Whether a task runs given its upstream outcomes: None = run it, else the status to record instead.

    Used by the dispatcher (with outcomes from the run store) and by local simulation alike.
    """
    failed = any(s in {"FAILED", "UPSTREAM_FAILED"} for s in upstream)
    if trigger_rule == "all_done":
        return None
    if trigger_rule == "one_failed":
        return None if failed else "SKIPPED"
    # A skipped upstream task (its `when` was false) counts as done with nothing to wait for.
    return "UPSTREAM_FAILED" if failed else None


_COMMENT = re.compile(r"^Sluice pipeline '(?P<pipeline>[a-z0-9-]+)' config (?P<config>[0-9a-f]{16}) ")


def config_hash(pipeline: Pipeline) -> str:
    """The pipeline's version: a hash of its validated definition (defaults filled, so equivalent files agree).
    Tasks' `local` blocks are left out: they never reach the cloud, so they do not make a new version."""
    deployed: dict[str, Any] = {"tasks": {name: {"local"} for name in pipeline.tasks}}
    if not pipeline.secrets:  # added after the first versions: a pipeline without secrets keeps its version
        deployed["secrets"] = True
    return hashlib.sha256(pipeline.model_dump_json(by_alias=True, exclude=deployed).encode()).hexdigest()[:16]


def definition_comment(pipeline: str, config: str) -> str:
    """The state machine's Comment; the record function reads the pipeline and its version back from it."""
    return f"Sluice pipeline '{pipeline}' config {config} (generated by sluice compile; edit the YAML, not this)"


def read_definition_comment(comment: str) -> tuple[str, str] | None:
    """(pipeline, config hash) from a definition's Comment, None when it is not a Sluice definition."""
    found = _COMMENT.match(comment or "")
    return (found["pipeline"], found["config"]) if found else None
