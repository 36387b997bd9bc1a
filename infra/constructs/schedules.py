"""A pipeline's schedules: EventBridge Scheduler, in the pipeline's IANA time zone, the scheduled time passed as
the run's logical date (so a late or retried start still processes its own interval).

Scheduler delivers at least once and cannot name the execution it starts, so it invokes the start function
(functions/start), which names the run after (schedule, scheduled time): a repeated delivery is the same run."""

from __future__ import annotations

import datetime as dt

import aws_cdk as cdk
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_scheduler as scheduler
from aws_cdk import aws_scheduler_targets as targets
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from sluice.schedule_times import schedule_window
from sluice.spec import Pipeline
from sluice.spec.pipeline import Schedule

from ..config import EnvConfig
from ..naming import short_name

# Scheduler retries a failed invocation of the start function (throttling, a brief outage) this often within this
# age, then the start goes to the dead-letter queue rather than vanishing. (A start that fails inside the function
# is retried by Lambda's asynchronous invocation, then kept in the platform's dead-letter queue.)
RETRY_ATTEMPTS = 10
MAX_EVENT_AGE = cdk.Duration.hours(4)
DEPLOY_MARGIN = dt.timedelta(minutes=30)  # between synth and the schedule's creation


class Schedules(Construct):
    def __init__(self, scope: Construct, id: str, *, pipeline: Pipeline, start_function: lambda_.IFunction,
                 config: EnvConfig, role: iam.IRole, dead_letters: sqs.IQueue, now: dt.datetime) -> None:
        super().__init__(scope, id)
        self.schedules: list[scheduler.Schedule] = []
        for i, s in enumerate(pipeline.schedules):
            start, end = schedule_window(s)
            # Scheduler refuses dates in the past, and the template is deployed a while after synth: a start
            # reached by then is in effect anyway; a schedule whose end is reached by then is deployed disabled.
            if start is not None and start <= now + DEPLOY_MARGIN:
                start = None
            over = end is not None and end <= now + DEPLOY_MARGIN
            self.schedules.append(scheduler.Schedule(
                self, f"Schedule{i}", schedule_name=short_name(config.prefix.rstrip("-"), pipeline.name, str(i)),
                description=f"{pipeline.name}: {s.expression} ({s.timezone})",
                schedule=scheduler.ScheduleExpression.expression(s.expression, cdk.TimeZone.of(s.timezone)),
                target=targets.LambdaInvoke(
                    start_function, role=role, dead_letter_queue=dead_letters, retry_attempts=RETRY_ATTEMPTS,
                    max_event_age=MAX_EVENT_AGE,
                    input=scheduler.ScheduleTargetInput.from_object(start_request(pipeline.name, s, i))),
                time_window=(scheduler.TimeWindow.flexible(cdk.Duration.seconds(s.flexible_window))
                             if s.flexible_window else scheduler.TimeWindow.off()),
                start=start, end=None if over else end, enabled=s.enabled and not over))


def start_request(pipeline: str, schedule: Schedule, index: int) -> dict[str, object]:
    """What Scheduler sends the start function: the pipeline and schedule, and the run input (sluice.contract.RunInput:
    params, logical_date, trigger) the run receives; <aws.scheduler.*> are filled per delivery."""
    return {"pipeline": pipeline, "schedule": index, "params": schedule.params,
            "logical_date": scheduler.ContextAttribute.scheduled_time,
            "trigger": {"type": "schedule", "schedule": index, "expression": schedule.expression,
                        "timezone": schedule.timezone, "schedule_arn": scheduler.ContextAttribute.schedule_arn,
                        "attempt": scheduler.ContextAttribute.attempt_number}}
