"""Function settings from the environment, validated once at cold start."""

from __future__ import annotations

import os

from pydantic import BaseModel, ConfigDict, Field


class Settings(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")

    table_name: str = Field(description="the run store table (RUN_TABLE)")
    record_ttl_days: int = Field(90, ge=1, description="run records expire this many days after they end")
    state_machine_arn_prefix: str = Field(
        "", description="child pipelines: the ARN of pipeline P is this prefix + P (e.g. arn:...:stateMachine:sluice-)")
    job_role_arn_prefix: str = Field(
        "", description="pipeline P's jobs are reached as the role <prefix>P (least privilege per pipeline); "
        "empty: with the function's own credentials")
    event_bus: str = Field("default", description="where Sluice announces run ends (source 'sluice'; EVENT_BUS)")
    sweep_after_seconds: int = Field(900, ge=60, description="ask a job's service after this long without an event")
    sweep_shards: int = Field(4, ge=1, le=64)
    catalog_path: str = Field("", description="the SSM path of the pipeline specs the run API reads (CATALOG_PATH)")

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None) -> Settings:
        env = dict(os.environ) if env is None else env
        try:
            table = env["RUN_TABLE"]
        except KeyError:
            raise RuntimeError("RUN_TABLE is not set: the name of the Sluice run store table") from None
        values = {"table_name": table, "record_ttl_days": env.get("RECORD_TTL_DAYS"),
                  "state_machine_arn_prefix": env.get("STATE_MACHINE_ARN_PREFIX"),
                  "job_role_arn_prefix": env.get("JOB_ROLE_ARN_PREFIX"), "event_bus": env.get("EVENT_BUS"),
                  "sweep_after_seconds": env.get("SWEEP_AFTER_SECONDS"), "sweep_shards": env.get("SWEEP_SHARDS"),
                  "catalog_path": env.get("CATALOG_PATH")}
        return cls.model_validate({k: v for k, v in values.items() if v is not None})
