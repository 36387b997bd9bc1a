"""Lambda entry point of the start function: a schedule tick or a trigger rule's event starts one named run."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from ..observability import logger, metrics, redacted, tracer
from ..runtime.wiring import runtime
from .service import StartRequestError, parse_start, start


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler(capture_response=False, capture_error=False)
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, str]:
    metrics.add_metric(name="StartDeliveries", unit=MetricUnit.Count, value=1)
    try:
        request = parse_start(event)
    except StartRequestError as exc:
        # Retrying cannot fix a malformed delivery: log it and drop it, starting nothing.
        logger.error("rejected event", reason=str(exc), event=redacted(event))
        return {"result": f"rejected: {exc}"}
    logger.set_correlation_id(request.name)
    logger.append_keys(pipeline=request.pipeline)
    started = start(runtime().starts, request)  # raises when the start failed: the delivery is retried
    result = "started" if started.created else "duplicate delivery"
    logger.info(result, execution_arn=started.execution_arn)
    return {"result": result, "execution_arn": started.execution_arn, "name": started.name}
