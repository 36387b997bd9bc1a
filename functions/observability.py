"""Powertools Logger, Tracer and Metrics shared by every function.

Tracing is a deploy-time choice (POWERTOOLS_TRACE_DISABLED): Powertools' Tracer imports the X-Ray SDK, which
builds two botocore clients at import and adds about 100 ms to every cold start (bench/cold_import.py). With
tracing off the functions do not create the Tracer at all, so they do not pay for it.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any, TypeVar, cast

from aws_lambda_powertools import Logger, Metrics, Tracer

F = TypeVar("F", bound=Callable[..., Any])

logger = Logger(service="sluice")
metrics = Metrics(namespace="Sluice", service="sluice")


class _Untraced:
    """Stands in for the Tracer when tracing is off: its decorators return the function unchanged."""

    def capture_lambda_handler(self, function: F) -> F:
        return function

    def capture_method(self, function: F) -> F:
        return function


def _tracing_on() -> bool:
    return os.environ.get("POWERTOOLS_TRACE_DISABLED", "false").strip().lower() not in {"1", "true", "yes"}


# The Tracer class is cheap to import; creating one imports the X-Ray SDK.
tracer: Tracer = Tracer(service="sluice") if _tracing_on() else cast(Tracer, _Untraced())
