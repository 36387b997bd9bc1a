"""Request and response bodies of the run API (they make its OpenAPI document: docs/openapi.json)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

RunStatus = Literal["RUNNING", "SUCCEEDED", "FAILED", "TIMED_OUT", "ABORTED", "PENDING_REDRIVE"]
IDEMPOTENCY_KEY = r"^[A-Za-z0-9._:-]{1,128}$"


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class StartRun(_Body):
    params: dict[str, Any] = Field(default_factory=dict, description="values for the pipeline's declared parameters")
    logical_date: str | None = Field(None, max_length=40, description="YYYY-MM-DD or ISO 8601; default: start time")
    reason: str | None = Field(None, max_length=500, description="why the run is started (kept on its record)")


class Cancel(_Body):
    reason: str = Field(..., min_length=1, max_length=500, description="why the run is cancelled (kept on its record)")


class Resume(_Body):
    reason: str | None = Field(None, max_length=500)


class Backfill(_Body):
    start: str = Field(..., max_length=40, description="first logical date considered: an ISO 8601 time, or a date "
                       "(YYYY-MM-DD: from the start of that day in the schedule's time zone)")
    end: str = Field(..., max_length=40, description="last logical date considered, inclusive: an ISO 8601 time, or "
                     "a date (YYYY-MM-DD: to the end of that day in the schedule's time zone)")
    mode: Literal["missing", "failed", "all"] = Field(
        "missing", description="missing: dates without any run; failed: dates whose latest run failed, timed out or "
        "was aborted; all: every date")
    dry_run: bool = Field(False, description="only say which dates would run")
    max_concurrent: int = Field(1, ge=1, le=50, description="runs of this backfill at a time")
    params: dict[str, Any] = Field(default_factory=dict, description="parameters for every run (default: the "
                                   "schedule's)")


class Links(BaseModel):
    console: str | None = None
    self: str | None = None


class RunSummary(BaseModel):
    id: str = Field(description="<pipeline>:<execution name>")
    pipeline: str
    run_id: str
    execution_arn: str
    status: RunStatus | None = None
    logical_date: str | None = None
    started_at: str | None = None
    ended_at: str | None = None
    trigger: dict[str, Any] | None = None
    cost_usd: float | None = None


class RunStarted(RunSummary):
    created: bool = Field(description="false when the same start had been made before (same idempotency key)")
    current_status: RunStatus | None = Field(None, description="when created is false: the run's status now "
                                             "(status, like the rest, is the first answer's, replayed)")
    params: dict[str, Any] = Field(default_factory=dict)
    resume_of: str | None = None
    links: Links = Field(default_factory=Links)


class Attempt(BaseModel):
    retry: int
    item: int | None = None
    item_value: str | None = Field(None, description="the foreach item's value, short (at most 60 characters)")
    status: str
    kind: str
    external_id: str | None = None
    started_at: str | None = None
    ended_at: str | None = None
    duration_s: float | None = None
    error: str | None = None
    exit_code: int | None = None
    log_location: str | None = None
    resumed_from: dict[str, Any] | None = None
    usage: dict[str, Any] | None = None


class TaskView(BaseModel):
    name: str
    status: str = Field(description="its outcome, else what its attempts say; PENDING: not started yet, NOT_RUN: "
                        "never started in a run that has ended. Tasks are in the pipeline's DAG order")
    error: str | None = None
    cause: str | None = None
    attempts: list[Attempt] = Field(default_factory=list)


class RunDetail(RunSummary):
    params: dict[str, Any] = Field(default_factory=dict, description="the parameters the run was started with")
    param_defaults: dict[str, Any] = Field(default_factory=dict, description="the declared defaults the run took "
                                           "for parameters it was not given (from the pipeline as deployed now, "
                                           "when its config hash is the run's)")
    error: str | None = None
    cause: str | None = None
    config_hash: str | None = None
    resume_of: str | None = None
    resumed_by: str | None = None
    cancelled: dict[str, Any] | None = None
    tasks: list[TaskView] = Field(default_factory=list)
    cost: dict[str, Any] | None = Field(None, description="estimated at list prices when the run ended")
    links: Links = Field(default_factory=Links)


class RunPage(BaseModel):
    runs: list[RunSummary]
    next_token: str | None = None


class Cancelled(BaseModel):
    id: str
    status: str
    cancelled_by: str
    reason: str
    jobs_stopped: int


class ParamView(BaseModel):
    type: str
    required: bool
    default: Any = None
    description: str | None = None
    allowed: list[Any] | None = None


class ScheduleView(BaseModel):
    expression: str
    timezone: str
    enabled: bool


class NextRun(BaseModel):
    at: str = Field(description="UTC")
    local: str = Field(description="in the schedule's time zone")
    schedule: int


class PipelineSummary(BaseModel):
    name: str
    description: str | None = None
    owner: str | None = None
    config_hash: str
    tasks: int
    params: dict[str, ParamView]
    schedules: list[ScheduleView]


class TaskSpec(BaseModel):
    name: str
    kind: str
    depends_on: list[str]


class PipelineDetail(PipelineSummary):
    task_list: list[TaskSpec]
    next_runs: list[NextRun]


class PipelineList(BaseModel):
    pipelines: list[PipelineSummary]


class BackfillDate(BaseModel):
    logical_date: str
    action: Literal["run", "skip"]
    reason: str
    id: str | None = Field(None, description="the run started (or planned) for this date")
    status: str | None = Field(None, description="its run's status; START_FAILED: its start failed (error) and is "
                               "retried")
    error: str | None = Field(None, description="why its last start failed")


class BackfillView(BaseModel):
    id: str | None = Field(None, description="absent for a dry run")
    pipeline: str
    mode: str
    dry_run: bool
    max_concurrent: int
    status: str
    dates: list[BackfillDate]
    created_by: str | None = None
    created_at: str | None = None
    start: str | None = Field(None, description="the window's first instant (UTC), a date-only start resolved")
    end: str | None = Field(None, description="the window's last instant (UTC), a date-only end resolved")
    timezone: str | None = Field(None, description="the zone whose days date-only bounds are (dry run)")
