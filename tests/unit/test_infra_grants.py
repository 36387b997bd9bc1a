"""What each pipeline's job role may do, derived from its spec (infra/grants.py: pure, no CDK)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from infra.grants import job_grants
from sluice.spec import Pipeline, load_text
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


ROLE = "arn:aws:iam::123456789012:role/"
TEMPLATED = f"""\
name: templated
params:
  env: {{type: string, default: dev, allowed: [dev, prod]}}
  role: {{type: string, allowed: [etl-a, etl-b]}}
tasks:
  glue: {{glue: {{job: "etl-{{{{ params.env }}}}-load"}}}}
  emr: {{emr: {{cluster_id: "j-{{{{ params.env }}}}", jar: command-runner.jar}}}}
  serverless:
    emr_serverless: {{application_id: "app-{{{{ params.env }}}}", execution_role_arn: "{ROLE}{{{{ params.role }}}}",
                      entry_point: s3://b/m.py}}
  ecs:
    ecs: {{cluster: "c-{{{{ params.env }}}}", task_definition: "loader-{{{{ params.env }}}}:3", launch_type: EC2,
          roles: ["{ROLE}{{{{ params.role }}}}-{{{{ params.env }}}}"]}}
  fn: {{lambda: {{function: "notify-{{{{ params.env }}}}"}}}}
"""


def test_templated_names_grant_exactly_the_allowed_values_and_no_wildcard():
    # GIVEN resource names templated from params that declare their allowed values
    pipeline, problems = load_text(TEMPLATED)
    assert problems == [] and pipeline is not None
    # WHEN its grants are derived THEN each names exactly the ARNs of those values (mixed text expanded per value)
    grants = _by_sid(pipeline)
    assert grants["GlueJobs"].resources == (ACCOUNT % "glue" + "job/etl-dev-load",
                                            ACCOUNT % "glue" + "job/etl-prod-load")
    assert grants["EmrSteps"].resources == (ACCOUNT % "elasticmapreduce" + "cluster/j-dev",
                                            ACCOUNT % "elasticmapreduce" + "cluster/j-prod")
    assert grants["EmrServerlessRoles"].resources == (ROLE + "etl-a", ROLE + "etl-b")
    assert grants["EmrServerlessJobs"].resources[::2] == (ACCOUNT % "emr-serverless" + "/applications/app-dev",
                                                          ACCOUNT % "emr-serverless" + "/applications/app-prod")
    assert grants["EcsRunTask"].resources == (ACCOUNT % "ecs" + "task-definition/loader-dev:3",
                                              ACCOUNT % "ecs" + "task-definition/loader-prod:3")
    assert grants["EcsRunTask"].conditions == {"ArnEquals": {"ecs:cluster": [ACCOUNT % "ecs" + "cluster/c-dev",
                                                                             ACCOUNT % "ecs" + "cluster/c-prod"]}}
    assert grants["EcsTaskRoles"].resources == tuple(ROLE + f"etl-{r}-{e}" for r in "ab" for e in ("dev", "prod"))
    assert grants["LambdaTasks"].resources == (ACCOUNT % "lambda" + "function:notify-dev",
                                               ACCOUNT % "lambda" + "function:notify-prod")
    # AND no grant naming a job, cluster, role or function holds a '*'
    for sid in ("GlueJobs", "EmrSteps", "EmrServerlessRoles", "EcsRunTask", "EcsTaskRoles", "LambdaTasks"):
        assert not any("*" in r for r in grants[sid].resources), grants[sid]
        assert grants[sid].why_wildcard is None, grants[sid]


def test_a_name_that_cannot_be_expanded_is_never_granted_as_a_pattern():
    # GIVEN a model built without the file checks, whose job name comes from a param without allowed values
    pipeline = Pipeline.model_validate({"name": "unchecked", "params": {"job": {"type": "string"}},
                                        "tasks": {"a": {"glue": {"job": "{{ params.job }}"}}}})
    # WHEN its grants are derived THEN it is refused, not widened to job/*
    with pytest.raises(ValueError, match=r"tasks.a.glue.job: '\{\{ params.job \}\}' names the resource"):
        _by_sid(pipeline)


def test_a_task_definition_without_a_revision_says_why_it_is_a_pattern():
    pipeline = Pipeline.model_validate({"name": "unrevised", "tasks": {
        "b": {"ecs": {"cluster": "c", "task_definition": "loader", "network": {"subnets": ["s"],
                                                                                 "security_groups": ["g"]}}}}})
    grants = _by_sid(pipeline)
    assert grants["EcsRunTask"].resources == (ACCOUNT % "ecs" + "task-definition/loader:*",)
    assert "without a revision" in grants["EcsRunTask"].why_wildcard


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
