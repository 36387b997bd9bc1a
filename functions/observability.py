"""Powertools Logger, Tracer and Metrics shared by every function.

Tracing is a deploy-time choice (POWERTOOLS_TRACE_DISABLED): Powertools' Tracer imports the X-Ray SDK, which
builds two botocore clients at import and adds about 100 ms to every cold start (bench/cold_import.py). With
tracing off the functions do not create the Tracer at all, so they do not pay for it.
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Callable, Iterator
from typing import Any, TypeVar, cast

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.metrics.base import SingleMetric

F = TypeVar("F", bound=Callable[..., Any])

NAMESPACE = "Sluice"
logger = Logger(service="sluice")
metrics = Metrics(namespace=NAMESPACE, service="sluice")


def measure(name: str, value: float, unit: MetricUnit, *, pipeline: str, task: str | None = None,
            error: str | None = None) -> None:
    """One metric per pipeline (and task, and error name), emitted at once as EMF. Dimensions stay few and
    bounded: a run id or a job id would make a metric per run, which CloudWatch bills and cannot alarm on."""
    # Without the 'service' dimension Powertools adds from POWERTOOLS_SERVICE_NAME: it differs per function, and
    # an alarm must name every dimension of the metric it watches.
    metric = SingleMetric(namespace=NAMESPACE, service="")
    metric.add_metric(name=name, unit=unit, value=value)
    for key, dimension in (("pipeline", pipeline), ("task", task), ("error", error)):
        if dimension is not None:
            metric.add_dimension(name=key, value=dimension)
    print(json.dumps(metric.serialize_metric_set(), separators=(",", ":")))  # EMF: CloudWatch reads stdout


class _Untraced:
    """Stands in for the Tracer when tracing is off: its decorators return the function unchanged."""

    def capture_lambda_handler(self, function: F | None = None, **_: Any) -> Any:
        # Used as @tracer.capture_lambda_handler(capture_response=False, ...) too, like Powertools' own
        return function if function is not None else (lambda handler: handler)

    def capture_method(self, function: F) -> F:
        return function


def _tracing_on() -> bool:
    return os.environ.get("POWERTOOLS_TRACE_DISABLED", "false").strip().lower() not in {"1", "true", "yes"}


# The Tracer class is cheap to import; creating one imports the X-Ray SDK. Every handler is decorated with
# capture_response=False and capture_error=False (tests/unit/test_tracing.py keeps it so): Powertools would put a
# handler's response (a run's params, a job's config, the API's answers) and the full exception (a validation error
# quotes its input) into X-Ray metadata, readable by anyone who may read traces.
# X-Ray's SDK records an exception leaving a subsegment with its message whatever capture_error says, and a
# message can quote run data (a pydantic error quotes its input): handlers' subsegments record the type only.
class WithheldError(Exception):
    """What X-Ray is told of a handler's exception: its type, never its message."""


class _Withholding:
    """A tracing provider whose subsegments record an exception's type, not its message; else the provider's own."""

    def __init__(self, provider: Any) -> None:
        self._provider = provider

    def __getattr__(self, name: str) -> Any:
        return getattr(self._provider, name)

    @contextlib.contextmanager
    def in_subsegment(self, name: str | None = None, **kwargs: Any) -> Iterator[Any]:
        with self._provider.in_subsegment(name=name, **kwargs) as subsegment:
            try:
                yield subsegment
            except Exception as exc:
                if subsegment is not None:
                    subsegment.add_exception(WithheldError(f"{type(exc).__name__} (message withheld)"), [])
                    # the SDK takes an exception marked recorded as already told: it keeps the cause just set
                    exc._recorded = True  # type: ignore[attr-defined]
                    exc._cause_id = subsegment.cause  # type: ignore[attr-defined]
                raise


def _tracer() -> Tracer:
    traced = Tracer(service="sluice")
    traced.provider = cast(Any, _Withholding(traced.provider))
    return traced


tracer: Tracer = _tracer() if _tracing_on() else cast(Tracer, _Untraced())


# What a rejected event may carry that is not Sluice's to log: a run's input and output (its params), a job's
# environment overrides, a Lambda job's request and response payloads.
REDACTED = ["$..input", "$..output", "$..overrides", "$..requestPayload", "$..responsePayload", "$..environment"]


def redacted(event: Any) -> Any:
    """An event fit for the log: the fields above erased (Powertools Data Masking); a non-object by its type."""
    if not isinstance(event, dict):
        return type(event).__name__
    import warnings

    from aws_lambda_powertools.utilities.data_masking import DataMasking  # imported only on this rare path

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # a field the event lacks is no error
        return DataMasking(raise_on_missing_field=False).erase(event, fields=REDACTED)
