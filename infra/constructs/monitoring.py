"""A pipeline's alarms and dashboard, from its spec and the metrics Sluice's functions emit (namespace Sluice,
dimensions pipeline[, task[, error]]: functions/observability.measure) and Step Functions' own."""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as actions
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_scheduler as scheduler
from aws_cdk import aws_scheduler_targets as targets
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sqs as sqs
from aws_cdk import aws_stepfunctions as sfn
from constructs import Construct

from sluice.spec import Pipeline
from sluice.spec.pipeline import Deadline

from ..config import EnvConfig
from ..nag import acknowledge, as_finding
from ..naming import arn_in, function_name, short_name

NAMESPACE = "Sluice"
PERIOD = cdk.Duration.minutes(5)
WIDE = cdk.Duration.hours(1)  # dashboard graphs: one point per hour reads better over days
DAY = cdk.Duration.days(1)
MONTH = cdk.Duration.days(30)


def sluice_metric(name: str, statistic: str, *, pipeline: str, task: str | None = None,
                  period: cdk.Duration = PERIOD, label: str | None = None) -> cloudwatch.Metric:
    dimensions = {"pipeline": pipeline, **({"task": task} if task else {})}
    return cloudwatch.Metric(namespace=NAMESPACE, metric_name=name, dimensions_map=dimensions, statistic=statistic,
                             period=period, label=label)


def search(metric: str, statistic: str, *, label: str, keys: str = "pipeline", where: str = "",
           period: cdk.Duration = WIDE) -> cloudwatch.MathExpression:
    """One line per dimension value (task, error, pipeline) without listing them: a CloudWatch SEARCH."""
    query = f'{{{NAMESPACE},{keys}}} MetricName="{metric}" {where}'.strip()
    return cloudwatch.MathExpression(expression=f"SEARCH('{query}', '{statistic}', {int(period.to_seconds())})",
                                     label=label, period=period, using_metrics={})


def alarms_by_name(scope: Construct, names: list[str]) -> list[cloudwatch.IAlarm]:
    """Alarms as ARNs built from their fixed names: no reference to the alarm resource, so a dashboard does not
    depend on it (and the overview stack needs no export from the pipeline stacks)."""
    stack = cdk.Stack.of(scope)
    return [cloudwatch.Alarm.from_alarm_arn(
        scope, f"Ref-{name}", f"arn:{stack.partition}:cloudwatch:{stack.region}:{stack.account}:alarm:{name}")
        for name in names]


def dead_letter_alarm(scope: Construct, id: str, *, queue: sqs.Queue, alarm_name: str, topic: sns.ITopic) -> None:
    """Any message in a dead-letter queue is an event or invocation Sluice gave up on: alarm at the first one."""
    alarm = cloudwatch.Alarm(
        scope, id, alarm_name=alarm_name, metric=queue.metric_approximate_number_of_messages_visible(
            period=PERIOD, statistic="Maximum"), threshold=0, evaluation_periods=1,
        comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
        treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
        alarm_description=f"Sluice dead letters in {alarm_name}: events or invocations that failed every retry. "
                          "Read them, fix the cause, then replay: python -m functions.complete.replay QUEUE_URL "
                          "(docs/runtime.md, 'Dead letters')")
    alarm.add_alarm_action(actions.SnsAction(topic))


