"""The run API (infra/constructs/run_api.py): REST API, IAM auth, the api function's grants, and the pipeline
catalog the pipeline stacks write (sluice/catalog.py)."""

from __future__ import annotations

import json

import pytest

from infra import sharding
from infra.app import build_app, default_assets
from infra.config import load_env
from sluice.catalog import catalog_path, decode
from tests.infra.conftest import NOW
from tests.support.pipelines import examples

pytestmark = pytest.mark.synth
PLATFORM = "sluice-dev-platform"
PIPELINES = "sluice-dev-pipelines-1"
ACCESS_LOG_FIELDS = ["requestId", "ip", "user", "caller", "requestTime", "httpMethod", "resourcePath", "status",
                     "protocol", "responseLength"]


def _one(synth, stack: str, kind: str) -> tuple[str, dict]:
    ((key, resource),) = synth.resources(stack, kind).items()
    return key, resource


def _function_id(synth, name: str, stack: str = PLATFORM) -> str:
    (key,) = [k for k, f in synth.resources(stack, "AWS::Lambda::Function").items()
              if f["Properties"]["FunctionName"] == name]
    return key


def _statements(synth, role_logical_prefix: str) -> dict[str, dict]:
    (policy,) = [p for k, p in synth.resources(PLATFORM, "AWS::IAM::Policy").items()
                 if k.startswith(role_logical_prefix)]
    statements = policy["Properties"]["PolicyDocument"]["Statement"]
    return {s.get("Sid") or s["Action"][0].split(":")[0]: s for s in statements}


def _tail(resource: dict) -> str:
    """The literal end of an ARN CDK joined with the partition, region and account."""
    return resource["Fn::Join"][1][-1]


def test_a_regional_rest_api_proxies_every_path_and_method_to_the_api_function_with_iam_auth(dev):
    api_id, api = _one(dev, PLATFORM, "AWS::ApiGateway::RestApi")
    assert api["Properties"]["Name"] == "sluice-dev-api"
    assert api["Properties"]["EndpointConfiguration"] == {"Types": ["REGIONAL"]}
    _, proxy = _one(dev, PLATFORM, "AWS::ApiGateway::Resource")
    assert proxy["Properties"]["PathPart"] == "{proxy+}"
    methods = dev.resources(PLATFORM, "AWS::ApiGateway::Method").values()
    function = _function_id(dev, "sluice-dev-api")
    on = sorted(json.dumps(m["Properties"]["ResourceId"]) for m in methods)
    assert on == sorted([json.dumps({"Fn::GetAtt": [api_id, "RootResourceId"]}),
                         json.dumps({"Ref": next(iter(dev.resources(PLATFORM, "AWS::ApiGateway::Resource")))})])
    for method in methods:
        props = method["Properties"]
        assert props["HttpMethod"] == "ANY" and props["AuthorizationType"] == "AWS_IAM"
        assert props["Integration"]["Type"] == "AWS_PROXY"
        assert {"Fn::GetAtt": [function, "Arn"]} in props["Integration"]["Uri"]["Fn::Join"][1]
    # API Gateway may invoke the api function from the deployed stage only (no console test invocations)
    permissions = [p["Properties"] for p in dev.resources(PLATFORM, "AWS::Lambda::Permission").values()
                   if p["Properties"]["Principal"] == "apigateway.amazonaws.com"]
    assert len(permissions) == 2
    stage_id, _ = _one(dev, PLATFORM, "AWS::ApiGateway::Stage")
    for permission in permissions:
        assert permission["FunctionName"] == {"Fn::GetAtt": [function, "Arn"]}
        assert {"Ref": stage_id} in permission["SourceArn"]["Fn::Join"][1]


