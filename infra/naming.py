"""Physical names and ARNs shared by the platform and pipeline stacks: fixed names, so no stack exports values
another must import (an export cannot change while imported) and IAM and rules can scope to Sluice's own."""

from __future__ import annotations

import hashlib

import aws_cdk as cdk
from aws_cdk import aws_logs as logs
from constructs import Construct

from .config import RETENTION_DAYS, EnvConfig

# api: behind the run API (infra/constructs/run_api.py); start: schedules and trigger rules start runs through it
FUNCTIONS = ("dispatch", "complete", "record", "sweep", "api", "start")
# Step Functions allows 80 characters in a state machine name, EventBridge 64 in a rule or schedule name.
NAME_LIMIT = 64


def function_name(config: EnvConfig, function: str) -> str:
    return f"{config.prefix}{function}"


def role_name(config: EnvConfig, function: str) -> str:
    """A function's role: the '.' keeps it apart from pipeline job roles, whose names cannot hold one."""
    return f"{config.prefix}runtime.{function}"


def job_role_path(config: EnvConfig) -> str:
    return f"/{config.prefix}jobs/"


def job_role_name(config: EnvConfig, pipeline: str) -> str:
    """The role pipeline P's jobs are reached with (functions/settings.py: JOB_ROLE_ARN_PREFIX + P)."""
    return f"{config.prefix}{pipeline}"


def job_role_arn_prefix(scope: Construct, config: EnvConfig) -> str:
    return iam_arn(scope, f"role{job_role_path(config)}{config.prefix}")


def iam_arn(scope: Construct, resource: str) -> str:
    """An IAM ARN (global: no region) in the scope's partition and account."""
    stack = cdk.Stack.of(scope)
    return f"arn:{stack.partition}:iam::{stack.account}:{resource}"


def machine_name(config: EnvConfig, pipeline: str) -> str:
    return f"{config.prefix}{pipeline}"


def short_name(*parts: str) -> str:
    """parts joined by '-', cut to 64 characters with a hash of the whole so cut names stay distinct."""
    name = "-".join(parts)
    if len(name) <= NAME_LIMIT:
        return name
    digest = hashlib.sha256(name.encode()).hexdigest()[:8]
    return f"{name[:NAME_LIMIT - 9]}-{digest}"


def arn_in(scope: Construct, service: str, resource: str) -> str:
    """An ARN in the scope's own partition, region and account."""
    stack = cdk.Stack.of(scope)
    return f"arn:{stack.partition}:{service}:{stack.region}:{stack.account}:{resource}"


def fill(scope: Construct, template: str) -> str:
    """An ARN template from infra/grants.py, in the scope's partition, region and account."""
    stack = cdk.Stack.of(scope)
    return template.format(partition=stack.partition, region=stack.region, account=stack.account)


def machine_arn_prefix(scope: Construct, config: EnvConfig) -> str:
    return arn_in(scope, "states", f"stateMachine:{config.prefix}")


def alarm_topic_name(config: EnvConfig) -> str:
    return f"{config.prefix}alarms"


def removal(config: EnvConfig) -> cdk.RemovalPolicy:
    """What `cdk destroy` does to stateful resources (the run store, log groups) in this environment."""
    return cdk.RemovalPolicy.RETAIN if config.removal_policy == "retain" else cdk.RemovalPolicy.DESTROY


def retention(config: EnvConfig) -> logs.RetentionDays:
    """The environment's log retention as CDK's enum (whose members follow CloudWatch's list in order)."""
    return list(logs.RetentionDays)[RETENTION_DAYS.index(config.log_retention_days)]
