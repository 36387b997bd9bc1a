"""Pipeline stacks: state machines, job roles, schedules, triggers, job-end rules and alarms for the examples."""

from __future__ import annotations

import json
import re

import pytest
from aws_cdk.assertions import Match

from infra.constructs import job_events
from sluice.compile import compile_pipeline
from tests.support.pipelines import examples

pytestmark = pytest.mark.synth
STACK = "sluice-dev-pipelines-1"
PLACEHOLDER = re.compile(r"\$\{([^}]*)\}")


def _machines(synth, stack: str = STACK) -> dict[str, dict]:
    return {m["Properties"]["StateMachineName"].removeprefix("sluice-dev-"): m["Properties"]
            for m in synth.resources(stack, "AWS::StepFunctions::StateMachine").values()}


def _policy_of(synth, role_logical_prefix: str) -> list[dict]:
    (policy,) = [p for k, p in synth.resources(STACK, "AWS::IAM::Policy").items()
                 if k.startswith(role_logical_prefix)]
    return policy["Properties"]["PolicyDocument"]["Statement"]


def test_every_example_ships_its_compiled_definition_with_the_dispatcher_substituted(dev):
    machines = _machines(dev)
    assert sorted(machines) == sorted(examples())
    for name, props in machines.items():
        text = props["DefinitionString"]
        assert isinstance(text, str)  # no CloudFormation functions inside: the definition is exactly the compiled one
        assert json.loads(text) == compile_pipeline(examples()[name]).definition
        assert set(PLACEHOLDER.findall(text)) == set(props["DefinitionSubstitutions"]) == {"DispatchFunctionArn"}
        assert props["DefinitionSubstitutions"]["DispatchFunctionArn"] == {"Fn::Join": ["", [
            "arn:", {"Ref": "AWS::Partition"}, ":lambda:", {"Ref": "AWS::Region"}, ":", {"Ref": "AWS::AccountId"},
            ":function:sluice-dev-dispatch"]]}
        assert props["LoggingConfiguration"]["Level"] == "ALL"
        assert props["LoggingConfiguration"]["IncludeExecutionData"] is False
        assert props["TracingConfiguration"] == {"Enabled": True}


def test_no_unresolved_placeholder_in_any_definition(dev, prod):
    # GIVEN every state machine of every stack WHEN its substitutions are applied THEN no ${...} is left
    for synth in (dev, prod):
        for stack in synth.stacks():
            for machine in synth.resources(stack, "AWS::StepFunctions::StateMachine").values():
                props = machine["Properties"]
                substituted = set(props.get("DefinitionSubstitutions", {}))
                left = set(PLACEHOLDER.findall(props["DefinitionString"])) - substituted
                assert not left, (stack, props["StateMachineName"], left)


def test_a_state_machine_may_only_invoke_the_dispatcher(dev):
    statements = _policy_of(dev, "dailysalesetlRole")
    (dispatch,) = [s for s in statements if s.get("Sid") == "Dispatch"]
    assert dispatch["Action"] == "lambda:InvokeFunction"
    assert dispatch["Resource"]["Fn::Join"][1][-1] == ":function:sluice-dev-dispatch"
    # the rest is what Step Functions needs for logs and X-Ray, which have no resource type
    others = [s for s in statements if s.get("Sid") != "Dispatch"]
    assert {a.split(":")[0] for s in others for a in s["Action"]} == {"logs", "xray"}
    assert all(s["Resource"] == "*" for s in others)


