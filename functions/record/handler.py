"""Lambda entry point of the record function: "Step Functions Execution Status Change" events."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from ..events.jobs import parse_execution_event
from ..events.types import EventError
from ..observability import logger, metrics, redacted, tracer
from ..runtime.wiring import runtime


@logger.inject_lambda_context(correlation_id_path="detail.name", clear_state=True)
@tracer.capture_lambda_handler(capture_response=False, capture_error=False)
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, str]:
    metrics.add_metric(name="ExecutionEvents", unit=MetricUnit.Count, value=1)
    try:
        execution = parse_execution_event(event)
    except EventError as exc:
        logger.error("rejected event", reason=str(exc), event=redacted(event))
        return {"result": f"rejected: {exc}"}
    result = runtime().recorder.on_event(execution)
    logger.info(result, execution_arn=execution.execution_arn, status=execution.status)
    return {"result": result}
