"""Lambda entry point of the sweeper, run on a schedule."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from ..observability import logger, metrics, tracer
from ..runtime.wiring import runtime


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    if isinstance(event.get("deadline"), dict):  # a pipeline's deadline schedule (infra: PipelineMonitoring)
        check = event["deadline"]
        met = runtime().deadlines.check(str(check["pipeline"]), str(check["at"]), int(check["within"]))
        return {"deadline_met": met}
    report = runtime().sweeper.sweep()
    for name, value in (("SweepChecked", report.checked), ("SweepRecovered", report.completed),
                        ("SweepLost", report.lost), ("SweepStopped", report.stopped)):
        metrics.add_metric(name=name, unit=MetricUnit.Count, value=value)
    return vars(report)
