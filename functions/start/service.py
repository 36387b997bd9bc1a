"""start: a schedule tick or a trigger's event becomes one run, named after the tick or the event.

EventBridge Scheduler and EventBridge rules deliver at least once and cannot name the execution they start. They
invoke this function instead, which names the execution from (schedule, scheduled time) or (trigger, event id):
Step Functions refuses a second execution of one name, so a repeated delivery finds the run the first one started.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from aws_lambda_powertools.metrics import MetricUnit

from ..adapters.starts import NotSameRunError, Started, Starts, execution_name
from ..observability import logger, metrics


class StartRequestError(ValueError):
    """A delivery that is not a start request: retrying cannot fix it."""


@dataclass(frozen=True)
class StartRequest:
    pipeline: str
    name: str  # the execution name: the same tick or event always gives the same name
    run_input: dict[str, Any]  # sluice.contract.RunInput, as the state machine received it before this function


def parse_start(event: Any) -> StartRequest:
    """A schedule's or a trigger rule's delivery (infra/constructs/schedules.py, triggers.py) as a start request."""
    if not isinstance(event, dict):
        raise StartRequestError("the delivery is not an object")
    pipeline = _text(event, "pipeline")
    params = event.get("params", {})
    if not isinstance(params, dict):
        raise StartRequestError("'params' is not an object")
    if "schedule" in event:
        index = _index(event, "schedule")
        logical_date = _text(event, "logical_date")
        trigger = event.get("trigger")
        if not isinstance(trigger, dict) or trigger.get("type") != "schedule":
            raise StartRequestError("'trigger' is not a schedule's")
        run_input = {"params": params, "logical_date": logical_date, "trigger": trigger}
        return StartRequest(pipeline, execution_name("schedule", pipeline, str(index), logical_date), run_input)
    if "trigger_index" in event:
        index = _index(event, "trigger_index")
        rule = _text(event, "rule")
        delivered = event.get("event")
        if not isinstance(delivered, dict):
            raise StartRequestError("'event' is not an object")
        event_id, time = _text(delivered, "id", "event."), _text(delivered, "time", "event.")
        run_input = {"params": params, "logical_date": time, "event": delivered,
                     "trigger": {"type": "event", "rule": rule, "event_id": event_id}}
        return StartRequest(pipeline, execution_name("event", pipeline, str(index), event_id), run_input)
    raise StartRequestError("neither a schedule's nor a trigger's delivery (no 'schedule' or 'trigger_index')")


def start(starts: Starts, request: StartRequest) -> Started:
    """Start the run, or find the one an earlier delivery of the same tick or event started.

    A run of the name that exists is that run even when its input differs: Scheduler's retries carry another
    attempt number. A failure to start (throttling, an AWS error) raises, so the delivery is retried."""
    try:
        started = starts.start(request.pipeline, request.name, request.run_input)
    except NotSameRunError as exc:
        started = exc.existing
    if started.created:
        metrics.add_metric(name="RunsStarted", unit=MetricUnit.Count, value=1)
    else:
        metrics.add_metric(name="DuplicateDeliveries", unit=MetricUnit.Count, value=1)
        logger.info("duplicate delivery", pipeline=request.pipeline, execution_name=request.name,
                    execution_arn=started.execution_arn)
    return started


def _text(values: dict[str, Any], key: str, where: str = "") -> str:
    value = values.get(key)
    if not isinstance(value, str) or not value:
        raise StartRequestError(f"'{where}{key}' is not a non-empty string")
    return value


def _index(values: dict[str, Any], key: str) -> int:
    value = values.get(key)
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise StartRequestError(f"'{key}' is not an index")
    return value
