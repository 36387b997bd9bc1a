"""A task: one job, its dependencies, and how it is retried, timed out, fanned out or skipped."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BeforeValidator, Field, model_validator

from .base import SpecModel
from .fields import Duration, TaskName
from .kinds import KINDS, ChildPipeline, EcsTask, EmrServerlessJob, EmrStep, GlueJob, LambdaCall

TriggerRule = Literal["all_success", "all_done", "one_failed"]

MAX_MAP_CONCURRENCY = 40  # an inline Map state runs at most 40 iterations at once


class Retry(SpecModel):
    """Retry policy for a failed or timed-out attempt (Step Functions Retry semantics)."""

    max_attempts: Annotated[int, Field(ge=1, le=100)] = Field(1, description="total attempts, the first included")
    interval: Duration = Field(30, description="wait before the first retry")
    backoff: Annotated[float, Field(ge=1.0, le=10.0)] = Field(2.0, description="multiplier for each later wait")
    max_delay: Duration | None = Field(None, description="cap on any single wait")
    jitter: bool = Field(True, description="randomise waits (full jitter) so retries do not stampede")


class Foreach(SpecModel):
    """Run the task once per item of a list: a parameter, an upstream task's output, or a literal list."""

    items: str | list[Any] = Field(description="'{{ params.NAME }}', '{{ tasks.NAME.output }}' or a list")
    max_concurrency: Annotated[int, Field(ge=1, le=MAX_MAP_CONCURRENCY)] = 10
    max_items: Annotated[int, Field(ge=1, le=10_000)] = Field(
        100, description="the run fails cleanly if the list is longer; bounds execution history")


def _one_or_many(value: object) -> object:
    return [value] if isinstance(value, str) else value


class LocalCommand(SpecModel):
    """What `sluice run --local` runs for this task instead of only pretending: never deployed."""

    command: Annotated[list[Annotated[str, Field(min_length=1)]], Field(min_length=1)] | Annotated[
        str, Field(min_length=1)] = Field(
        description="argv list, or one string split like a shell would (no shell features); run from the "
        "directory `sluice run` is started in; exit code 0 succeeds the job, anything else fails it")
    env: dict[str, str] = Field(default_factory=dict, description="extra environment variables")
    timeout: Duration | None = Field(None, description="kill the command after this long (default: the task's)")


class TaskDefaults(SpecModel):
    """Settings every task inherits unless it sets its own."""

    retry: Retry = Field(default_factory=Retry)
    timeout: Duration = Field(12 * 3600, description="per attempt")
    heartbeat: Duration | None = None


class Task(SpecModel):
    """One unit of work: exactly one of glue, emr, emr_serverless, ecs, lambda, pipeline."""

    description: str | None = None
    depends_on: Annotated[list[TaskName], BeforeValidator(_one_or_many)] = Field(default_factory=list)
    trigger_rule: TriggerRule = Field(
        "all_success",
        description="all_success: run when every upstream task succeeded; all_done: run once they all finished, "
        "whatever the outcome (cleanup); one_failed: run only if an upstream task failed (alerting)")
    when: str | None = Field(None, description="condition on params, e.g. \"params.full_refresh == true\"")
    foreach: Foreach | None = None
    retry: Retry | None = None
    timeout: Duration | None = None
    heartbeat: Duration | None = None
    expected_duration: Duration | None = Field(
        None, description="alarm when an attempt takes longer than this (it keeps running; `timeout` stops it)")

    glue: GlueJob | None = None
    emr: EmrStep | None = None
    emr_serverless: EmrServerlessJob | None = None
    ecs: EcsTask | None = None
    lambda_: LambdaCall | None = Field(None, alias="lambda")
    pipeline: ChildPipeline | None = None
    local: LocalCommand | None = Field(None, description="a command that stands in for the job in local runs")

    model_config = SpecModel.model_config | {
        "json_schema_extra": {"oneOf": [{"required": [kind]} for kind in KINDS]},
    }

    @model_validator(mode="after")
    def _exactly_one_kind(self) -> Task:
        given = [kind for kind in KINDS if self.job_of(kind) is not None]
        if not given:
            raise ValueError(f"a task needs one kind block: {', '.join(KINDS)}")
        if len(given) > 1:
            raise ValueError(f"a task has exactly one kind block, this one has {' and '.join(given)}")
        return self

    def job_of(self, kind: str) -> SpecModel | None:
        job: SpecModel | None = getattr(self, "lambda_" if kind == "lambda" else kind)
        return job

    @property
    def kind(self) -> str:
        return next(kind for kind in KINDS if self.job_of(kind) is not None)

    @property
    def job(self) -> SpecModel:
        job = self.job_of(self.kind)
        assert job is not None
        return job

    def effective_retry(self, defaults: TaskDefaults) -> Retry:
        """The defaults' retry with whatever this task sets on top."""
        if self.retry is None:
            return defaults.retry
        return defaults.retry.model_copy(update={k: getattr(self.retry, k) for k in self.retry.model_fields_set})


__all__ = ["ChildPipeline", "EcsTask", "EmrServerlessJob", "EmrStep", "Foreach", "GlueJob", "LambdaCall", "Retry",
           "Task", "TaskDefaults", "TriggerRule"]