class PipelineMonitoring(Construct):
    def __init__(self, scope: Construct, id: str, *, pipeline: Pipeline, machine: sfn.StateMachine,
                 config: EnvConfig, topic: sns.ITopic, scheduler_role: iam.Role) -> None:
        super().__init__(scope, id)
        self.pipeline, self.machine, self.config = pipeline, machine, config
        self.action = actions.SnsAction(topic)
        self.alarms: dict[str, cloudwatch.Alarm] = {}
        self.alarm_names: list[str] = []  # as written: alarm.alarm_name is a reference, which would cross stacks
        name = pipeline.name
        where = self._where()
        self._alarm("failed", "a run failed or was aborted", cloudwatch.MathExpression(
            expression="failed + aborted", period=PERIOD, label="failed or aborted runs",
            using_metrics={"failed": machine.metric_failed(period=PERIOD, statistic="Sum"),
                           "aborted": machine.metric_aborted(period=PERIOD, statistic="Sum")}), 1, where)
        if pipeline.timeout:
            self._alarm("timed-out", f"a run passed the pipeline's timeout ({pipeline.timeout} s) and was stopped",
                        machine.metric_timed_out(period=PERIOD, statistic="Sum"), 1, where)
        if pipeline.max_duration:
            self._alarm("over-max-duration", f"a run took longer than max_duration ({pipeline.max_duration} s)",
                        sluice_metric("RunDuration", "Maximum", pipeline=name), pipeline.max_duration, where,
                        strictly=True)
        for task_name, task in pipeline.tasks.items():
            if task.expected_duration:
                self._alarm(f"{task_name}-over-expected-duration",
                            f"an attempt of task {task_name} took longer than its expected_duration "
                            f"({task.expected_duration} s)",
                            sluice_metric("TaskDuration", "Maximum", pipeline=name, task=task_name),
                            task.expected_duration, where, strictly=True)
        if pipeline.deadline:
            self._deadline(pipeline.deadline, scheduler_role, where)
        if config.pipeline_dashboards:
            self.dashboard = cloudwatch.Dashboard(self, "Dashboard", dashboard_name=f"{config.prefix}{name}",
                                                  widgets=self._widgets())

    def _deadline(self, deadline: Deadline, role: iam.Role, where: str) -> None:
        """At the deadline, the sweep function checks the run store (functions/sweep/deadline.py) and emits
        DeadlineMissed: 1 when no run that started within the window has succeeded, 0 when one has. A run that
        succeeds later sends 0 too, which clears the alarm; between checks it keeps its state."""
        sweep = lambda_.Function.from_function_arn(
            self, "Sweep", arn_in(self, "lambda", f"function:{function_name(self.config, 'sweep')}"))
        scheduler.Schedule(
            self, "DeadlineCheck", schedule_name=short_name(self.config.prefix.rstrip("-"), self.pipeline.name,
                                                            "deadline"),
            description=f"{self.pipeline.name}: a run must have succeeded by {deadline.at} ({deadline.timezone})",
            schedule=scheduler.ScheduleExpression.expression(deadline.cron, cdk.TimeZone.of(deadline.timezone)),
            target=targets.LambdaInvoke(sweep, role=role, retry_attempts=5, input=scheduler.ScheduleTargetInput
                                        .from_object({"deadline": {
                                            "pipeline": self.pipeline.name, "within": deadline.within,
                                            "at": scheduler.ContextAttribute.scheduled_time}})))
        versions = f"arn:{{partition}}:lambda:{{region}}:{{account}}:function:{function_name(self.config, 'sweep')}:*"
        acknowledge(role, "IAM5", "CDK's grantInvoke adds the sweep function's versions and aliases (:*) to its "
                    "unqualified ARN; Scheduler invokes the unqualified function for deadline checks",
                    resources=[as_finding(self, versions)])
        # Missing data keeps the alarm's state: set at the check, cleared by a success (which sends 0).
        self._alarm("deadline-missed", f"no run had succeeded by its deadline, {deadline.at} {deadline.timezone}",
                    sluice_metric("DeadlineMissed", "Maximum", pipeline=self.pipeline.name), 1, where,
                    missing=cloudwatch.TreatMissingData.IGNORE)

    def _where(self) -> str:
        stack = cdk.Stack.of(self)
        console = (f"https://{stack.region}.console.aws.amazon.com/states/home?region={stack.region}"
                   f"#/v2/statemachines/view/{self.machine.state_machine_arn}")
        return f"Runs: `sluice runs {self.pipeline.name}`; executions: {console}"

    def _alarm(self, suffix: str, what: str, metric: cloudwatch.IMetric, threshold: float, where: str, *,
               strictly: bool = False,
               missing: cloudwatch.TreatMissingData = cloudwatch.TreatMissingData.NOT_BREACHING) -> None:
        alarm_name = f"{self.config.prefix}{self.pipeline.name}-{suffix}"
        self.alarm_names.append(alarm_name)
        alarm = cloudwatch.Alarm(
            self, f"Alarm-{suffix}", alarm_name=alarm_name,
            alarm_description=f"Sluice pipeline {self.pipeline.name} ({self.config.name}): {what}. {where}",
            metric=metric, threshold=threshold, evaluation_periods=1,
            comparison_operator=(cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD if strictly
                                 else cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD),
            treat_missing_data=missing)
        alarm.add_alarm_action(self.action)
        self.alarms[suffix] = alarm

    def _widgets(self) -> list[list[cloudwatch.IWidget]]:
        name, tasks = self.pipeline.name, f'pipeline="{self.pipeline.name}"'

        def runs(metric: str, label: str) -> cloudwatch.Metric:
            return sluice_metric(metric, "Sum", pipeline=name, period=WIDE, label=label)

        outcomes = {"ok": runs("RunsSucceeded", "succeeded"), "failed": runs("RunsFailed", "failed"),
                    "timedout": runs("RunsTimedOut", "timed out"), "aborted": runs("RunsAborted", "aborted")}
        return [
            [cloudwatch.TextWidget(markdown=self._header(), width=12, height=4),
             cloudwatch.AlarmStatusWidget(alarms=alarms_by_name(self, self.alarm_names),
                                          title="Alarms (last run status)", width=12, height=4)],
            [cloudwatch.GraphWidget(title="Runs per hour", width=12, left=[runs("RunsStarted", "started"),
                                                                          *outcomes.values()]),
             cloudwatch.GraphWidget(title="Success rate (%)", width=12, left=[cloudwatch.MathExpression(
                 expression="100 * ok / (ok + failed + timedout + aborted)", label="succeeded of ended runs",
                 using_metrics=outcomes, period=WIDE)])],
            [cloudwatch.GraphWidget(title="Run duration (s)", width=12, left=[
                sluice_metric("RunDuration", "p50", pipeline=name, period=WIDE, label="p50"),
                sluice_metric("RunDuration", "p95", pipeline=name, period=WIDE, label="p95")]),
             cloudwatch.GraphWidget(title="Task duration p95 (s)", width=12, left=[
                 search("TaskDuration", "p95", keys="pipeline,task", where=tasks, label="")])],
            [cloudwatch.GraphWidget(title="Failures by task and end status", width=8, left=[
                search("TaskFailures", "Sum", keys="error,pipeline,task", where=tasks, label="")]),
             cloudwatch.GraphWidget(title="Retries by task", width=8, left=[
                 search("TaskRetries", "Sum", keys="pipeline,task", where=tasks, label="")]),
             cloudwatch.GraphWidget(title="Dispatch latency p95 (ms)", width=8, left=[
                 search("DispatchLatency", "p95", keys="pipeline,task", where=tasks, label="")])],
            # Estimated at list prices when each run ends (functions/record/cost.py, docs/runtime.md "Cost")
            [cloudwatch.GraphWidget(title="Estimated cost per day (USD)", width=12, left=[
                sluice_metric("RunCost", "Sum", pipeline=name, period=DAY, label="total"),
                sluice_metric("RunComputeCost", "Sum", pipeline=name, period=DAY, label="jobs' compute")]),
             cloudwatch.SingleValueWidget(title="Estimated cost, last 30 days (USD)", width=6, metrics=[
                 sluice_metric("RunCost", "Sum", pipeline=name, period=MONTH, label="total")],
                 set_period_to_time_range=True),
             cloudwatch.SingleValueWidget(title="Estimated cost per run, average (USD)", width=6, metrics=[
                 sluice_metric("RunCost", "Average", pipeline=name, period=MONTH, label="per run")],
                 set_period_to_time_range=True)],
        ]

    def _header(self) -> str:
        p = self.pipeline
        schedules = ", ".join(f"`{s.expression}` ({s.timezone})" for s in p.schedules) or "none"
        return (f"# {p.name}\n{p.description or ''}\n\nOwner: {p.owner or 'unknown'} · schedules: {schedules} · "
                f"{len(p.tasks)} tasks · runs: `sluice runs {p.name}`")


