"""Spec features the examples do not use: event triggers on a named bus, templated job names, functions by ARN,
task definitions without a revision, child pipelines, flexible and bounded schedules."""

from __future__ import annotations

import json

import pytest

from infra.app import build_app, default_assets
from infra.checks import check
from infra.config import load_env
from sluice.spec import Pipeline
from tests.infra.conftest import Synth

pytestmark = pytest.mark.synth
FN_ARN = "arn:aws:lambda:eu-west-1:210987654321:function:shared-notifier"
NETWORK = {"subnets": ["subnet-1"], "security_groups": ["sg-1"]}

PARENT = {
    "name": "orders-hourly",
    "params": {"region": {"type": "string", "default": "eu"}},
    "schedules": [{"rate": "1 hour", "flexible_window": "15m", "end": "2027-06-30T00:00:00", "timezone": "Asia/Tokyo"},
                  {"cron": "0 9 * * 1", "enabled": False, "params": {"region": "us"}}],
    "triggers": [{"event": {"bus": "orders", "pattern": {"source": ["shop.orders"], "detail-type": ["OrderPlaced"]}},
                  "params": {"region": "apac"}}],
    "tasks": {
        "extract": {"glue": {"job": "etl-{{ params.region }}-extract"}},
        "load": {"depends_on": ["extract"], "ecs": {"cluster": "loaders", "task_definition": "loader",
                                                    "network": NETWORK}},
        "child": {"depends_on": ["load"], "pipeline": {"name": "orders-rollup"}},
        "notify": {"depends_on": ["child"], "lambda": {"function": FN_ARN}},
    },
}
CHILD = {"name": "orders-rollup", "tasks": {"rollup": {"glue": {"job": "orders-rollup"}}}}


@pytest.fixture(scope="module")
def edge(tmp_path_factory: pytest.TempPathFactory) -> Synth:
    pipelines = {p["name"]: Pipeline.model_validate(p) for p in (PARENT, CHILD)}
    config = load_env("dev")
    outdir = tmp_path_factory.mktemp("cdk-edge")
    built = build_app(pipelines, config, assets=default_assets(config.architecture), outdir=str(outdir))
    built.app.synth()  # cdk-nag passes: every wildcard these names need is acknowledged with its reason
    return Synth(built, outdir)


def _by_name(edge: Synth, kind: str, key: str = "Name") -> dict[str, dict]:
    return {r["Properties"][key]: r["Properties"] for r in edge.resources("sluice-dev-pipelines-1", kind).values()}


def test_event_trigger_listens_on_its_bus_with_its_pattern_and_params(edge):
    rule = _by_name(edge, "AWS::Events::Rule")["sluice-dev-orders-hourly-trigger-0"]
    assert rule["EventBusName"] == "orders"
    assert rule["EventPattern"] == {"source": ["shop.orders"], "detail-type": ["OrderPlaced"]}
    template = rule["Targets"][0]["InputTransformer"]["InputTemplate"]
    assert template.startswith('{"params":{"region":"apac"},"logical_date":<time>,')


def test_flexible_bounded_and_disabled_schedules(edge):
    schedules = _by_name(edge, "AWS::Scheduler::Schedule")
    hourly, weekly = schedules["sluice-dev-orders-hourly-0"], schedules["sluice-dev-orders-hourly-1"]
    assert hourly["FlexibleTimeWindow"] == {"Mode": "FLEXIBLE", "MaximumWindowInMinutes": 15}
    assert hourly["ScheduleExpressionTimezone"] == "Asia/Tokyo"
    assert hourly["EndDate"] == "2027-06-29T15:00:00.000Z"  # midnight in Tokyo
    assert weekly["State"] == "DISABLED"
    assert weekly["ScheduleExpression"] == "cron(0 9 ? * 2 *)"  # Unix Monday (1) is EventBridge's 2
    assert json.loads(weekly["Target"]["Input"])["params"] == {"region": "us"}


def test_templated_names_narrow_to_patterns_in_rules_and_grants(edge):
    rules = _by_name(edge, "AWS::Events::Rule")
    glue = rules["sluice-dev-pipelines-1-glue-ended"]["EventPattern"]["detail"]["jobName"]
    assert glue == [{"wildcard": "etl-*-extract"}, "orders-rollup"]
    functions = rules["sluice-dev-pipelines-1-lambda-ended"]["EventPattern"]["detail"]["requestContext"]
    assert functions == {"functionArn": [{"wildcard": f"{FN_ARN}:*"}]}
    roles = {k: r for k, r in edge.resources("sluice-dev-pipelines-1", "AWS::IAM::Policy").items()
             if k.startswith("OrdersHourlyJobsRole")}
    (policy,) = roles.values()
    statements = {s["Sid"]: s for s in policy["Properties"]["PolicyDocument"]["Statement"]}
    assert statements["GlueJobs"]["Resource"]["Fn::Join"][1][-1] == ":job/etl-*-extract"
    assert statements["EcsRunTask"]["Resource"]["Fn::Join"][1][-1] == ":task-definition/loader:*"
    assert statements["LambdaTasks"]["Resource"] == FN_ARN
    assert statements["ChildPipelinesStart"]["Resource"]["Fn::Join"][1][-1] == ":stateMachine:sluice-dev-orders-rollup"
    # the function is another account's: Sluice does not try to set its destinations, and says so before synth
    edge.assertions("sluice-dev-pipelines-1").resource_count_is("AWS::Lambda::EventInvokeConfig", 0)
    warnings = check({"orders-hourly": Pipeline.model_validate(PARENT)}, load_env("dev")).warnings
    assert len(warnings) == 1 and FN_ARN in warnings[0]
