"""The pipeline file: identity, parameters, schedules, triggers, task defaults and the tasks."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from pydantic import Field, field_validator, model_validator

from .base import SpecModel
from .fields import Duration, PipelineName, TaskName, TimeZone
from .params import Param
from .schedule_expr import parse_cron, parse_rate
from .secrets import SecretRef
from .task import Task, TaskDefaults


class Schedule(SpecModel):
    """A recurring start (EventBridge Scheduler): a cron or a rate, in an IANA time zone."""

    cron: str | None = Field(None, description="EventBridge cron '0 5 ? * MON-FRI *' or Unix cron '0 5 * * 1-5'")
    rate: str | None = Field(None, description="e.g. '15 minutes', '1 hour', '1d'")
    timezone: TimeZone = "UTC"
    start: dt.datetime | dt.date | None = None
    end: dt.datetime | dt.date | None = None
    params: dict[str, Any] = Field(default_factory=dict, description="parameter values for scheduled runs")
    enabled: bool = True
    flexible_window: Duration | None = Field(None, description="let the scheduler start up to this much later")

    @field_validator("cron")
    @classmethod
    def _cron(cls, value: str | None) -> str | None:
        return None if value is None else parse_cron(value).expression

    @field_validator("rate")
    @classmethod
    def _rate(cls, value: str | None) -> str | None:
        return None if value is None else parse_rate(value).expression

    @model_validator(mode="after")
    def _consistent(self) -> Schedule:
        if (self.cron is None) == (self.rate is None):
            raise ValueError("a schedule has exactly one of 'cron' or 'rate'")
        if self.start is not None and self.end is not None and _as_datetime(self.end) <= _as_datetime(self.start):
            raise ValueError(f"'end' ({self.end}) must be after 'start' ({self.start})")
        return self

    @property
    def expression(self) -> str:
        return self.cron or self.rate or ""


def _as_datetime(value: dt.datetime | dt.date) -> dt.datetime:
    if isinstance(value, dt.datetime):
        return value.replace(tzinfo=None)
    return dt.datetime.combine(value, dt.time())


class S3Trigger(SpecModel):
    """Start a run when an object is created (the bucket must send events to EventBridge)."""

    bucket: Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")]
    prefix: str | None = None
    suffix: str | None = None


class EventTrigger(SpecModel):
    """Start a run for every EventBridge event matching a raw event pattern."""

    pattern: dict[str, Any] = Field(description="EventBridge event pattern, e.g. {source: [my.app]}")
    bus: str = "default"

    @field_validator("pattern")
    @classmethod
    def _pattern(cls, value: dict[str, Any]) -> dict[str, Any]:
        known = {"source", "detail-type", "detail", "account", "region", "resources", "time", "id", "version"}
        if not value:
            raise ValueError("an event pattern needs at least one field, e.g. {source: [my.app]}")
        unknown = sorted(set(value) - known)
        if unknown:
            raise ValueError(f"unknown event pattern field(s) {unknown}; valid: {sorted(known)}")
        return value


class Trigger(SpecModel):
    """An event that starts a run: exactly one of 's3' or 'event'."""

    s3: S3Trigger | None = None
    event: EventTrigger | None = None
    params: dict[str, Any] = Field(default_factory=dict, description="parameter values for triggered runs")

    model_config = SpecModel.model_config | {"json_schema_extra": {"oneOf": [{"required": ["s3"]},
                                                                             {"required": ["event"]}]}}

    @model_validator(mode="after")
    def _one(self) -> Trigger:
        if (self.s3 is None) == (self.event is None):
            raise ValueError("a trigger has exactly one of 's3' or 'event'")
        return self


class Deadline(SpecModel):
    """A run must have succeeded by this time of day: checked then, alarmed and announced when none has."""

    at: Annotated[str, Field(pattern=r"^([01]\d|2[0-3]):[0-5]\d$")] = Field(description="HH:MM, e.g. '07:30'")
    timezone: TimeZone = "UTC"
    within: Duration = Field(24 * 3600, description="a run counts when it started at most this long before the "
                             "deadline (default 1 day: the day's run)")

    @property
    def cron(self) -> str:
        hour, minute = self.at.split(":")
        return f"cron({int(minute)} {int(hour)} * * ? *)"


class Pipeline(SpecModel):
    """A pipeline file. Tasks run as soon as all their dependencies have finished."""

    name: PipelineName
    description: str | None = None
    owner: str | None = Field(None, description="team or e-mail to contact")
    tags: dict[str, str] = Field(default_factory=dict)
    params: dict[str, Param] = Field(default_factory=dict)
    secrets: dict[str, SecretRef] = Field(
        default_factory=dict, description="secrets by reference; {{ secrets.NAME }} renders the reference, never "
        "the value (the job resolves it with its own role)")
    schedules: list[Schedule] = Field(default_factory=list)
    triggers: list[Trigger] = Field(default_factory=list)
    defaults: TaskDefaults = Field(default_factory=TaskDefaults)
    timeout: Duration | None = Field(None, description="the whole run is stopped after this long")
    deadline: Deadline | None = Field(None, description="alarm when no run has succeeded by this time of day")
    max_duration: Duration | None = Field(
        None, description="alarm when a run takes longer than this (it keeps running; `timeout` stops it)")
    tasks: Annotated[dict[TaskName, Task], Field(min_length=1)]

    def retry_of(self, task: str) -> Any:
        return self.tasks[task].effective_retry(self.defaults)

    def timeout_of(self, task: str) -> int:
        return self.tasks[task].timeout or self.defaults.timeout

    def heartbeat_of(self, task: str) -> int | None:
        return self.tasks[task].heartbeat or self.defaults.heartbeat

    def param_defaults(self) -> dict[str, Any]:
        return {name: p.default for name, p in self.params.items() if p.default is not None}
