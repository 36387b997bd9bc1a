"""Lambda entry point of the dispatcher, invoked by every Lambda-backed state of a Sluice state machine."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from sluice.contract import DispatchRequest

from ..observability import logger, metrics, tracer
from ..runtime.wiring import runtime


@logger.inject_lambda_context(correlation_id_path="run_id", clear_state=True)
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    request = DispatchRequest.model_validate(event)
    logger.append_keys(pipeline=request.pipeline, task=request.task, action=request.action, attempt=request.attempt)
    metrics.add_metric(name="DispatchRequests", unit=MetricUnit.Count, value=1)
    return runtime().dispatcher.handle(request)