def test_job_role_allows_exactly_the_pipelines_jobs(dev):
    # GIVEN daily-sales-etl WHEN its job role is synthesized THEN it holds exactly these statements
    statements = {s["Sid"]: s for s in _policy_of(dev, "dailysalesetlJobsRole")}
    assert sorted(statements) == ["EcsListTasks", "EcsRunTask", "EcsTaskRoles", "EcsTasks", "EmrServerlessJobs",
                                  "EmrServerlessRoles", "GlueJobs", "LambdaTasks"]
    glue = statements["GlueJobs"]
    assert glue["Action"] == ["glue:BatchStopJobRun", "glue:GetJobRun", "glue:GetJobRuns", "glue:StartJobRun"]
    assert [r["Fn::Join"][1][-1] for r in glue["Resource"]] == [
        ":job/sales-extract-orders", ":job/sales-rebuild-dimensions"]
    assert statements["EcsRunTask"]["Resource"]["Fn::Join"][1][-1] == ":task-definition/warehouse-loader:12"
    assert statements["EcsTaskRoles"] == {
        "Sid": "EcsTaskRoles", "Action": "iam:PassRole", "Effect": "Allow",
        "Condition": {"StringEquals": {"iam:PassedToService": ["ecs-tasks.amazonaws.com"]}},
        "Resource": ["arn:aws:iam::123456789012:role/warehouse-loader-execution",
                     "arn:aws:iam::123456789012:role/warehouse-loader-task"]}
    assert statements["LambdaTasks"]["Resource"]["Fn::Join"][1][-1] == ":function:sales-notify"
    roles = dev.resources(STACK, "AWS::IAM::Role")
    (job_role,) = [r["Properties"] for k, r in roles.items() if k.startswith("dailysalesetlJobsRole")]
    assert job_role["RoleName"] == "sluice-dev-daily-sales-etl" and job_role["Path"] == "/sluice-dev-jobs/"
    principals = [p for s in job_role["AssumeRolePolicyDocument"]["Statement"] for p in (
        s["Principal"]["AWS"] if isinstance(s["Principal"]["AWS"], list) else [s["Principal"]["AWS"]])]
    trusted = [p["Fn::Join"][1][-1] for p in principals]
    # api stops a cancelled run's jobs as the pipeline's role; record never reaches jobs
    assert sorted(trusted) == [":role/sluice-dev-runtime.api", ":role/sluice-dev-runtime.complete",
                               ":role/sluice-dev-runtime.dispatch", ":role/sluice-dev-runtime.sweep"]


def test_schedule_runs_in_the_pipeline_time_zone_with_the_scheduled_time_as_logical_date(dev):
    t = dev.assertions(STACK)
    t.has_resource_properties("AWS::Scheduler::Schedule", {
        "Name": "sluice-dev-daily-sales-etl-0", "ScheduleExpression": "cron(30 2 * * ? *)",
        "ScheduleExpressionTimezone": "Europe/Berlin", "State": "ENABLED",
        "StartDate": "2025-12-31T23:00:00.000Z",  # 2026-01-01 00:00 in Berlin
        "FlexibleTimeWindow": {"Mode": "OFF"},
        "Target": Match.object_like({"RetryPolicy": {"MaximumRetryAttempts": 10, "MaximumEventAgeInSeconds": 14400},
                                     "DeadLetterConfig": {"Arn": Match.any_value()}})})
    schedules = {s["Properties"]["Name"]: s["Properties"]
                 for s in dev.resources(STACK, "AWS::Scheduler::Schedule").values()}
    target = schedules["sluice-dev-daily-sales-etl-0"]["Target"]
    # Scheduler invokes the start function, which names the run after (schedule, scheduled time)
    assert target["Arn"]["Fn::Join"][1][-1] == ":function:sluice-dev-start"
    delivery = json.loads(target["Input"])
    assert (delivery["pipeline"], delivery["schedule"], delivery["params"]) == ("daily-sales-etl", 0, {})
    assert delivery["logical_date"] == "<aws.scheduler.scheduled-time>"
    assert delivery["trigger"] == {"type": "schedule", "schedule": 0, "expression": "cron(30 2 * * ? *)",
                                   "timezone": "Europe/Berlin", "schedule_arn": "<aws.scheduler.schedule-arn>",
                                   "attempt": "<aws.scheduler.attempt-number>"}
    assert schedules["sluice-dev-marketing-attribution-0"]["ScheduleExpression"] == "rate(6 hours)"


def test_schedule_delivery_makes_the_run_input_the_state_machine_received_before(dev):
    # GIVEN the delivery as Scheduler fills it WHEN the start function parses it THEN the run input is the one
    # Scheduler used to send StartExecution itself (sluice.contract.RunInput), and the name is the tick's
    from functions.adapters.starts import execution_name
    from functions.start.service import parse_start
    from sluice.contract import RunInput

    schedules = {s["Properties"]["Name"]: s["Properties"]
                 for s in dev.resources(STACK, "AWS::Scheduler::Schedule").values()}
    text = (schedules["sluice-dev-daily-sales-etl-0"]["Target"]["Input"]
            .replace("<aws.scheduler.scheduled-time>", "2026-11-29T01:30:00Z")
            .replace("<aws.scheduler.schedule-arn>", "arn:s").replace("<aws.scheduler.attempt-number>", "2"))
    request = parse_start(json.loads(text))
    assert RunInput.model_validate(request.run_input).logical_date == "2026-11-29T01:30:00Z"
    assert request.run_input == {"params": {}, "logical_date": "2026-11-29T01:30:00Z", "trigger": {
        "type": "schedule", "schedule": 0, "expression": "cron(30 2 * * ? *)", "timezone": "Europe/Berlin",
        "schedule_arn": "arn:s", "attempt": "2"}}
    assert request.name == execution_name("schedule", "daily-sales-etl", "0", "2026-11-29T01:30:00Z")


