"""Alarms and a dashboard for the pipelines of one stack. Every pipeline has a failed-executions alarm from the
start; the monitoring issue adds duration, deadline and runtime alarms."""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as actions
from aws_cdk import aws_sns as sns
from aws_cdk import aws_stepfunctions as sfn
from constructs import Construct

from ..config import EnvConfig
from ..naming import short_name

PERIOD = cdk.Duration.minutes(5)


class Monitoring(Construct):
    def __init__(self, scope: Construct, id: str, *, machines: dict[str, sfn.StateMachine], config: EnvConfig,
                 topic: sns.ITopic, shard: str) -> None:
        super().__init__(scope, id)
        action = actions.SnsAction(topic)
        self.alarms: dict[str, cloudwatch.Alarm] = {}
        widgets: list[cloudwatch.IWidget] = []
        for pipeline, machine in sorted(machines.items()):
            failed = machine.metric_failed(period=PERIOD, statistic="Sum")
            alarm = cloudwatch.Alarm(
                self, f"Failed-{pipeline}", alarm_name=f"{config.prefix}{pipeline}-failed",
                alarm_description=f"A run of pipeline {pipeline} failed, timed out or was aborted "
                                  f"(see `sluice runs {pipeline}`).",
                metric=cloudwatch.MathExpression(
                    expression="failed + timedout + aborted", period=PERIOD, label="unsuccessful runs",
                    using_metrics={"failed": failed,
                                   "timedout": machine.metric_timed_out(period=PERIOD, statistic="Sum"),
                                   "aborted": machine.metric_aborted(period=PERIOD, statistic="Sum")}),
                threshold=1, evaluation_periods=1,
                comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
                treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING)
            alarm.add_alarm_action(action)
            self.alarms[pipeline] = alarm
            widgets.append(cloudwatch.GraphWidget(
                title=pipeline, width=12, left=[machine.metric_succeeded(period=PERIOD, statistic="Sum"), failed],
                right=[machine.metric_time(period=PERIOD, statistic="p90")]))
        if not widgets:
            return  # a stack whose pipelines were all removed
        self.dashboard = cloudwatch.Dashboard(self, "Dashboard",
                                              dashboard_name=short_name(config.prefix.rstrip("-"), shard),
                                              widgets=[widgets[i:i + 2] for i in range(0, len(widgets), 2)])

