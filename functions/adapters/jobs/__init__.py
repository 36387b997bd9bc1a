"""Job service adapters, one per task kind, behind the port in `base`."""

from __future__ import annotations

from collections.abc import Callable, Mapping

from ..clients import ClientFactory, LazyClient, client
from .base import JobAdapter
from .ecs import EcsAdapter
from .emr import EmrAdapter
from .emr_serverless import EmrServerlessAdapter
from .glue import GlueAdapter
from .lambda_function import LambdaAdapter
from .pipeline import PipelineAdapter

__all__ = ["EcsAdapter", "EmrAdapter", "EmrServerlessAdapter", "GlueAdapter", "JobAdapters", "LambdaAdapter",
           "PipelineAdapter", "adapters_for"]


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


class JobAdapters:
    """The adapters that reach an attempt's jobs. With a role per pipeline (JOB_ROLE_ARN_PREFIX), each pipeline's
    jobs are started, described and stopped with its own role's credentials, which allow exactly the jobs its spec
    names; without one (local mode, tests), every pipeline shares `shared`."""

    def __init__(self, shared: Mapping[str, JobAdapter],
                 per_pipeline: Callable[[str], Mapping[str, JobAdapter]] | None = None) -> None:
        self.shared, self.per_pipeline = shared, per_pipeline
        self._built: dict[str, Mapping[str, JobAdapter]] = {}

    def adapter(self, kind: str, pipeline: str) -> JobAdapter | None:
        if self.per_pipeline is None or not pipeline:
            return self.shared.get(kind)
        if pipeline not in self._built:
            self._built[pipeline] = self.per_pipeline(pipeline)
        return self._built[pipeline].get(kind)