def test_scheduler_role_may_invoke_only_the_start_and_sweep_functions(dev):
    # no states:StartExecution any more: Scheduler starts runs through the start function
    statements = _policy_of(dev, "SchedulerRole")
    (invoke,) = [s for s in statements if s["Action"] == "lambda:InvokeFunction"]
    assert sorted(r["Fn::Join"][1][-1] for r in invoke["Resource"]) == [
        ":function:sluice-dev-start", ":function:sluice-dev-start:*", ":function:sluice-dev-sweep",
        ":function:sluice-dev-sweep:*"]
    assert {s["Action"] for s in statements} == {"lambda:InvokeFunction", "sqs:SendMessage"}  # and its DLQ
    assert not any(k.startswith("EventsRole") for k in dev.resources(STACK, "AWS::IAM::Role"))
    for key, policy in dev.resources(STACK, "AWS::IAM::Policy").items():  # job roles start child pipelines
        assert "JobsRole" in key or "states:StartExecution" not in json.dumps(policy), key


def test_s3_trigger_starts_the_run_with_the_event(dev):
    from functions.start.service import parse_start

    rules = {r["Properties"]["Name"]: r["Properties"] for r in dev.resources(STACK, "AWS::Events::Rule").values()}
    trigger = rules["sluice-dev-marketing-attribution-trigger-0"]
    assert trigger["EventPattern"] == {"source": ["aws.s3"], "detail-type": ["Object Created"], "detail": {
        "bucket": {"name": ["acme-ad-spend-drop"]}, "object": {"key": [{"wildcard": "exports/*.csv"}]}}}
    (target,) = trigger["Targets"]
    # the rule invokes the start function (allowed once by the platform stack), which names the run after the event
    assert target["Arn"]["Fn::Join"][1][-1] == ":function:sluice-dev-start" and "RoleArn" not in target
    transformer = target["InputTransformer"]
    assert "InputPathsMap" not in transformer
    # substitute as EventBridge would: the delivery is then valid JSON with the whole event in it
    event = {"source": "aws.s3", "id": "e-1", "time": "2026-11-29T02:30:00Z"}
    delivery = json.loads(transformer["InputTemplate"].replace("<aws.events.event.json>", json.dumps(event)))
    assert delivery == {"pipeline": "marketing-attribution", "trigger_index": 0, "params": {}, "event": event,
                        "rule": "sluice-dev-marketing-attribution-trigger-0"}
    # and the run input the start function makes of it is the one the rule used to send StartExecution itself
    assert parse_start(delivery).run_input == {
        "params": {}, "logical_date": "2026-11-29T02:30:00Z", "event": event,
        "trigger": {"type": "event", "rule": "sluice-dev-marketing-attribution-trigger-0", "event_id": "e-1"}}
    assert target["RetryPolicy"]["MaximumRetryAttempts"] == 10 and "DeadLetterConfig" in target


def test_job_end_rules_are_scoped_to_the_pipelines_jobs_and_end_states(dev):
    rules = {r["Properties"]["Name"]: r["Properties"] for r in dev.resources(STACK, "AWS::Events::Rule").values()}
    glue = rules["sluice-dev-pipelines-1-glue-ended"]
    assert glue["EventPattern"] == {"source": ["aws.glue"], "detail-type": ["Glue Job State Change"], "detail": {
        "jobName": ["ad-spend-ingest", "funnel-report", "sales-extract-orders", "sales-rebuild-dimensions",
                    "web-sessions-ingest"], "state": ["SUCCEEDED", "FAILED", "TIMEOUT", "STOPPED", "ERROR"]}}
    assert rules["sluice-dev-pipelines-1-ecs-ended"]["EventPattern"]["detail"]["lastStatus"] == ["STOPPED"]
    assert rules["sluice-dev-pipelines-1-emr-ended"]["EventPattern"]["detail"]["clusterId"] == ["j-2AXXXXXXGAPLF"]
    assert sorted(rules["sluice-dev-pipelines-1-emr-serverless-ended"]["EventPattern"]["detail"]["applicationId"]) == [
        "00fabc123def4567", "00fabc123def4568"]
    # no rule for Lambda results: Lambda delivers them to `complete` itself (tests/infra/test_lambda_results.py)
    assert "sluice-dev-pipelines-1-lambda-ended" not in rules
    for name in ("glue", "ecs", "emr", "emr-serverless"):
        (target,) = rules[f"sluice-dev-pipelines-1-{name}-ended"]["Targets"]
        assert target["Arn"]["Fn::Join"][1][-1] == ":function:sluice-dev-complete"
        assert target["RetryPolicy"] == {"MaximumRetryAttempts": 8, "MaximumEventAgeInSeconds": 21600}
    # no Lambda permission per rule: the platform stack allows them all at once
    dev.assertions(STACK).resource_count_is("AWS::Lambda::Permission", 0)
    # Lambda task results reach `complete` through the functions' destinations
    configs = {c["Properties"]["FunctionName"] for c in dev.resources(STACK, "AWS::Lambda::EventInvokeConfig").values()}
    assert configs == {"sales-notify", "growth-dashboard-refresh", "growth-temp-cleanup", "forecast-evaluate",
                       "model-registry-register"}


