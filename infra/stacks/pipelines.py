"""One shard of pipelines: their state machines, schedules, triggers, alarms, the rules that tell `complete` their
jobs ended, and the job permissions of Sluice's functions for exactly these pipelines."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import aws_cdk as cdk
from aws_cdk import aws_iam as iam
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from sluice.spec import Pipeline

from ..config import EnvConfig
from ..constructs.job_events import JobEvents
from ..constructs.monitoring import Monitoring
from ..constructs.pipeline_state_machine import PipelineStateMachine
from ..constructs.schedules import Schedules
from ..constructs.triggers import Triggers
from ..grants import job_grants
from ..nag import acknowledge, as_finding
from ..naming import alarm_topic_name, arn_in, construct_id, fill, function_name, role_name

# Functions that start, find, describe or stop jobs: dispatch, complete (it releases gated tasks) and sweep.
JOB_FUNCTIONS = ("dispatch", "complete", "sweep")


class PipelineStack(cdk.Stack):
    def __init__(self, scope: Construct, id: str, *, config: EnvConfig, shard: str, pipelines: list[Pipeline],
                 definitions: dict[str, dict[str, Any]], destinations_for: Sequence[str] = (), **kwargs: Any) -> None:
        names = ", ".join(p.name for p in pipelines)
        super().__init__(scope, id, description=f"Sluice pipelines ({config.name}, {shard}): {names}"[:1024], **kwargs)
        self.config, self.shard = config, shard
        dispatcher = arn_in(self, "lambda", f"function:{function_name(config, 'dispatch')}")
        self.dead_letters = sqs.Queue(self, "DeadLetters", enforce_ssl=True,
                                      encryption=sqs.QueueEncryption.SQS_MANAGED,
                                      retention_period=cdk.Duration.days(14))
        acknowledge(self.dead_letters, "SQS3", "this queue is the dead-letter queue of these pipelines' schedules "
                    "and trigger rules (starts that failed after retries) and of their job-end rules")
        self.scheduler_role = iam.Role(self, "SchedulerRole", assumed_by=iam.ServicePrincipal(
            "scheduler.amazonaws.com", conditions={"StringEquals": {"aws:SourceAccount": self.account}}),
            description="EventBridge Scheduler starts these pipelines")
        self.events_role = iam.Role(self, "EventsRole", assumed_by=iam.ServicePrincipal("events.amazonaws.com"),
                                    description="EventBridge rules start these pipelines")
        self.machines = {}
        for pipeline in pipelines:
            machine = PipelineStateMachine(self, construct_id(pipeline.name), pipeline=pipeline,
                                           definition=definitions[pipeline.name], config=config,
                                           dispatcher_arn=dispatcher)
            self.machines[pipeline.name] = machine.state_machine
            if pipeline.schedules:
                Schedules(machine, "Schedules", pipeline=pipeline, state_machine=machine.state_machine,
                          config=config, role=self.scheduler_role, dead_letters=self.dead_letters)
            if pipeline.triggers:
                Triggers(machine, "Triggers", pipeline=pipeline, state_machine=machine.state_machine, config=config,
                         role=self.events_role, dead_letters=self.dead_letters)
        complete = arn_in(self, "lambda", f"function:{function_name(config, 'complete')}")
        self.job_events = JobEvents(self, "JobEvents", pipelines=pipelines, config=config, complete_arn=complete,
                                    dead_letters=self.dead_letters, shard=shard, destinations_for=destinations_for)
        self.job_access = self._job_access(pipelines)
        topic = sns.Topic.from_topic_arn(self, "AlarmTopic", arn_in(self, "sns", alarm_topic_name(config)))
        self.monitoring = Monitoring(self, "Monitoring", machines=self.machines, config=config, topic=topic,
                                     shard=shard)

    def _job_access(self, pipelines: list[Pipeline]) -> iam.ManagedPolicy | None:
        grants = job_grants(pipelines, machine_prefix=self.config.prefix)
        if not grants:
            return None
        roles = [iam.Role.from_role_name(self, f"{f.title()}Role", role_name(self.config, f)) for f in JOB_FUNCTIONS]
        policy = iam.ManagedPolicy(
            self, "JobAccess", description=f"Sluice's functions may run the jobs of {self.shard}'s pipelines",
            roles=roles, statements=[
                iam.PolicyStatement(sid=g.sid, actions=list(g.actions), resources=[fill(self, r) for r in g.resources],
                                    conditions={op: {k: [fill(self, v) for v in vs] for k, vs in keys.items()}
                                                for op, keys in g.conditions.items()} or None)
                for g in grants])
        for grant in grants:
            wild = [as_finding(self, r) for r in grant.resources if "*" in r]
            if wild:
                acknowledge(policy, "IAM5", f"{grant.sid}: {grant.why_wildcard}", resources=wild)
        return policy

