"""Lambda entry point of the sweeper, run on a schedule."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from ..events.sweeps import trigger
from ..events.types import EventError
from ..observability import logger, metrics, redacted, tracer
from ..runtime.wiring import runtime


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler(capture_response=False, capture_error=False)
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    try:
        check = trigger(event)
    except EventError as exc:
        # Nothing retried or swept on an event the schedules never send: log it whole and drop it.
        logger.error("rejected event", reason=str(exc), event=redacted(event))
        return {"result": f"rejected: {exc}"}
    if check is not None:
        return {"deadline_met": runtime().deadlines.check(check.pipeline, check.at, check.within)}
    report = runtime().sweeper.sweep()
    for name, value in (("SweepChecked", report.checked), ("SweepRecovered", report.completed),
                        ("SweepLost", report.lost), ("SweepStopped", report.stopped),
                        ("SweepBackfillStarts", report.backfill_starts)):
        metrics.add_metric(name=name, unit=MetricUnit.Count, value=value)
    return vars(report)