def test_end_states_match_what_complete_reads():
    from functions.events import reduce

    assert set(job_events.GLUE_ENDED) == reduce.GLUE_FAILED | {"SUCCEEDED"}
    assert set(job_events.EMR_ENDED) == reduce.EMR_FAILED | {"COMPLETED"}
    assert set(job_events.EMR_SERVERLESS_ENDED) == reduce.EMR_SERVERLESS_FAILED | {"SUCCESS"}


def test_alarms_come_from_the_spec_and_tell_where_to_look(dev):
    alarms = {a["Properties"]["AlarmName"]: a["Properties"]
              for a in dev.resources(STACK, "AWS::CloudWatch::Alarm").values()}
    # every pipeline: failed runs; daily-sales-etl also max_duration (3h) and aggregate_sales' expected_duration
    # (45m); no example sets a pipeline timeout, so none has a timed-out alarm
    assert sorted(alarms) == sorted([f"sluice-dev-{name}-failed" for name in examples()] + [
        "sluice-dev-daily-sales-etl-over-max-duration", "sluice-dev-daily-sales-etl-deadline-missed",
        "sluice-dev-daily-sales-etl-aggregate_sales-over-expected-duration"])
    failed = alarms["sluice-dev-daily-sales-etl-failed"]
    assert failed["Threshold"] == 1 and failed["TreatMissingData"] == "notBreaching"
    assert {m["Id"] for m in failed["Metrics"] if "MetricStat" in m} == {"failed", "aborted"}
    assert failed["AlarmActions"][0]["Fn::Join"][1][-1] == ":sluice-dev-alarms"
    description = failed["AlarmDescription"]["Fn::Join"][1]
    assert "sluice runs daily-sales-etl" in description[0] and "console.aws.amazon.com/states" in "".join(
        d for d in description if isinstance(d, str))
    slow = alarms["sluice-dev-daily-sales-etl-over-max-duration"]
    assert (slow["Namespace"], slow["MetricName"], slow["Statistic"], slow["Threshold"]) == (
        "Sluice", "RunDuration", "Maximum", 3 * 3600)
    assert slow["Dimensions"] == [{"Name": "pipeline", "Value": "daily-sales-etl"}]
    assert slow["ComparisonOperator"] == "GreaterThanThreshold"
    task = alarms["sluice-dev-daily-sales-etl-aggregate_sales-over-expected-duration"]
    assert (task["MetricName"], task["Threshold"]) == ("TaskDuration", 45 * 60)
    assert task["Dimensions"] == [{"Name": "pipeline", "Value": "daily-sales-etl"},
                                  {"Name": "task", "Value": "aggregate_sales"}]
    late = alarms["sluice-dev-daily-sales-etl-deadline-missed"]
    assert (late["MetricName"], late["Statistic"], late["Threshold"], late["TreatMissingData"]) == (
        "DeadlineMissed", "Maximum", 1, "ignore")  # keeps its state between the check and a late success
    schedules = {s["Properties"]["Name"]: s["Properties"]
                 for s in dev.resources(STACK, "AWS::Scheduler::Schedule").values()}
    check = schedules["sluice-dev-daily-sales-etl-deadline"]
    assert (check["ScheduleExpression"], check["ScheduleExpressionTimezone"]) == ("cron(30 7 * * ? *)",
                                                                                  "Europe/Berlin")
    assert check["Target"]["Arn"]["Fn::Join"][1][-1] == ":function:sluice-dev-sweep"
    assert json.loads(check["Target"]["Input"]) == {"deadline": {
        "pipeline": "daily-sales-etl", "within": 86400, "at": "<aws.scheduler.scheduled-time>"}}
    dashboards = {d["Properties"]["DashboardName"] for d in dev.resources(STACK, "AWS::CloudWatch::Dashboard").values()}
    assert dashboards == {f"sluice-dev-{name}" for name in examples()}
