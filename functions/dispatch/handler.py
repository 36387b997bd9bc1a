"""Lambda entry point of the dispatcher, invoked by every Lambda-backed state of a Sluice state machine."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import ValidationError

from sluice.contract import DispatchRequest

from ..observability import logger, metrics, redacted, tracer
from ..runtime.wiring import runtime

# What a rejected request is logged with: which run and task it is for, never what it carries (params, the job's
# config, foreach items, the trigger event).
IDENTITY = ("v", "action", "pipeline", "execution_id", "run_id", "task", "attempt")


@logger.inject_lambda_context(correlation_id_path="run_id", clear_state=True)
@tracer.capture_lambda_handler(capture_response=False, capture_error=False)
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    try:
        request = DispatchRequest.model_validate(event)
    except ValidationError as exc:
        # Raised on purpose: the state fails with the validation error, visibly, and nothing is recorded.
        logger.error("rejected event", reason=_problems(exc), event=_identity(event))
        raise
    logger.append_keys(pipeline=request.pipeline, task=request.task, action=request.action, attempt=request.attempt)
    metrics.add_metric(name="DispatchRequests", unit=MetricUnit.Count, value=1)
    return runtime().dispatcher.handle(request)


def _problems(exc: ValidationError) -> str:
    """Which fields are wrong (at most five), without their values."""
    errors = exc.errors(include_url=False, include_input=False)
    shown = "; ".join(f"{'.'.join(str(p)[:64] for p in e['loc']) or 'request'}: {e['msg']}" for e in errors[:5])
    return f"malformed DispatchRequest: {shown}" + (f" (and {len(errors) - 5} more)" if len(errors) > 5 else "")


def _identity(event: Any) -> Any:
    """The request's identifying fields and the names of all its fields; a non-object by its type."""
    if not isinstance(event, dict):
        return redacted(event)
    shown = {key: event[key] if isinstance(event[key], int | None) else str(event[key])[:200]
             for key in IDENTITY if key in event}
    return {**shown, "fields": sorted(str(key)[:64] for key in event)[:50]}
