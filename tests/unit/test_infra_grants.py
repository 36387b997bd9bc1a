"""What each pipeline's job role may do, derived from its spec (infra/grants.py: pure, no CDK)."""

from __future__ import annotations

import ast
from pathlib import Path

from infra.grants import job_grants, pattern
from sluice.spec import Pipeline
from tests.support.pipelines import ROOT, examples

ACCOUNT = "arn:{partition}:%s:{region}:{account}:"


def _by_sid(pipeline: Pipeline) -> dict[str, object]:
    return {g.sid: g for g in job_grants([pipeline], machine_prefix="sluice-dev-")}


def test_daily_sales_etl_gets_exactly_its_jobs():
    # GIVEN the example WHEN its grants are derived THEN each names its own jobs and nothing else
    grants = _by_sid(examples()["daily-sales-etl"])
    assert sorted(grants) == ["EcsListTasks", "EcsRunTask", "EcsTaskRoles", "EcsTasks", "EmrServerlessJobs",
                              "EmrServerlessRoles", "GlueJobs", "LambdaTasks"]
    glue = grants["GlueJobs"]
    assert glue.actions == ("glue:BatchStopJobRun", "glue:GetJobRun", "glue:GetJobRuns", "glue:StartJobRun")
    assert glue.resources == (ACCOUNT % "glue" + "job/sales-extract-orders",
                              ACCOUNT % "glue" + "job/sales-rebuild-dimensions")
    assert glue.why_wildcard is None
    run_task = grants["EcsRunTask"]
    assert run_task.resources == (ACCOUNT % "ecs" + "task-definition/warehouse-loader:12",)
    assert run_task.conditions == {"ArnEquals": {"ecs:cluster": [ACCOUNT % "ecs" + "cluster/data-loaders"]}}
    assert grants["EcsTasks"].resources == (ACCOUNT % "ecs" + "task/data-loaders/*",)
    assert grants["EcsTaskRoles"].actions == ("iam:PassRole",)
    assert grants["EcsTaskRoles"].resources == ("arn:aws:iam::123456789012:role/warehouse-loader-execution",
                                                "arn:aws:iam::123456789012:role/warehouse-loader-task")
    assert grants["EcsTaskRoles"].conditions == {"StringEquals": {"iam:PassedToService": ["ecs-tasks.amazonaws.com"]}}
    assert grants["EmrServerlessRoles"].resources == ("arn:aws:iam::123456789012:role/sales-emr-serverless",)
    assert grants["EmrServerlessJobs"].resources == (
        ACCOUNT % "emr-serverless" + "/applications/00fabc123def4567",
        ACCOUNT % "emr-serverless" + "/applications/00fabc123def4567/jobruns/*")
    assert grants["LambdaTasks"].resources == (ACCOUNT % "lambda" + "function:sales-notify",)


def test_no_action_is_a_wildcard_and_every_wildcard_resource_says_why():
    for pipeline in examples().values():
        for grant in job_grants([pipeline], machine_prefix="sluice-dev-"):
            assert all("*" not in action for action in grant.actions), grant
            if any("*" in r for r in grant.resources):
                assert grant.why_wildcard, grant


def test_templated_names_become_the_narrowest_pattern_with_a_reason():
    # GIVEN job names that are templates WHEN granted THEN the template part becomes '*', and the reason names it
    pipeline = Pipeline.model_validate({"name": "templated", "tasks": {
        "a": {"glue": {"job": "etl-{{ params.region }}-load"}},
        "b": {"ecs": {"cluster": "c", "task_definition": "loader", "network": {"subnets": ["s"],
                                                                                 "security_groups": ["g"]}}}}})
    grants = _by_sid(pipeline)
    assert grants["GlueJobs"].resources == (ACCOUNT % "glue" + "job/etl-*-load",)
    assert "etl-{{ params.region }}-load" in grants["GlueJobs"].why_wildcard
    # a task definition without a revision runs whichever revision is current
    assert grants["EcsRunTask"].resources == (ACCOUNT % "ecs" + "task-definition/loader:*",)
    assert "without a revision" in grants["EcsRunTask"].why_wildcard
    assert pattern("{{ a }}{{ b }}") == "*"


def test_child_pipelines_may_be_started_only_by_name():
    pipeline = examples()["ml-training"]
    child = Pipeline.model_validate({"name": "parent", "tasks": {"run": {"pipeline": {"name": "ml-training"}}}})
    assert "ChildPipelinesStart" not in _by_sid(pipeline)
    grants = _by_sid(child)
    assert grants["ChildPipelinesStart"].actions == ("states:StartExecution",)
    assert grants["ChildPipelinesStart"].resources == (ACCOUNT % "states" + "stateMachine:sluice-dev-ml-training",)
    assert grants["ChildPipelineRuns"].resources == (ACCOUNT % "states" + "execution:sluice-dev-ml-training:*",)


def test_infra_never_imports_functions():
    # infra/ runs at synth time, functions/ in Lambda: they share only the core package (ARCHITECTURE.md)
    for path in sorted((ROOT / "infra").rglob("*.py")):
        tree = ast.parse(Path(path).read_text())
        for node in ast.walk(tree):
            names = ([a.name for a in node.names] if isinstance(node, ast.Import)
                     else [node.module or ""] if isinstance(node, ast.ImportFrom) else [])
            assert not any(n == "functions" or n.startswith("functions.") for n in names), path


def test_ecs_arns_stay_in_their_own_account_and_region():
    # GIVEN a cluster and task definition named by ARN in another account WHEN granted THEN those ARNs are used
    # as written (not rebuilt in the stack's account), and the tasks are that cluster's
    cluster = "arn:aws:ecs:us-east-1:210987654321:cluster/shared"
    definition = "arn:aws:ecs:us-east-1:210987654321:task-definition/loader:4"
    pipeline = Pipeline.model_validate({"name": "cross", "tasks": {"a": {"ecs": {
        "cluster": cluster, "task_definition": definition, "network": {"subnets": ["s"], "security_groups": ["g"]}}}}})
    grants = _by_sid(pipeline)
    assert grants["EcsRunTask"].resources == (definition,)
    assert grants["EcsRunTask"].conditions == {"ArnEquals": {"ecs:cluster": [cluster]}}
    assert grants["EcsTasks"].resources == ("arn:aws:ecs:us-east-1:210987654321:task/shared/*",)
