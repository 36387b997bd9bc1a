"""One shard of pipelines: for each, its state machine, job role, schedules, triggers, alarms and catalog entry; for
all, the rules that tell `complete` their jobs ended and a dashboard."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

import aws_cdk as cdk
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sqs as sqs
from aws_cdk import aws_ssm as ssm
from aws_cdk import aws_stepfunctions as sfn
from constructs import Construct

from sluice.catalog import catalog_path, tier
from sluice.spec import Pipeline

from ..catalog import entry_value
from ..config import EnvConfig
from ..constructs.job_events import JobEvents
from ..constructs.job_role import JobRole
from ..constructs.monitoring import PipelineMonitoring
from ..constructs.pipeline_state_machine import PipelineStateMachine
from ..constructs.rule_target import allow_sluice_rules
from ..constructs.schedules import Schedules
from ..constructs.triggers import Triggers
from ..nag import acknowledge, as_finding
from ..naming import alarm_topic_name, arn_in, function_name


class PipelineStack(cdk.Stack):
    def __init__(self, scope: Construct, id: str, *, config: EnvConfig, shard: str, pipelines: list[Pipeline],
                 definitions: dict[str, dict[str, Any]], now: dt.datetime, destinations_for: Sequence[str] = (),
                 **kwargs: Any) -> None:
        names = ", ".join(p.name for p in pipelines)
        super().__init__(scope, id, description=f"Sluice pipelines ({config.name}, {shard}): {names}"[:1024], **kwargs)
        self.config, self.shard = config, shard
        dispatcher = arn_in(self, "lambda", f"function:{function_name(config, 'dispatch')}")
        self.dead_letters = sqs.Queue(self, "DeadLetters", enforce_ssl=True,
                                      encryption=sqs.QueueEncryption.SQS_MANAGED,
                                      retention_period=cdk.Duration.days(14))
        allow_sluice_rules(self.dead_letters, config)
        acknowledge(self.dead_letters, "SQS3", "this queue is the dead-letter queue of these pipelines' schedules "
                    "and trigger rules (starts that failed after retries) and of their job-end rules")
        self.scheduler_role = iam.Role(self, "SchedulerRole", assumed_by=iam.ServicePrincipal(
            "scheduler.amazonaws.com", conditions={"StringEquals": {"aws:SourceAccount": self.account}}),
            description="EventBridge Scheduler starts these pipelines and checks their deadlines")
        # Schedules and trigger rules start runs through the platform's start function (functions/start), reached
        # by its fixed name: no export from the platform stack.
        start_arn = arn_in(self, "lambda", f"function:{function_name(config, 'start')}")
        start = lambda_.Function.from_function_arn(self, "StartFunction", start_arn)
        if any(p.schedules for p in pipelines):
            versions = f"arn:{{partition}}:lambda:{{region}}:{{account}}:function:{function_name(config, 'start')}:*"
            acknowledge(self.scheduler_role, "IAM5", "CDK's grantInvoke adds the start function's versions and "
                        "aliases (:*) to its unqualified ARN; Scheduler invokes the unqualified function for "
                        "schedule ticks", resources=[as_finding(self, versions)])
        self.machines: dict[str, sfn.StateMachine] = {}
        self.job_roles: dict[str, iam.Role] = {}
        self.monitoring: dict[str, PipelineMonitoring] = {}
        self.catalog: dict[str, ssm.StringParameter] = {}
        topic = sns.Topic.from_topic_arn(self, "AlarmTopic", arn_in(self, "sns", alarm_topic_name(config)))
        for pipeline in pipelines:
            # The pipeline's name as its construct id: names are unique, and any rewriting of them may not be
            # (title-casing makes 'etl-2b' and 'etl2b' the same).
            machine = PipelineStateMachine(self, pipeline.name, pipeline=pipeline,
                                           definition=definitions[pipeline.name], config=config,
                                           dispatcher_arn=dispatcher)
            self.machines[pipeline.name] = machine.state_machine
            self.job_roles[pipeline.name] = JobRole(machine, "Jobs", pipeline=pipeline, config=config).role
            if pipeline.schedules:
                Schedules(machine, "Schedules", pipeline=pipeline, start_function=start, config=config,
                          role=self.scheduler_role, dead_letters=self.dead_letters, now=now)
            if pipeline.triggers:
                Triggers(machine, "Triggers", pipeline=pipeline, start_arn=start_arn, config=config,
                         dead_letters=self.dead_letters)
            self.monitoring[pipeline.name] = PipelineMonitoring(
                machine, "Monitoring", pipeline=pipeline, machine=machine.state_machine, config=config, topic=topic,
                scheduler_role=self.scheduler_role)
            value = entry_value(pipeline)  # CatalogError (naming the pipeline) stops the synth
            self.catalog[pipeline.name] = ssm.StringParameter(
                machine, "Catalog", parameter_name=catalog_path(config.prefix) + pipeline.name, string_value=value,
                tier=ssm.ParameterTier[tier(value).upper()], description="Sluice pipeline spec (read by the run API)")
        complete = arn_in(self, "lambda", f"function:{function_name(config, 'complete')}")
        self.job_events = JobEvents(self, "JobEvents", pipelines=pipelines, config=config, complete_arn=complete,
                                    dead_letters=self.dead_letters, shard=shard, destinations_for=destinations_for)
