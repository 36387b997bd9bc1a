"""Job service adapters, one per task kind, behind the port in `base`."""

from __future__ import annotations

from collections.abc import Callable

from ..clients import ClientFactory, LazyClient, client
from .base import JobAdapter
from .ecs import EcsAdapter
from .emr import EmrAdapter
from .emr_serverless import EmrServerlessAdapter
from .glue import GlueAdapter
from .lambda_function import LambdaAdapter
from .pipeline import PipelineAdapter

__all__ = ["EcsAdapter", "EmrAdapter", "EmrServerlessAdapter", "GlueAdapter", "LambdaAdapter", "PipelineAdapter",
           "adapters_for"]


def adapters_for(clients: ClientFactory = client, *, arn_for: Callable[[str], str]) -> dict[str, JobAdapter]:
    """The adapter of every task kind. `clients`: service name -> boto3 client, asked only when an adapter first
    calls its service; `arn_for`: pipeline name -> state machine ARN (child runs)."""
    adapters: list[JobAdapter] = [
        GlueAdapter(LazyClient(clients, "glue")),
        EmrAdapter(LazyClient(clients, "emr")),
        EmrServerlessAdapter(LazyClient(clients, "emr-serverless")),
        EcsAdapter(LazyClient(clients, "ecs")),
        LambdaAdapter(LazyClient(clients, "lambda")),
        PipelineAdapter(LazyClient(clients, "stepfunctions"), arn_for),
    ]
    return {adapter.kind: adapter for adapter in adapters}
