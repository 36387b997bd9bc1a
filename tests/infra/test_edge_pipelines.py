"""Spec features the examples do not use: event triggers on a named bus, templated job names, functions by ARN,
task definitions without a revision, child pipelines, flexible and bounded schedules."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from infra.app import build_app, default_assets
from infra.checks import check
from infra.config import load_env
from sluice.spec import Pipeline
from sluice.spec.checks import check_document
from tests.infra.conftest import Synth

pytestmark = pytest.mark.synth
FN_ARN = "arn:aws:lambda:eu-west-1:210987654321:function:shared-notifier"
NETWORK = {"subnets": ["subnet-1"], "security_groups": ["sg-1"]}

PARENT = {
    "name": "orders-hourly",
    # region names a Glue job and a role: the grants name exactly the jobs and roles of these values
    "params": {"region": {"type": "string", "default": "eu", "allowed": ["eu", "us", "apac"]}},
    "schedules": [{"rate": "1 hour", "flexible_window": "15m", "end": "2027-06-30T00:00:00", "timezone": "Asia/Tokyo"},
                  {"cron": "0 9 * * 1", "enabled": False, "params": {"region": "us"}},
                  {"rate": "1 day", "start": "2026-01-01", "end": "2026-06-01"},  # over by NOW
                  {"rate": "2 days", "start": "2026-01-01", "end": "2030-01-01"}],  # started before NOW
    "triggers": [{"event": {"bus": "orders", "pattern": {"source": ["shop.orders"], "detail-type": ["OrderPlaced"]}},
                  "params": {"region": "apac"}}],
    "tasks": {
        "extract": {"glue": {"job": "etl-{{ params.region }}-extract"}},
        "load": {"depends_on": ["extract"], "ecs": {"cluster": "loaders", "task_definition": "loader",
                                                    "network": NETWORK}},
        "spark": {"depends_on": ["extract"], "emr_serverless": {
            "application_id": "00fabc123def4567", "entry_point": "s3://code/m.py",
            "execution_role_arn": "arn:aws:iam::123456789012:role/etl-{{ params.region }}"}},
        "child": {"depends_on": ["load"], "pipeline": {"name": "orders-rollup"}},
        "notify": {"depends_on": ["child"], "lambda": {"function": FN_ARN}},
        "audit": {"depends_on": ["child"], "lambda": {"function": "audit-log:prod"}},
    },
}
CHILD = {"name": "orders-rollup", "tasks": {"rollup": {"glue": {"job": "orders-rollup"}}}}


@pytest.fixture(scope="module")
def edge(tmp_path_factory: pytest.TempPathFactory) -> Synth:
    pipelines = {p["name"]: Pipeline.model_validate(p) for p in (PARENT, CHILD)}
    config = load_env("dev")
    outdir = tmp_path_factory.mktemp("cdk-edge")
    built = build_app(pipelines, config, assets=default_assets(config.architecture), outdir=str(outdir),
                      now=dt.datetime(2026, 11, 29, tzinfo=dt.UTC))
    built.app.synth()  # cdk-nag passes: every wildcard these names need is acknowledged with its reason
    return Synth(built, outdir)


def _by_name(edge: Synth, kind: str, key: str = "Name") -> dict[str, dict]:
    return {r["Properties"][key]: r["Properties"] for r in edge.resources("sluice-dev-pipelines-1", kind).values()}


def test_event_trigger_listens_on_its_bus_with_its_pattern_and_params(edge):
    rule = _by_name(edge, "AWS::Events::Rule")["sluice-dev-orders-hourly-trigger-0"]
    assert rule["EventBusName"] == "orders"
    assert rule["EventPattern"] == {"source": ["shop.orders"], "detail-type": ["OrderPlaced"]}
    (target,) = rule["Targets"]
    # the start function, which the platform lets rules on any bus invoke (rule/<bus>/<name>): no role
    assert target["Arn"]["Fn::Join"][1][-1] == ":function:sluice-dev-start" and "RoleArn" not in target
    filled = target["InputTransformer"]["InputTemplate"].replace("<aws.events.event.json>", '{"id": "e-1"}')
    assert json.loads(filled) == {"pipeline": "orders-hourly", "trigger_index": 0, "params": {"region": "apac"},
                                  "rule": "sluice-dev-orders-hourly-trigger-0", "event": {"id": "e-1"}}


def test_one_queue_statement_takes_every_sluice_rule_on_any_bus(edge):
    # CDK's targets would add a statement per rule (SQS allows 20): one covers default-bus and custom-bus rules
    (policy,) = edge.resources("sluice-dev-pipelines-1", "AWS::SQS::QueuePolicy").values()
    (allow,) = [s for s in policy["Properties"]["PolicyDocument"]["Statement"] if s["Effect"] == "Allow"]
    assert allow["Principal"] == {"Service": "events.amazonaws.com"} and allow["Action"] == "sqs:SendMessage"
    sources = [arn["Fn::Join"][1][-1] for arn in allow["Condition"]["ArnLike"]["aws:SourceArn"]]
    assert sources == [":rule/sluice-dev-*", ":rule/*/sluice-dev-*"]  # rule/<name>, rule/<bus>/<name>
    rules = _by_name(edge, "AWS::Events::Rule")
    assert rules["sluice-dev-orders-hourly-trigger-0"]["Targets"][0]["DeadLetterConfig"]["Arn"] == {
        "Fn::GetAtt": [next(k for k in edge.resources("sluice-dev-pipelines-1", "AWS::SQS::Queue")), "Arn"]}


def test_flexible_bounded_and_disabled_schedules(edge):
    schedules = _by_name(edge, "AWS::Scheduler::Schedule")
    hourly, weekly = schedules["sluice-dev-orders-hourly-0"], schedules["sluice-dev-orders-hourly-1"]
    assert hourly["FlexibleTimeWindow"] == {"Mode": "FLEXIBLE", "MaximumWindowInMinutes": 15}
    assert hourly["ScheduleExpressionTimezone"] == "Asia/Tokyo"
    assert hourly["EndDate"] == "2027-06-29T15:00:00.000Z"  # midnight in Tokyo
    assert weekly["State"] == "DISABLED"
    assert weekly["ScheduleExpression"] == "cron(0 9 ? * 2 *)"  # Unix Monday (1) is EventBridge's 2
    assert json.loads(weekly["Target"]["Input"])["params"] == {"region": "us"}
    # Scheduler refuses start and end dates in the past: a schedule that ended is deployed disabled, one that
    # started is deployed without its start date (it is in effect)
    ended, started = schedules["sluice-dev-orders-hourly-2"], schedules["sluice-dev-orders-hourly-3"]
    assert ended["State"] == "DISABLED" and "EndDate" not in ended and "StartDate" not in ended
    assert started["State"] == "ENABLED" and "StartDate" not in started
    assert started["EndDate"] == "2030-01-01T00:00:00.000Z"  # the schedule's time zone is UTC


def test_templated_names_become_exactly_their_allowed_values_in_rules_and_grants(edge):
    assert list(check_document(PARENT)) == []  # the file checks accept it: region declares its allowed values
    rules = _by_name(edge, "AWS::Events::Rule")
    glue = rules["sluice-dev-pipelines-1-glue-ended"]["EventPattern"]["detail"]["jobName"]
    assert glue == ["etl-apac-extract", "etl-eu-extract", "etl-us-extract", "orders-rollup"]
    assert "sluice-dev-pipelines-1-lambda-ended" not in rules  # Lambda delivers results to `complete` itself
    (config,) = edge.resources("sluice-dev-pipelines-1", "AWS::Lambda::EventInvokeConfig").values()
    assert (config["Properties"]["FunctionName"], config["Properties"]["Qualifier"]) == ("audit-log", "prod")
    roles = {k: r for k, r in edge.resources("sluice-dev-pipelines-1", "AWS::IAM::Policy").items()
             if k.startswith("ordershourlyJobsRole")}
    (policy,) = roles.values()
    statements = {s["Sid"]: s for s in policy["Properties"]["PolicyDocument"]["Statement"]}
    assert [r["Fn::Join"][1][-1] for r in statements["GlueJobs"]["Resource"]] == [
        ":job/etl-apac-extract", ":job/etl-eu-extract", ":job/etl-us-extract"]
    assert statements["EmrServerlessRoles"]["Resource"] == [
        f"arn:aws:iam::123456789012:role/etl-{r}" for r in ("apac", "eu", "us")]
    assert "*" not in json.dumps([statements["GlueJobs"], statements["EmrServerlessRoles"]])
    assert statements["EcsRunTask"]["Resource"]["Fn::Join"][1][-1] == ":task-definition/loader:*"
    by_arn, alias_arn = statements["LambdaTasks"]["Resource"]
    assert by_arn == FN_ARN and alias_arn["Fn::Join"][1][-1] == ":function:audit-log:prod"
    assert statements["ChildPipelinesStart"]["Resource"]["Fn::Join"][1][-1] == ":stateMachine:sluice-dev-orders-rollup"
    # a function by ARN may be another account's: Sluice does not set its destinations, and says so before synth
    warnings = check({"orders-hourly": Pipeline.model_validate(PARENT)}, load_env("dev")).warnings
    assert [w.split(":")[0] for w in warnings] == ["pipeline 'orders-hourly', task 'load'",
                                                   "pipeline 'orders-hourly', task 'notify'"]
    assert "no 'roles' listed" in warnings[0] and FN_ARN in warnings[1]
