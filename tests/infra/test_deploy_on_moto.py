"""The synthesized stacks, created in moto's CloudFormation as `cdk deploy` would (assets uploaded, bootstrap
version present): every intrinsic resolves, and what the functions read from their environment names what the
stacks created. (moto skips Scheduler schedules, alarms, queue and topic policies, async-invoke settings, and
API Gateway's stage and account settings; the synth tests cover those.)"""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path

import boto3
import pytest
from moto import mock_aws

from functions.settings import Settings
from sluice.api_client import endpoint_from_stack_outputs
from sluice.catalog import decode
from sluice.run_store_schema import INDEXES
from tests.infra.conftest import Synth
from tests.support.pipelines import examples

pytestmark = pytest.mark.synth
ACCOUNT, REGION = "123456789012", "eu-west-1"
STACKS = ("sluice-dev-platform", "sluice-dev-pipelines-1")


def _zip(source: Path) -> bytes:
    if source.is_file():
        return source.read_bytes()
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for path in sorted(p for p in source.rglob("*") if p.is_file()):
            archive.write(path, path.relative_to(source))
    return buffer.getvalue()


def _publish_assets(synth: Synth, stack: str) -> None:
    """What cdk-assets does before a deploy: each file asset, zipped, to the bootstrap bucket."""
    s3 = boto3.client("s3")
    manifest = json.loads((synth.outdir / f"{stack}.assets.json").read_text())
    for asset in manifest.get("files", {}).values():
        for destination in asset["destinations"].values():
            bucket = destination["bucketName"].replace("${AWS::AccountId}", ACCOUNT).replace("${AWS::Region}", REGION)
            if bucket not in {b["Name"] for b in s3.list_buckets()["Buckets"]}:
                s3.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": REGION})
            s3.put_object(Bucket=bucket, Key=destination["objectKey"],
                          Body=_zip(synth.outdir / asset["source"]["path"]))


def _for_moto(template: dict) -> dict:
    """moto's CloudFormation reads a KMS key's tags in the KMS API's spelling (TagKey/TagValue), not
    CloudFormation's (Key/Value), and an SSM parameter's as a list, not CloudFormation's map: respell them, and
    change nothing else."""
    for resource in template["Resources"].values():
        if resource["Type"] == "AWS::KMS::Key" and "Tags" in resource["Properties"]:
            resource["Properties"]["Tags"] = [{"TagKey": t["Key"], "TagValue": t["Value"]}
                                              for t in resource["Properties"]["Tags"]]
        if resource["Type"] == "AWS::SSM::Parameter" and "Tags" in resource["Properties"]:
            resource["Properties"]["Tags"] = [{"Key": k, "Value": v} for k, v in resource["Properties"]["Tags"].items()]
    return template


@pytest.fixture(scope="module")
def deployed(dev: Synth):
    with pytest.MonkeyPatch.context() as env, mock_aws():
        # fake credentials and a fixed region: nothing here may reach real AWS
        for key, value in {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
                           "AWS_SESSION_TOKEN": "testing", "AWS_DEFAULT_REGION": REGION}.items():
            env.setenv(key, value)
        boto3.client("ssm").put_parameter(Name="/cdk-bootstrap/hnb659fds/version", Value="30", Type="String")
        cloudformation = boto3.client("cloudformation")
        for stack in STACKS:  # the platform first, as its dependency says
            _publish_assets(dev, stack)
            template = _for_moto(json.loads((dev.outdir / f"{stack}.template.json").read_text()))
            cloudformation.create_stack(StackName=stack, TemplateBody=json.dumps(template),
                                        Capabilities=["CAPABILITY_NAMED_IAM"])
        yield cloudformation


def test_both_stacks_are_created(deployed):
    for stack in STACKS:
        (described,) = deployed.describe_stacks(StackName=stack)["Stacks"]
        assert described["StackStatus"] == "CREATE_COMPLETE", described.get("StackStatusReason")


