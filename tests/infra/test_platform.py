"""The platform stack: run store, Sluice's functions, their grants, the execution rule and the alarm topic."""

from __future__ import annotations

import pytest
from aws_cdk.assertions import Match

from sluice.run_store_schema import INDEXES

pytestmark = pytest.mark.synth
PLATFORM = "sluice-dev-platform"
HANDLERS = {"dispatch", "complete", "record", "sweep", "api", "start"}


def _statements(synth, stack: str, role_logical_prefix: str) -> list[dict]:
    policies = synth.resources(stack, "AWS::IAM::Policy")
    (policy,) = [p for k, p in policies.items() if k.startswith(role_logical_prefix)]
    return policy["Properties"]["PolicyDocument"]["Statement"]


def test_run_store_is_on_demand_encrypted_recoverable_with_ttl_and_the_runtime_indexes(dev):
    t = dev.assertions(PLATFORM)
    t.resource_count_is("AWS::DynamoDB::Table", 1)
    t.has_resource("AWS::DynamoDB::Table", {"DeletionPolicy": "Delete", "Properties": {
        "TableName": "sluice-dev-runs", "BillingMode": "PAY_PER_REQUEST",
        "SSESpecification": {"SSEEnabled": True},
        "PointInTimeRecoverySpecification": {"PointInTimeRecoveryEnabled": True},
        "TimeToLiveSpecification": {"AttributeName": "expires_at", "Enabled": True},
        "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}]}})
    (table,) = dev.resources(PLATFORM, "AWS::DynamoDB::Table").values()
    indexes = {i["IndexName"]: [k["AttributeName"] for k in i["KeySchema"]]
               for i in table["Properties"]["GlobalSecondaryIndexes"]}
    assert indexes == {name: [h, *([r] if r else [])] for name, (h, r) in INDEXES.items()}


def test_prod_keeps_state_when_the_stack_goes(prod):
    t = prod.assertions("sluice-prod-platform")
    t.has_resource("AWS::DynamoDB::Table", {"DeletionPolicy": "Retain", "UpdateReplacePolicy": "Retain",
                                            "Properties": {"DeletionProtectionEnabled": True}})
    t.has_resource("AWS::Logs::LogGroup", {"DeletionPolicy": "Retain", "Properties": {"RetentionInDays": 365}})
    t.has_resource_properties("AWS::SNS::Subscription", {"Protocol": "email",
                                                         "Endpoint": "data-platform-oncall@example.com"})
    stack = prod.built.platform
    assert (stack.account, stack.region) == ("123456789012", "eu-central-1")
    t.has_resource_properties("AWS::DynamoDB::Table", {"Tags": Match.array_with([
        {"Key": "cost-center", "Value": "4711"}])})
    t.has_resource_properties("AWS::Lambda::Function", {"ReservedConcurrentExecutions": 50,
                                                       "FunctionName": "sluice-prod-dispatch"})


def test_functions_run_the_handlers_with_settings_logs_and_tracing(dev):
    functions = dev.resources(PLATFORM, "AWS::Lambda::Function")
    by_name = {f["Properties"]["FunctionName"].removeprefix("sluice-dev-"): f["Properties"] for f in functions.values()}
    assert set(by_name) == HANDLERS
    for name, props in by_name.items():
        assert props["Handler"] == f"functions.{name}.handler.handler"
        assert props["Runtime"] == "python3.14" and props["Architectures"] == ["arm64"]
        assert props["TracingConfig"] == {"Mode": "Active"}
        env = props["Environment"]["Variables"]
        assert {"RUN_TABLE", "STATE_MACHINE_ARN_PREFIX", "JOB_ROLE_ARN_PREFIX", "POWERTOOLS_SERVICE_NAME",
                "PYDANTIC_DISABLE_PLUGINS"} <= set(env)
        assert env["RUN_TABLE"]["Ref"].startswith("RunStoreTable")
        assert len(props["Layers"]) == 1
    assert by_name["sweep"]["ReservedConcurrentExecutions"] == 1
    assert "ReservedConcurrentExecutions" not in by_name["dispatch"]  # dev: no bound
    t = dev.assertions(PLATFORM)
    # one per function, and the run API's access and execution logs
    t.resource_properties_count_is("AWS::Logs::LogGroup", {"RetentionInDays": 14}, len(HANDLERS) + 2)
    assert by_name["api"]["Timeout"] == 29 and by_name["api"]["MemorySize"] == 512  # API Gateway waits 29 s
    assert by_name["api"]["Environment"]["Variables"]["CATALOG_PATH"] == "/sluice/dev/pipelines/"
    assert all("CATALOG_PATH" not in by_name[n]["Environment"]["Variables"] for n in HANDLERS - {"api"})
    # complete, record and start are invoked asynchronously: two retries, then the dead-letter queue
    t.resource_count_is("AWS::Lambda::EventInvokeConfig", 3)
    t.has_resource_properties("AWS::Lambda::EventInvokeConfig", {
        "MaximumRetryAttempts": 2, "DestinationConfig": {"OnFailure": {"Destination": Match.any_value()}}})


def test_dispatch_may_do_exactly_what_it_needs(dev):
    statements = {s.get("Sid", s["Action"][0].split(":")[0] if isinstance(s["Action"], list) else s["Action"]): s
                  for s in _statements(dev, PLATFORM, "RuntimeDispatchRole")}
    assert sorted(statements) == ["PipelineJobRoles", "RunStore", "SluiceExecutions", "TaskTokens", "logs", "xray"]
    assert statements["RunStore"]["Action"] == ["dynamodb:DeleteItem", "dynamodb:GetItem", "dynamodb:PutItem",
                                                "dynamodb:Query", "dynamodb:UpdateItem"]
    resources = [r["Fn::Join"][1][-1] if "Fn::Join" in r else "table" for r in statements["RunStore"]["Resource"]]
    assert sorted(resources) == sorted(["table", *(f"/index/{i}" for i in INDEXES)])  # no index/* wildcard
    assert statements["PipelineJobRoles"]["Action"] == "sts:AssumeRole"
    assert ":role/sluice-dev-jobs/*" in str(statements["PipelineJobRoles"]["Resource"])
    assert statements["TaskTokens"]["Resource"] == "*"
    # record writes run items and reads a run's items to price it: no deletes, no puts, no job roles, no task tokens
    record = {s.get("Sid") for s in _statements(dev, PLATFORM, "RuntimeRecordRole")}
    assert "PipelineJobRoles" not in record and "TaskTokens" not in record
    (run_store,) = [s for s in _statements(dev, PLATFORM, "RuntimeRecordRole") if s.get("Sid") == "RunStore"]
    assert run_store["Action"] == ["dynamodb:GetItem", "dynamodb:Query", "dynamodb:UpdateItem"]
    # only record reads execution histories (functions/record/cost.py)
    (executions,) = [s for s in _statements(dev, PLATFORM, "RuntimeRecordRole") if s.get("Sid") == "SluiceExecutions"]
    assert "states:GetExecutionHistory" in executions["Action"]
    assert "states:GetExecutionHistory" not in statements["SluiceExecutions"]["Action"]
    # and announces run ends on the default bus, nowhere else
    (notices,) = [s for s in _statements(dev, PLATFORM, "RuntimeRecordRole") if s.get("Sid") == "RunNotices"]
    assert notices["Action"] == "events:PutEvents"
    assert notices["Resource"]["Fn::Join"][1][-1] == ":event-bus/default"


def test_start_may_start_and_describe_sluice_runs_and_nothing_else(dev):
    # no run store: it only starts runs, and finds the run an earlier delivery started by its name
    statements = _statements(dev, PLATFORM, "RuntimeStartRole")
    by_sid = {s["Sid"]: s for s in statements if "Sid" in s}
    assert sorted(by_sid) == ["SluiceExecutions", "StartRuns"]
    assert by_sid["StartRuns"]["Action"] == "states:StartExecution"
    assert by_sid["StartRuns"]["Resource"]["Fn::Join"][1][-1] == ":stateMachine:sluice-dev-*"
    assert by_sid["SluiceExecutions"]["Action"] == "states:DescribeExecution"
    assert by_sid["SluiceExecutions"]["Resource"]["Fn::Join"][1][-1] == ":execution:sluice-dev-*:*"
    # the rest: its logs, X-Ray, and the dead-letter queue of its asynchronous invocations
    others = sorted(a for s in statements if "Sid" not in s for a in s["Action"])
    assert others == ["logs:CreateLogStream", "logs:PutLogEvents", "sqs:GetQueueAttributes", "sqs:GetQueueUrl",
                      "sqs:SendMessage", "xray:PutTelemetryRecords", "xray:PutTraceSegments"]
    functions = dev.resources(PLATFORM, "AWS::Lambda::Function")
    (start,) = [f["Properties"] for f in functions.values() if f["Properties"]["FunctionName"] == "sluice-dev-start"]
    assert (start["Timeout"], start["MemorySize"]) == (30, 256) and "ReservedConcurrentExecutions" not in start


def test_no_action_anywhere_is_a_wildcard(dev):
    for stack in dev.stacks():
        for kind in ("AWS::IAM::Policy", "AWS::IAM::ManagedPolicy"):
            for policy in dev.resources(stack, kind).values():
                for statement in policy["Properties"]["PolicyDocument"]["Statement"]:
                    actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
                    assert all("*" not in a for a in actions), (stack, statement)


def test_executions_of_sluice_machines_feed_record_and_complete(dev):
    t = dev.assertions(PLATFORM)
    t.has_resource_properties("AWS::Events::Rule", {
        "Name": "sluice-dev-executions",
        "EventPattern": {"source": ["aws.states"], "detail-type": ["Step Functions Execution Status Change"],
                         "detail": {"stateMachineArn": [{"prefix": Match.any_value()}]}},
        "Targets": Match.array_with([Match.object_like({"RetryPolicy": {"MaximumRetryAttempts": 8,
                                                                        "MaximumEventAgeInSeconds": 21600}})])})
    t.has_resource_properties("AWS::Events::Rule", {"Name": "sluice-dev-sweep",
                                                    "ScheduleExpression": "rate(5 minutes)"})
    # one permission lets every job-end rule of the pipeline stacks (all named sluice-dev-*) invoke complete
    t.has_resource_properties("AWS::Lambda::Permission", {
        "Principal": "events.amazonaws.com",
        "SourceArn": {"Fn::Join": ["", Match.array_with([":rule/sluice-dev-*"])]}})
    # and two let every trigger rule, on the default bus or a pipeline's own, invoke start
    permissions = [p["Properties"] for p in dev.resources(PLATFORM, "AWS::Lambda::Permission").values()
                   if p["Properties"]["FunctionName"]["Fn::GetAtt"][0].startswith("RuntimeStart")]
    assert sorted(p["SourceArn"]["Fn::Join"][1][-1] for p in permissions) == [":rule/*/sluice-dev-*",
                                                                              ":rule/sluice-dev-*"]
    assert all(p["Principal"] == "events.amazonaws.com" for p in permissions)


def test_alarm_topic_takes_cloudwatch_alarms_over_tls(dev):
    t = dev.assertions(PLATFORM)
    # encrypted with a rotated customer key that CloudWatch may use (it cannot use the AWS-managed SNS key)
    t.has_resource_properties("AWS::SNS::Topic", {"TopicName": "sluice-dev-alarms",
                                                  "KmsMasterKeyId": {"Fn::GetAtt": [Match.string_like_regexp(
                                                      "AlarmKey"), "Arn"]}})
    t.has_resource_properties("AWS::KMS::Key", {"EnableKeyRotation": True, "KeyPolicy": {"Statement": Match.array_with([
        Match.object_like({"Sid": "CloudWatchAlarms", "Principal": {"Service": "cloudwatch.amazonaws.com"},
                           "Action": ["kms:Decrypt", "kms:GenerateDataKey*"]})])}})
    for statement in ({"Sid": "CloudWatchAlarms", "Principal": {"Service": "cloudwatch.amazonaws.com"}},
                      {"Effect": "Deny", "Condition": {"Bool": {"aws:SecureTransport": "false"}}}):
        t.has_resource_properties("AWS::SNS::TopicPolicy", {"PolicyDocument": {"Statement": Match.array_with([
            Match.object_like(statement)])}})
