"""Lambda entry point of the completion function: job state-change events from EventBridge, and Lambda tasks'
invocation records from Lambda (this function is their destination)."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from ..events.jobs import parse_completion
from ..events.types import EventError, NotAJobError
from ..observability import logger, metrics, redacted, tracer
from ..runtime.wiring import runtime


@logger.inject_lambda_context(correlation_id_path="id", clear_state=True)
@tracer.capture_lambda_handler(capture_response=False, capture_error=False)
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, str]:
    metrics.add_metric(name="CompletionEvents", unit=MetricUnit.Count, value=1)
    try:
        job_event, event_id = parse_completion(event)
    except NotAJobError as exc:
        logger.info("ignored event", reason=str(exc))
        return {"result": f"ignored: {exc}"}
    except EventError as exc:
        # Retrying cannot fix a malformed event: log it whole and drop it, touching no record.
        logger.error("rejected event", reason=str(exc), event=redacted(event))
        return {"result": f"rejected: {exc}"}
    logger.append_keys(kind=job_event.kind, external_id=job_event.external_id, state=job_event.state)
    result = runtime().completer.on_event(job_event, event_id)
    logger.info(result)
    return {"result": result}
