"""Each pipeline's jobs are reached as that pipeline's job role (JOB_ROLE_ARN_PREFIX), under moto's STS."""

from __future__ import annotations

from moto import mock_aws

from functions.adapters.clients import role_clients
from functions.adapters.jobs import GlueAdapter
from functions.runtime.wiring import Runtime
from functions.settings import Settings

PREFIX = "arn:aws:iam::123456789012:role/sluice-dev-jobs/sluice-dev-"


@mock_aws
def test_role_clients_act_as_the_assumed_role():
    # GIVEN a pipeline's job role WHEN a client from role_clients calls AWS THEN it is that role's session
    # (a pipeline name no other test uses: role sessions are cached per container, and moto forgets their keys)
    identity = role_clients(f"{PREFIX}weekly-report", "sluice-weekly-report")("sts").get_caller_identity()
    assert identity["Arn"] == "arn:aws:sts::123456789012:assumed-role/sluice-dev-weekly-report/sluice-weekly-report"


@mock_aws
def test_each_pipeline_gets_adapters_with_its_own_role():
    runtime = Runtime(Settings(table_name="runs", job_role_arn_prefix=PREFIX,
                               state_machine_arn_prefix="arn:aws:states:eu-west-1:123456789012:stateMachine:sluice-dev-"))
    adapters = runtime.job_adapters
    daily, weekly = adapters.adapter("glue", "daily-sales-etl"), adapters.adapter("glue", "ml-training")
    assert isinstance(daily, GlueAdapter) and isinstance(weekly, GlueAdapter) and daily is not weekly
    assert adapters.adapter("glue", "daily-sales-etl") is daily  # built once per pipeline and container
    whoami = daily.client._clients("sts").get_caller_identity()["Arn"]
    assert whoami.endswith(":assumed-role/sluice-dev-daily-sales-etl/sluice-daily-sales-etl")
    # an attempt recorded without its pipeline (none should be) falls back to the function's own credentials
    assert adapters.adapter("glue", "") is runtime.jobs["glue"]


def test_without_a_role_prefix_every_pipeline_shares_the_functions_credentials():
    runtime = Runtime(Settings(table_name="runs"))
    assert runtime.job_adapters.adapter("ecs", "daily-sales-etl") is runtime.jobs["ecs"]
