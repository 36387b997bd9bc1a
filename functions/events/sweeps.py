"""What may invoke the sweeper, parsed: a sweep, or a pipeline's deadline check; EventError for anything else."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any, NamedTuple

from ..runtime.text import shown
from .jobs import described
from .types import EventError

# What invokes the sweeper: its EventBridge schedule (infra: Runtime._schedule_sweep) or a hand-made invoke with
# no payload ({}); a pipeline's deadline schedule (infra: PipelineMonitoring) sends {"deadline": {...}}.
SCHEDULED = ("aws.events", "Scheduled Event")
PIPELINE = re.compile(r"[a-z0-9][a-z0-9-]{0,63}")


class DeadlineCheck(NamedTuple):
    pipeline: str
    at: str
    within: int


def trigger(event: Any) -> DeadlineCheck | None:
    """The deadline to check, or None for a sweep. EventError for anything else."""
    if not isinstance(event, dict):
        raise EventError(f"not a sweep trigger: expected a JSON object, got {type(event).__name__}")
    if "deadline" in event:
        return _deadline(event["deadline"])
    if event and (event.get("source"), event.get("detail-type")) != SCHEDULED:
        raise EventError(f"not a sweep trigger: {described(event.get('source'), event.get('detail-type'))}; "
                         f"the sweeper takes the '{SCHEDULED[1]}' of its "
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
        problems.append(f"pipeline: not a pipeline name ({shown(pipeline)})")
    if not (isinstance(at, str) and _aware(at)):
        problems.append(f"at: not an ISO 8601 time with a time zone ({shown(at)})")
    if not (isinstance(within, int) and not isinstance(within, bool) and within >= 1):
        problems.append(f"within: not a positive number of seconds ({shown(within)})")
    if problems:
        raise EventError(f"malformed deadline check: {'; '.join(problems)}")
    return DeadlineCheck(pipeline, at, within)


def _aware(text: str) -> bool:
    try:
        return dt.datetime.fromisoformat(text.replace("Z", "+00:00")).tzinfo is not None
    except ValueError:
        return False
