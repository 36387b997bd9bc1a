"""Small builders for the ASL states Sluice emits (JSONPath query language, which moto also runs)."""

from __future__ import annotations

from typing import Any

from ..contract import CONTRACT_VERSION, LAMBDA_ERRORS

DISPATCH_ARN = "${DispatchFunctionArn}"  # filled by CDK definition substitutions
TOKEN_RESOURCE = "arn:aws:states:::lambda:invoke.waitForTaskToken"  # nosec B105  # an ASL service integration ARN, not a secret
INVOKE_RESOURCE = "arn:aws:states:::lambda:invoke"

# Backoff for transient errors of the Lambda invoke itself; the dispatcher is idempotent, so this is safe.
LAMBDA_RETRY = {"ErrorEquals": LAMBDA_ERRORS, "IntervalSeconds": 2, "MaxAttempts": 6, "BackoffRate": 2,
                "MaxDelaySeconds": 60, "JitterStrategy": "FULL"}


def run_identity(pipeline: str) -> dict[str, Any]:
    """The payload fields every dispatcher call carries: who is calling, for which run."""
    return {"v": CONTRACT_VERSION, "pipeline": pipeline, "execution_id.$": "$$.Execution.Id",
            "run_id.$": "$$.Execution.Name"}


def run_context(pipeline: str) -> dict[str, Any]:
    """Identity plus what rendering a task's templates needs (recorders do without it: smaller definitions)."""
    return {**run_identity(pipeline), "started_at.$": "$$.Execution.StartTime", "params.$": "$.params",
            "logical_date.$": "$.logical_date", "event.$": "$.event", "resume_of.$": "$.resume_of"}


def dispatch(payload: dict[str, Any], *, token: bool, next_state: str | None, **extra: Any) -> dict[str, Any]:
    """A Task state calling the dispatcher; with `token` it waits until the task token is answered."""
    body = dict(payload)
    if token:
        body["task_token.$"] = "$$.Task.Token"
        body["attempt.$"] = "$$.State.RetryCount"
        body["entered_at.$"] = "$$.State.EnteredTime"  # dispatch latency: from entering the state to the job start
    state: dict[str, Any] = {
        "Type": "Task",
        "Resource": TOKEN_RESOURCE if token else INVOKE_RESOURCE,
        "Parameters": {"FunctionName": DISPATCH_ARN, "Payload": body},
    }
    state.update(extra)
    state.setdefault("ResultPath", None)
    state["Retry"] = [*state.get("Retry", []), LAMBDA_RETRY]
    return then(state, next_state)


def then(state: dict[str, Any], next_state: str | None) -> dict[str, Any]:
    """Set the transition: Next, or End when nothing follows."""
    if next_state is None:
        state["End"] = True
    else:
        state["Next"] = next_state
    return state


def catch_all(target: str) -> list[dict[str, Any]]:
    return [{"ErrorEquals": ["States.ALL"], "ResultPath": "$.error", "Next": target}]