def test_stage_v1_logs_access_as_json_throttles_and_traces(dev, prod):
    for synth, prefix, retention in ((dev, "sluice-dev-", 14), (prod, "sluice-prod-", 365)):
        stack, rate, burst = f"{prefix}platform", 50, 100
        _, stage = _one(synth, stack, "AWS::ApiGateway::Stage")
        props = stage["Properties"]
        assert props["StageName"] == "v1" and props["TracingEnabled"] is True
        assert props["MethodSettings"] == [{"HttpMethod": "*", "ResourcePath": "/*", "LoggingLevel": "ERROR",
                                            "DataTraceEnabled": False, "MetricsEnabled": True,
                                            "ThrottlingRateLimit": rate, "ThrottlingBurstLimit": burst}]
        assert list(json.loads(props["AccessLogSetting"]["Format"])) == ACCESS_LOG_FIELDS
        groups = synth.resources(stack, "AWS::Logs::LogGroup")
        (access,) = [k for k, g in groups.items()
                     if g["Properties"]["LogGroupName"] == f"/aws/apigateway/{prefix}api"]
        assert {"Ref": access} in props["AccessLogSetting"]["DestinationArn"]["Fn::Join"][1]
        assert groups[access]["Properties"]["RetentionInDays"] == retention
        # API Gateway's own execution log group, made first so it has the environment's retention
        (execution,) = [k for k, g in groups.items() if "Fn::Join" in json.dumps(g["Properties"]["LogGroupName"])]
        assert groups[execution]["Properties"]["LogGroupName"]["Fn::Join"][1][0] == "API-Gateway-Execution-Logs_"
        assert groups[execution]["Properties"]["LogGroupName"]["Fn::Join"][1][-1] == "/v1"
        assert groups[execution]["Properties"]["RetentionInDays"] == retention
        assert execution in stage["DependsOn"]


def test_api_gateway_logs_through_its_account_level_role(dev):
    _, account = _one(dev, PLATFORM, "AWS::ApiGateway::Account")
    role_id = account["Properties"]["CloudWatchRoleArn"]["Fn::GetAtt"][0]
    role = dev.resources(PLATFORM, "AWS::IAM::Role")[role_id]["Properties"]
    assert role["AssumeRolePolicyDocument"]["Statement"][0]["Principal"] == {"Service": "apigateway.amazonaws.com"}
    assert [_tail(p) for p in role["ManagedPolicyArns"]] == [
        ":iam::aws:policy/service-role/AmazonAPIGatewayPushToCloudWatchLogs"]
    _, stage = _one(dev, PLATFORM, "AWS::ApiGateway::Stage")
    assert any(d.startswith("RunApiAccount") for d in stage["DependsOn"])  # logging needs the role set first


def test_the_url_is_output_as_run_api_url_once(dev):
    outputs = dev.template(PLATFORM)["Outputs"]
    assert set(outputs) == {"RunTable", "AlarmTopic", "DeadLetterQueue", "RunApiUrl"}
    url = outputs["RunApiUrl"]["Value"]["Fn::Join"][1]
    assert url[0] == "https://" and ".execute-api." in url and url[-1] == "/"


def test_api_function_may_do_exactly_what_the_api_needs(dev):
    statements = _statements(dev, "RuntimeApiRole")
    assert sorted(statements) == ["CatalogEntries", "CatalogPath", "PipelineJobRoles", "RunStore", "SluiceExecutions",
                                  "StartRuns", "logs", "xray"]
    # BatchGetItem reads runs in batches; DeleteItem: Powertools Idempotency deletes its record when a request fails
    assert statements["RunStore"]["Action"] == ["dynamodb:BatchGetItem", "dynamodb:DeleteItem", "dynamodb:GetItem",
                                                "dynamodb:PutItem", "dynamodb:Query", "dynamodb:UpdateItem"]
    assert statements["CatalogPath"]["Action"] == "ssm:GetParametersByPath"
    assert [_tail(r) for r in statements["CatalogPath"]["Resource"]] == [":parameter/sluice/dev/pipelines",
                                                                         ":parameter/sluice/dev/pipelines/"]
    assert statements["CatalogEntries"]["Action"] == "ssm:GetParameter"
    assert _tail(statements["CatalogEntries"]["Resource"]) == ":parameter/sluice/dev/pipelines/*"
    assert statements["StartRuns"]["Action"] == "states:StartExecution"
    assert _tail(statements["StartRuns"]["Resource"]) == ":stateMachine:sluice-dev-*"
    assert statements["SluiceExecutions"]["Action"] == [
        "states:DescribeExecution", "states:DescribeStateMachineForExecution", "states:StopExecution"]
    assert _tail(statements["SluiceExecutions"]["Resource"]) == ":execution:sluice-dev-*:*"
    assert statements["PipelineJobRoles"]["Action"] == "sts:AssumeRole"  # stops a cancelled run's jobs
    assert _tail(statements["PipelineJobRoles"]["Resource"]) == ":role/sluice-dev-jobs/*"
    assert statements["logs"]["Resource"] == {"Fn::GetAtt": [
        next(k for k in dev.resources(PLATFORM, "AWS::Logs::LogGroup") if k.startswith("RuntimeApiLogs")), "Arn"]}
    assert all(s["Effect"] == "Allow" and "Condition" not in s for s in statements.values())


