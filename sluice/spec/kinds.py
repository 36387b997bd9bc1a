"""The job a task runs: one block per service (glue, emr, emr_serverless, ecs, lambda, pipeline)."""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from pydantic import Field, field_validator, model_validator

from .base import SpecModel
from .fields import PipelineName

NonEmpty = Annotated[str, Field(min_length=1, max_length=2048)]
# A Lambda function as Sluice can scope IAM, rules and async-invoke settings to it: a name or a full ARN, each with
# an optional alias or version; Lambda's partial ARNs (123456789012:function:f) are not accepted.
FUNCTION_PATTERN = (r"^(arn:aws[a-z-]*:lambda:[a-z0-9-]+:\d{12}:function:)?[A-Za-z0-9_-]{1,64}"
                    r"(:[A-Za-z0-9_$-]{1,128})?$|.*\{\{.*")  # templates: checked as templates


class GlueJob(SpecModel):
    """Start a run of an existing Glue job."""

    job: NonEmpty = Field(description="Glue job name")
    arguments: dict[str, str] = Field(default_factory=dict,
                                      description="job arguments; a leading '--' is added where missing")
    worker_type: Literal["Standard", "G.025X", "G.1X", "G.2X", "G.4X", "G.8X", "Z.2X"] | None = None
    workers: Annotated[int, Field(ge=1, le=1000)] | None = Field(None, description="number of workers")


class EmrStep(SpecModel):
    """Add a step to a running EMR cluster: spark-submit arguments, or a jar with arguments."""

    cluster_id: NonEmpty = Field(description="EMR cluster id (j-...), may be a template")
    spark_submit: list[str] | None = Field(None, description="arguments after 'spark-submit'")
    jar: NonEmpty | None = Field(None, description="jar to run (s3://... or command-runner.jar)")
    main_class: NonEmpty | None = None
    args: list[str] = Field(default_factory=list, description="arguments to the jar")

    @model_validator(mode="after")
    def _one_step_form(self) -> EmrStep:
        if (self.spark_submit is None) == (self.jar is None):
            raise ValueError("give exactly one of 'spark_submit' (a list of arguments) or 'jar' (with 'args')")
        if self.spark_submit is not None and (self.args or self.main_class):
            raise ValueError("'args' and 'main_class' go with 'jar'; put spark-submit arguments in 'spark_submit'")
        return self


class EmrServerlessJob(SpecModel):
    """Start a Spark job run on an EMR Serverless application."""

    application_id: NonEmpty
    execution_role_arn: Annotated[str, Field(pattern=r"^(arn:aws[a-z-]*:iam::\d{12}:role/.+|.*\{\{.*\}\}.*)$")]
    entry_point: NonEmpty = Field(description="s3:// path of the script or jar")
    args: list[str] = Field(default_factory=list)
    spark_params: str | None = Field(None, description="sparkSubmitParameters, e.g. '--conf spark.executor.cores=4'")


class EcsNetwork(SpecModel):
    subnets: Annotated[list[NonEmpty], Field(min_length=1)]
    security_groups: list[NonEmpty] = Field(default_factory=list)
    assign_public_ip: bool = False


class EcsTask(SpecModel):
    """Run an ECS task to completion; its exit code decides the outcome."""

    cluster: NonEmpty
    task_definition: NonEmpty = Field(description="family, family:revision or ARN")
    launch_type: Literal["FARGATE", "EC2"] = "FARGATE"
    container: NonEmpty | None = Field(None, description="container the overrides apply to")
    command: list[str] | None = None
    environment: dict[str, str] = Field(default_factory=dict)
    cpu: Annotated[int, Field(ge=128)] | None = None
    memory: Annotated[int, Field(ge=128)] | None = None
    network: EcsNetwork | None = None
    roles: list[Annotated[str, Field(pattern=r"^(arn:aws[a-z-]*:iam::\d{12}:role/.+|.*\{\{.*\}\}.*)$")]] = Field(
        default_factory=list, description="the task definition's task and execution role ARNs: Sluice may pass "
        "only these roles to ECS (iam:PassRole)")

    @model_validator(mode="after")
    def _consistent(self) -> EcsTask:
        if (self.command is not None or self.environment) and self.container is None:
            raise ValueError("'command' and 'environment' override a container: name it with 'container'")
        if self.launch_type == "FARGATE" and self.network is None:
            raise ValueError("FARGATE tasks need 'network' with 'subnets' (awsvpc networking)")
        if self.network is not None and not self.network.security_groups:
            raise ValueError("'network' needs at least one entry in 'security_groups'")
        return self


class LambdaCall(SpecModel):
    """Invoke a Lambda function asynchronously; its result comes back as the task output."""

    function: NonEmpty = Field(
        description="function name, name:alias (or :version), or function ARN (optionally qualified); may be a "
        "template", json_schema_extra={"pattern": FUNCTION_PATTERN})
    payload: dict[str, Any] = Field(default_factory=dict)

    @field_validator("function")
    @classmethod
    def _function(cls, value: str) -> str:
        if not re.fullmatch(FUNCTION_PATTERN, value):
            raise ValueError(f"'{value}' is not a function Sluice can grant and listen to: use a name "
                             "(sales-notify), a name with an alias or version (sales-notify:prod) or a full function "
                             "ARN (arn:aws:lambda:REGION:ACCOUNT:function:NAME[:ALIAS])")
        return value


class ChildPipeline(SpecModel):
    """Start another Sluice pipeline as a child run and wait for it."""

    name: PipelineName
    params: dict[str, Any] = Field(default_factory=dict)


KINDS: dict[str, type[SpecModel]] = {
    "glue": GlueJob,
    "emr": EmrStep,
    "emr_serverless": EmrServerlessJob,
    "ecs": EcsTask,
    "lambda": LambdaCall,
    "pipeline": ChildPipeline,
}
