"""Raw EventBridge events (and Lambda's invocation records) -> JobEvent / ExecutionEvent. Anything Sluice cannot use
raises EventError, nothing else."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from pydantic import BaseModel, ValidationError

from ..runtime.text import shown
from . import reduce
from .models import (
    ECS_TASK,
    EMR_SERVERLESS_JOB,
    EMR_STEP,
    GLUE_JOB,
    LAMBDA_RESULTS,
    SFN_EXECUTION,
    EcsTaskStateChange,
    EmrServerlessJobRunStateChange,
    EmrStepStatusChange,
    GlueJobStateChange,
    LambdaInvocationRecord,
    SfnExecutionStatusChange,
)
from .types import EventError, ExecutionEvent, JobEvent

M = TypeVar("M", bound=BaseModel)
MAX_PROBLEMS = 5  # a message names this many invalid fields at most


@dataclass(frozen=True)
class _Route(Generic[M]):
    kind: str
    model: type[M]
    reduce: Callable[[M], JobEvent]


_ROUTES: dict[tuple[str, str], _Route[Any]] = {
    ("aws.glue", GLUE_JOB): _Route("glue", GlueJobStateChange, reduce.glue),
    ("aws.emr", EMR_STEP): _Route("emr", EmrStepStatusChange, reduce.emr_step),
    ("aws.emr-serverless", EMR_SERVERLESS_JOB): _Route("emr_serverless", EmrServerlessJobRunStateChange,
                                                       reduce.emr_serverless),
    ("aws.ecs", ECS_TASK): _Route("ecs", EcsTaskStateChange, reduce.ecs),
    ("aws.states", SFN_EXECUTION): _Route("pipeline", SfnExecutionStatusChange, reduce.pipeline),
}
SOURCES = tuple(sorted({source for source, _ in _ROUTES}))
# Only aws.* sources are reserved to AWS: anyone allowed events:PutEvents on a bus can send source "lambda".
FORGEABLE = "lambda"
# What every invocation record has and no EventBridge event does (whose envelope has source and detail instead).
RECORD_KEYS = ("requestContext", "timestamp")


def parse_completion(event: Any) -> tuple[JobEvent, str]:
    """What `complete` is given, with the id its end is recorded under: a job service's event from EventBridge, or
    the invocation record Lambda delivers for a Lambda task (the function is the invocation's destination)."""
    if isinstance(event, dict) and "source" not in event and all(key in event for key in RECORD_KEYS):
        record = _validate(LambdaInvocationRecord, event, "Lambda invocation record")
        # The same for every delivery of one record (complete's asynchronous retries redeliver it).
        return reduce.lambda_result(record), f"lambda:{record.requestContext.requestId}:{event['timestamp']}"
    return parse_job_event(event), str(event.get("id", ""))


def parse_job_event(event: Any) -> JobEvent:
    """A job's state change, from any service Sluice runs jobs on (a child pipeline's execution included)."""
    route = _route(event)
    return route.reduce(_validate(route.model, event))


def parse_execution_event(event: Any) -> ExecutionEvent:
    """A "Step Functions Execution Status Change" event, with dates in ISO 8601 and input/output parsed."""
    source, detail_type = _identity(event)
    if (source, detail_type) != ("aws.states", SFN_EXECUTION):
        raise EventError(f"not a Step Functions execution status change: {described(source, detail_type)}")
    return reduce.execution(_validate(SfnExecutionStatusChange, event))


def event_kind(event: Any) -> str:
    """The Sluice task kind whose jobs send this event (glue, emr, emr_serverless, ecs, lambda, pipeline)."""
    return _route(event).kind


def _identity(event: Any) -> tuple[Any, Any]:
    if not isinstance(event, dict):
        raise EventError(f"not an EventBridge event: expected a JSON object, got {type(event).__name__}")
    return event.get("source"), event.get("detail-type")


def _route(event: Any) -> _Route[Any]:
    source, detail_type = _identity(event)
    route = _ROUTES.get((source, detail_type)) if isinstance(source, str) and isinstance(detail_type, str) else None
    if route is not None:
        return route
    if source == FORGEABLE and detail_type in LAMBDA_RESULTS:
        raise EventError(f"refused: {described(source, detail_type)} came through an event bus, where anyone allowed "
                         "events:PutEvents can send it; a Lambda task's result is taken only from Lambda itself, as "
                         "the invocation record its destination delivers to this function")
    if source not in SOURCES:
        raise EventError(f"unsupported event source: {described(source, detail_type)}; "
                         f"Sluice handles events from {', '.join(SOURCES)}")
    expected = [repr(known) for known_source, known in _ROUTES if known_source == source]
    raise EventError(f"unsupported detail-type: {described(source, detail_type)}; "
                     f"from {source} Sluice handles {' or '.join(expected)}")


def _validate(model: type[M], event: dict[str, Any], what: str | None = None) -> M:
    try:
        return model.model_validate(event)
    except ValidationError as exc:
        what = what or f"event ({described(event.get('source'), event.get('detail-type'))})"
        raise EventError(f"malformed {what}: {_problems(exc)}") from None


def _problems(exc: ValidationError) -> str:
    """Which fields are wrong, by their path in the event (e.g. detail.containers.0.exitCode)."""
    errors = exc.errors(include_url=False)
    problems = []
    for error in errors[:MAX_PROBLEMS]:
        where = ".".join(str(part) for part in error["loc"]) or "event"
        got = "" if error["type"] == "missing" else f" (got {type(error['input']).__name__})"
        message = error["msg"][:1].lower() + error["msg"][1:]
        problems.append(f"{where}: {message}{got}")
    more = f" (and {len(errors) - MAX_PROBLEMS} more)" if len(errors) > MAX_PROBLEMS else ""
    return "; ".join(problems) + more


def described(source: Any, detail_type: Any) -> str:
    """An event's source and detail-type, for a message."""
    return f"source {shown(source)}, detail-type {shown(detail_type)}"