def test_only_record_api_and_sweep_start_runs(dev):
    # record: a backfill's next runs as earlier ones end; api: runs asked for; sweep: failed backfill starts
    for function in ("Record", "Api", "Dispatch", "Complete", "Sweep"):
        statements = _statements(dev, f"Runtime{function}Role")
        if function in ("Record", "Api", "Sweep"):
            assert statements["StartRuns"]["Action"] == "states:StartExecution"
            assert _tail(statements["StartRuns"]["Resource"]) == ":stateMachine:sluice-dev-*"
        else:
            assert "StartRuns" not in statements
        assert ("CatalogPath" in statements) == (function == "Api")
        assert ("states:StopExecution" in statements["SluiceExecutions"]["Action"]) == (function == "Api")


def test_each_pipeline_stack_writes_its_pipelines_catalog_entries(dev, prod):
    for synth, prefix in ((dev, "sluice-dev-"), (prod, "sluice-prod-")):
        parameters = {p["Properties"]["Name"]: p["Properties"]
                      for stack in synth.stacks() for p in synth.resources(stack, "AWS::SSM::Parameter").values()}
        path = catalog_path(prefix)
        assert sorted(parameters) == sorted(f"{path}{name}" for name in examples())
        for name, pipeline in examples().items():
            props = parameters[f"{path}{name}"]
            assert props["Type"] == "String" and props["Tier"] == "Standard"
            assert props["Description"] == "Sluice pipeline spec (read by the run API)"
            assert isinstance(props["Value"], str)  # no CloudFormation function inside
            assert decode(props["Value"], name) == pipeline


def test_the_sharding_estimate_covers_each_pipeline_stack(dev, prod):
    # GIVEN the placement's estimate WHEN the stacks are synthesized THEN no stack holds more than estimated
    for synth in (dev, prod):
        for stack in synth.built.pipeline_stacks:
            template = synth.outdir / f"{stack.stack_name}.template.json"
            members = [examples()[n] for n in synth.built.placement.members(int(stack.shard.split("-")[-1]))]
            estimate = sharding.STACK_RESOURCES + sum(sharding.resources_of(p) for p in members)
            assert len(json.loads(template.read_text())["Resources"]) <= estimate


def test_without_the_logging_role_the_account_setting_is_left_alone(tmp_path):
    # GIVEN an environment whose API Gateway logging role is managed elsewhere WHEN synthesized (cdk-nag on)
    # THEN neither the role nor the account setting is made, and nothing about them is acknowledged
    config = load_env("dev").model_copy(update={"api_cloudwatch_role": False})
    built = build_app(examples(), config, assets=default_assets(config.architecture), outdir=str(tmp_path), now=NOW)
    built.app.synth()
    template = json.loads((tmp_path / f"{PLATFORM}.template.json").read_text())
    kinds = [r["Type"] for r in template["Resources"].values()]
    assert "AWS::ApiGateway::Account" not in kinds and "AWS::ApiGateway::Stage" in kinds
    (report,) = json.loads((tmp_path / "validation-report.json").read_text())["pluginReports"]
    assert report["violations"] == []
    assert not [s for s in report["suppressedViolations"] if s["ruleName"].startswith("AwsSolutions-IAM4")]
