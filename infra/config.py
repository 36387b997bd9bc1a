"""Deployment environments (`-c env=NAME`), read from the committed infra/environments.yaml."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

ENVIRONMENTS = Path(__file__).with_name("environments.yaml")
DEFAULT_ENV = "dev"
# The retention periods CloudWatch Logs accepts.
RETENTION_DAYS = (1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922,
                  3288, 3653)


class EnvConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    # 'sluice-<name>-' + a 48-character pipeline name must fit IAM's 64-character role names.
    name: Annotated[str, Field(pattern=r"^[a-z][a-z0-9]{0,7}$")]
    account: Annotated[str, Field(pattern=r"^\d{12}$")] | None = None
    region: Annotated[str, Field(pattern=r"^[a-z]{2}(-[a-z]+)+-\d$")] | None = None
    alarm_email: Annotated[str, Field(pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")] | None = None
    alarm_https: list[Annotated[str, Field(pattern=r"^https://\S+$")]] = Field(default_factory=list)
    log_retention_days: int = 30
    removal_policy: Literal["destroy", "retain"] = "retain"
    tracing: bool = True
    execution_logs: Literal["ALL", "ERROR", "FATAL", "OFF"] = "ALL"
    architecture: Literal["arm64", "x86_64"] = "arm64"
    record_ttl_days: Annotated[int, Field(ge=1)] = 90
    # Sluice sets the async-invoke destinations of the functions Lambda tasks name; off, the deploy does not need
    # those functions to exist yet, and each must get its destinations (to the complete function) elsewhere.
    lambda_destinations: bool = True
    # A CloudWatch dashboard per pipeline ($3 a month each past the free three); the overview is always made.
    pipeline_dashboards: bool = True
    dispatch_reserved_concurrency: Annotated[int, Field(ge=1)] | None = None
    sweep_every_minutes: Annotated[int, Field(ge=1, le=60)] = 5
    sweep_after_seconds: Annotated[int, Field(ge=60)] = 900
    # The run API's stage throttling (requests per second, and the burst above it), for all callers together.
    api_rate_limit: Annotated[int, Field(ge=1, le=10_000)] = 50
    api_burst_limit: Annotated[int, Field(ge=1, le=5_000)] = 100
    # API Gateway logs to CloudWatch through one role per account and region; off when that account setting is
    # managed elsewhere (the deploy then needs it set already).
    api_cloudwatch_role: bool = True
    tags: dict[str, str] = Field(default_factory=dict)

    @field_validator("log_retention_days")
    @classmethod
    def _retention(cls, days: int) -> int:
        if days not in RETENTION_DAYS:
            accepted = ", ".join(map(str, RETENTION_DAYS))
            raise ValueError(f"{days} is not a retention CloudWatch Logs accepts: {accepted}")
        return days

    @property
    def prefix(self) -> str:
        """Every physical name starts with this, so IAM, rules and the run store can scope to Sluice's own."""
        return f"sluice-{self.name}-"


class ConfigError(ValueError):
    pass


def load_env(name: str = DEFAULT_ENV, path: Path = ENVIRONMENTS) -> EnvConfig:
    """The named environment; a clear error naming the file, the environment and the field otherwise."""
    try:
        raw = yaml.safe_load(path.read_text()) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise ConfigError(f"{path}: cannot read the environments file: {exc}") from exc
    if not isinstance(raw, dict) or name not in raw:
        known = ", ".join(sorted(raw)) if isinstance(raw, dict) else "none"
        raise ConfigError(f"{path}: no environment '{name}' (-c env={name}); defined: {known}")
    if not isinstance(raw[name], dict):
        raise ConfigError(f"{path}: '{name}' must be a mapping of settings")
    try:
        return EnvConfig.model_validate({**raw[name], "name": name})
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc'])) or name}: {e['msg']}" for e in exc.errors())
        raise ConfigError(f"{path}: environment '{name}': {problems}") from None