def test_functions_settings_name_the_table_machines_and_job_roles_the_stacks_created(deployed):
    lambda_, iam, sfn = boto3.client("lambda"), boto3.client("iam"), boto3.client("stepfunctions")
    machines = {m["name"]: m["stateMachineArn"] for m in sfn.list_state_machines()["stateMachines"]}
    assert sorted(machines) == ["sluice-dev-daily-sales-etl", "sluice-dev-marketing-attribution",
                                "sluice-dev-ml-training"]
    for name in ("dispatch", "complete", "record", "sweep", "api", "start"):
        config = lambda_.get_function_configuration(FunctionName=f"sluice-dev-{name}")
        assert config["Handler"] == f"functions.{name}.handler.handler"
        settings = Settings.from_env(config["Environment"]["Variables"])  # as the function does at cold start
        assert settings.table_name == "sluice-dev-runs"
        for pipeline in ("daily-sales-etl", "ml-training"):
            assert f"{settings.state_machine_arn_prefix}{pipeline}" == machines[f"sluice-dev-{pipeline}"]
            role = iam.get_role(RoleName=f"sluice-dev-{pipeline}")["Role"]
            assert f"{settings.job_role_arn_prefix}{pipeline}" == role["Arn"]
            assert role["Path"] == "/sluice-dev-jobs/"


def test_run_store_table_has_the_runtime_indexes(deployed):
    table = boto3.client("dynamodb").describe_table(TableName="sluice-dev-runs")["Table"]
    assert {i["IndexName"] for i in table["GlobalSecondaryIndexes"]} == set(INDEXES)
    assert table["BillingModeSummary"]["BillingMode"] == "PAY_PER_REQUEST"


def test_job_end_and_trigger_rules_exist_with_their_patterns(deployed):
    events = boto3.client("events")
    rules = {r["Name"]: r for r in events.list_rules(NamePrefix="sluice-dev-")["Rules"]}
    assert {"sluice-dev-executions", "sluice-dev-sweep", "sluice-dev-marketing-attribution-trigger-0",
            "sluice-dev-pipelines-1-glue-ended", "sluice-dev-pipelines-1-ecs-ended"} <= set(rules)
    glue = json.loads(rules["sluice-dev-pipelines-1-glue-ended"]["EventPattern"])
    assert glue["detail"]["state"] == ["SUCCEEDED", "FAILED", "TIMEOUT", "STOPPED", "ERROR"]
    (target,) = events.list_targets_by_rule(Rule="sluice-dev-pipelines-1-glue-ended")["Targets"]
    assert target["Arn"] == f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:sluice-dev-complete"
    # a trigger rule invokes the start function the platform stack created, by its fixed name
    (target,) = events.list_targets_by_rule(Rule="sluice-dev-marketing-attribution-trigger-0")["Targets"]
    assert target["Arn"] == f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:sluice-dev-start"
    assert "RoleArn" not in target
    boto3.client("lambda").get_function(FunctionName=target["Arn"])


def test_the_run_api_reads_the_catalog_the_pipeline_stacks_wrote(deployed):
    # GIVEN the api function's CATALOG_PATH WHEN listed by path, as the API does THEN every pipeline's spec is there
    env = boto3.client("lambda").get_function_configuration(FunctionName="sluice-dev-api")["Environment"]["Variables"]
    assert env["CATALOG_PATH"] == "/sluice/dev/pipelines/"
    pages = boto3.client("ssm").get_paginator("get_parameters_by_path").paginate(Path=env["CATALOG_PATH"])
    entries = {p["Name"].removeprefix(env["CATALOG_PATH"]): p["Value"] for page in pages for p in page["Parameters"]}
    assert {name: decode(value, name) for name, value in entries.items()} == examples()


def test_the_rest_api_proxies_to_the_api_function_with_iam_auth(deployed):
    apigateway = boto3.client("apigateway")
    (api,) = [a for a in apigateway.get_rest_apis()["items"] if a["name"] == "sluice-dev-api"]
    resources = {r["path"]: r for r in apigateway.get_resources(restApiId=api["id"], embed=["methods"])["items"]}
    assert sorted(resources) == ["/", "/{proxy+}"]
    function = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:sluice-dev-api"
    for resource in resources.values():
        method = apigateway.get_method(restApiId=api["id"], resourceId=resource["id"], httpMethod="ANY")
        assert method["authorizationType"] == "AWS_IAM"
        assert method["methodIntegration"]["type"] == "AWS_PROXY" and function in method["methodIntegration"]["uri"]
    # and the CLI finds its URL among the platform stack's outputs
    (platform,) = deployed.describe_stacks(StackName="sluice-dev-platform")["Stacks"]
    url = endpoint_from_stack_outputs(platform["Outputs"])
    # (moto skips the stage, so the stage name after the host resolves to nothing; test_run_api checks it is v1)
    assert url.startswith(f"https://{api['id']}.execute-api.{REGION}.amazonaws.com/")
