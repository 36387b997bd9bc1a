"""Lambda entry point of the sweeper, run on a schedule."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any, NamedTuple

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from ..events.types import EventError
from ..observability import logger, metrics, redacted, tracer
from ..runtime.wiring import runtime

# What invokes the sweeper: its EventBridge schedule (infra: Runtime._schedule_sweep) or a hand-made invoke with
# no payload ({}); a pipeline's deadline schedule (infra: PipelineMonitoring) sends {"deadline": {...}}.
SCHEDULED = ("aws.events", "Scheduled Event")
PIPELINE = re.compile(r"[a-z0-9][a-z0-9-]{0,63}")


class DeadlineCheck(NamedTuple):
    pipeline: str
    at: str
    within: int


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler
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
                        ("SweepLost", report.lost), ("SweepStopped", report.stopped)):
        metrics.add_metric(name=name, unit=MetricUnit.Count, value=value)
    return vars(report)


def trigger(event: Any) -> DeadlineCheck | None:
    """The deadline to check, or None for a sweep. EventError for anything else."""
    if not isinstance(event, dict):
        raise EventError(f"not a sweep trigger: expected a JSON object, got {type(event).__name__}")
    if "deadline" in event:
        return _deadline(event["deadline"])
    if event and (event.get("source"), event.get("detail-type")) != SCHEDULED:
        raise EventError(f"not a sweep trigger: source {_show(event.get('source'))}, detail-type "
                         f"{_show(event.get('detail-type'))}; the sweeper takes the '{SCHEDULED[1]}' of its "
                         "schedule, {} or {\"deadline\": {pipeline, at, within}}")
    return None


def _deadline(check: Any) -> DeadlineCheck:
    if not isinstance(check, dict):
        raise EventError(f"malformed deadline check: expected an object, got {type(check).__name__}")
    pipeline: Any = check.get("pipeline")
    at: Any = check.get("at")
    within: Any = check.get("within")
    problems = []
    if not (isinstance(pipeline, str) and PIPELINE.fullmatch(pipeline)):
        problems.append(f"pipeline: not a pipeline name ({_show(pipeline)})")
    if not (isinstance(at, str) and _aware(at)):
        problems.append(f"at: not an ISO 8601 time with a time zone ({_show(at)})")
    if not (isinstance(within, int) and not isinstance(within, bool) and within >= 1):
        problems.append(f"within: not a positive number of seconds ({_show(within)})")
    if problems:
        raise EventError(f"malformed deadline check: {'; '.join(problems)}")
    return DeadlineCheck(pipeline, at, within)


def _aware(text: str) -> bool:
    try:
        return dt.datetime.fromisoformat(text.replace("Z", "+00:00")).tzinfo is not None
    except ValueError:
        return False


def _show(value: Any) -> str:
    # Values come from the event: keep the message short whatever they hold.
    if value is None:
        return "missing"
    if isinstance(value, str):
        return repr(value if len(value) <= 80 else value[:77] + "...")
    return f"of type {type(value).__name__}"