class Overview(Construct):
    """Every pipeline at a glance: runs, failures and durations by pipeline (SEARCH, so pipelines added later show
    up too) and the status of every pipeline's alarms (named from the specs)."""

    def __init__(self, scope: Construct, id: str, *, alarm_names: list[str], config: EnvConfig) -> None:
        super().__init__(scope, id)
        alarms = alarms_by_name(self, sorted(alarm_names))
        graphs = (("Runs succeeded per hour", "RunsSucceeded", "Sum"), ("Runs failed per hour", "RunsFailed", "Sum"),
                  ("Run duration p95 (s)", "RunDuration", "p95"), ("Estimated cost per hour (USD)", "RunCost", "Sum"))
        rows: list[list[cloudwatch.IWidget]] = [[
            cloudwatch.GraphWidget(title=title, width=6, left=[search(metric, statistic, label="")])
            for title, metric, statistic in graphs]]
        # An alarm status widget shows at most 100 alarms.
        for start in range(0, len(alarms), 100):
            rows.append([cloudwatch.AlarmStatusWidget(alarms=alarms[start:start + 100], width=24,
                                                      title=f"Alarms ({start + 1}-{min(start + 100, len(alarms))})")])
        self.dashboard = cloudwatch.Dashboard(self, "Dashboard", dashboard_name=f"{config.prefix}overview",
                                              widgets=rows)
