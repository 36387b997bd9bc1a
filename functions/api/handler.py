"""Lambda entry point of the run API (API Gateway REST proxy events, IAM-authenticated)."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from ..observability import logger, metrics, tracer
from .app import app, refused
from .service import api


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST, clear_state=True)
@tracer.capture_lambda_handler(capture_response=False, capture_error=False)
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    api().register(context)  # idempotency records expire no later than the invocation could run
    return refused(event) or app.resolve(event, context)
