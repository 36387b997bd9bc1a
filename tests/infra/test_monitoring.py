"""Every metric an alarm or dashboard reads is one the code emits: names checked against the EMF of local runs
(a run that recovers and one that fails), and Step Functions' own metrics."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from tests.infra.conftest import Synth
from tests.integration.test_local_run import run
from tests.integration.test_metrics import emf

pytestmark = [pytest.mark.synth, pytest.mark.moto]
# Step Functions' execution metrics (namespace AWS/States) that the alarms may use.
STATES_METRICS = {"ExecutionsFailed", "ExecutionsAborted", "ExecutionsTimedOut", "ExecutionsSucceeded",
                  "ExecutionsStarted", "ExecutionTime"}
SEARCHED = re.compile(r"\{(\w+),[^}]*\} MetricName=\"(\w+)\"")


def _text(value: Any) -> str:
    """A template string that may be an Fn::Join, with every token as 'X'."""
    if isinstance(value, str):
        return value
    return "".join(part if isinstance(part, str) else "X" for part in value["Fn::Join"][1])


def _referenced(synth: Synth) -> set[tuple[str, str]]:
    """(namespace, metric) read by every dashboard widget and alarm of every stack."""
    found: set[tuple[str, str]] = set()
    for stack in synth.stacks():
        for dashboard in synth.resources(stack, "AWS::CloudWatch::Dashboard").values():
            body = json.loads(_text(dashboard["Properties"]["DashboardBody"]))
            for widget in body["widgets"]:
                for entry in widget["properties"].get("metrics", []):
                    if isinstance(entry[0], dict):  # a math or SEARCH expression
                        found |= set(SEARCHED.findall(entry[0]["expression"]))
                    else:
                        found.add((entry[0], entry[1]))
        for alarm in synth.resources(stack, "AWS::CloudWatch::Alarm").values():
            props = alarm["Properties"]
            if "MetricName" in props:
                found.add((props["Namespace"], props["MetricName"]))
            for metric in props.get("Metrics", []):
                if "MetricStat" in metric:
                    stat = metric["MetricStat"]["Metric"]
                    found.add((stat["Namespace"], stat["MetricName"]))
    return found


@pytest.fixture(scope="module")
def emitted(tmp_path_factory: pytest.TempPathFactory) -> set[str]:
    work = tmp_path_factory.mktemp("emitted")
    recovered = run("daily-sales-etl", work, fail={"aggregate_sales": "1"})
    failed = run("daily-sales-etl", work, fail={"load_warehouse": ""})
    assert (recovered["status"], failed["status"]) == ("SUCCEEDED", "FAILED")
    return {m["name"] for result in (recovered, failed) for m in emf(Path(result["logs"]) / "functions.log")
            if m["namespace"] == "Sluice"}


def test_every_widget_and_alarm_reads_a_metric_the_code_emits(dev, emitted):
    referenced = _referenced(dev)
    sluice = {name for namespace, name in referenced if namespace == "Sluice"}
    assert sluice and sluice <= emitted | {"RunsTimedOut", "RunsAborted"}, sluice - emitted
    assert {name for namespace, name in referenced if namespace == "AWS/States"} <= STATES_METRICS
    # and SQS's own for the dead-letter queue's alarm
    assert {name for namespace, name in referenced if namespace == "AWS/SQS"} == {"ApproximateNumberOfMessagesVisible"}
    assert {namespace for namespace, _ in referenced} == {"Sluice", "AWS/States", "AWS/SQS"}
    # the two a local run cannot produce (no timeout, no abort here) are named where the code emits them
    source = (Path(__file__).parents[2] / "functions" / "record" / "service.py").read_text()
    assert '"RunsTimedOut"' in source and '"RunsAborted"' in source


def test_overview_shows_every_pipeline_alarm(dev):
    (dashboard,) = dev.resources("sluice-dev-overview", "AWS::CloudWatch::Dashboard").values()
    body = _text(dashboard["Properties"]["DashboardBody"])
    alarms = {a["Properties"]["AlarmName"] for a in dev.resources("sluice-dev-pipelines-1",
                                                                  "AWS::CloudWatch::Alarm").values()}
    assert alarms and all(f":alarm:{name}" in body for name in alarms)


def test_no_stack_reads_another_stacks_outputs(dev):
    # names are fixed, so no stack imports or reads an output of another (an export cannot change while used)
    for stack in dev.stacks():
        text = json.dumps(dev.template(stack))
        assert "Fn::ImportValue" not in text and "Fn::GetStackOutput" not in text, stack


def test_local_alarm_conditions_are_the_deployed_alarms(dev):
    # sluice run --local evaluates the same alarms the stacks deploy (sluice/local/alarms.py mirrors monitoring.py)
    from sluice.local.alarms import alarms
    from tests.support.pipelines import examples

    deployed = {a["Properties"]["AlarmName"].removeprefix("sluice-dev-")
                for a in dev.resources("sluice-dev-pipelines-1", "AWS::CloudWatch::Alarm").values()}
    local = {a["alarm"] for p in examples().values() for a in alarms(p, [])}
    assert local == deployed


def test_the_platform_dead_letter_queue_alarms_at_its_first_message(dev):
    # GIVEN the platform stack WHEN synthesized THEN its dead-letter queue has an alarm to the alarm topic
    alarms = [a["Properties"] for a in dev.resources("sluice-dev-platform", "AWS::CloudWatch::Alarm").values()]
    (alarm,) = [a for a in alarms if a["AlarmName"] == "sluice-dev-dead-letters"]
    assert (alarm["MetricName"], alarm["Namespace"]) == ("ApproximateNumberOfMessagesVisible", "AWS/SQS")
    assert (alarm["ComparisonOperator"], alarm["Threshold"]) == ("GreaterThanThreshold", 0)
    (action,) = alarm["AlarmActions"]
    assert "Ref" in action and action["Ref"].startswith("Alarms")
    assert "functions.complete.replay" in alarm["AlarmDescription"]
