"""How `complete` learns a job ended: EventBridge rules, one per service, scoped to the jobs these pipelines name and
to end states only (a job's other state changes would be invocations that do nothing); and, for Lambda tasks, the
functions' asynchronous-invoke destinations, which deliver each result to `complete` itself. No rule takes Lambda
results from a bus: only aws.* sources are reserved to AWS, and anyone allowed events:PutEvents could send one."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import aws_cdk as cdk
from aws_cdk import aws_events as events
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from sluice.spec import Pipeline

from ..config import EnvConfig
from ..grants import collect
from ..naming import arn_in, short_name
from .rule_target import DirectTarget

# End states as each service names them (functions/events/reduce.py reads the same; a test keeps them equal).
GLUE_ENDED = ("SUCCEEDED", "FAILED", "TIMEOUT", "STOPPED", "ERROR")
EMR_ENDED = ("COMPLETED", "FAILED", "CANCELLED", "INTERRUPTED")
EMR_SERVERLESS_ENDED = ("SUCCESS", "FAILED", "CANCELLED")


def _match(names: Iterable[str]) -> list[Any]:
    """Exact names: a templated one is already each name its params' allowed values make (grants.collect)."""
    return sorted(set(names))


class JobEvents(Construct):
    def __init__(self, scope: Construct, id: str, *, pipelines: list[Pipeline], config: EnvConfig,
                 complete_arn: str, dead_letters: sqs.IQueue, shard: str,
                 destinations_for: Iterable[str] = ()) -> None:
        super().__init__(scope, id)
        named = collect(pipelines)
        glue, emr, emr_serverless, ecs = named.glue, named.emr, named.emr_serverless, set(named.ecs)
        patterns: dict[str, dict[str, Any]] = {}
        if glue:
            patterns["glue"] = {"source": ["aws.glue"], "detail-type": ["Glue Job State Change"],
                                "detail": {"jobName": _match(glue), "state": list(GLUE_ENDED)}}
        if emr:
            patterns["emr"] = {"source": ["aws.emr"], "detail-type": ["EMR Step Status Change"],
                               "detail": {"clusterId": _match(emr), "state": list(EMR_ENDED)}}
        if emr_serverless:
            patterns["emr-serverless"] = {
                "source": ["aws.emr-serverless"], "detail-type": ["EMR Serverless Job Run State Change"],
                "detail": {"applicationId": _match(emr_serverless), "state": list(EMR_SERVERLESS_ENDED)}}
        if ecs:
            clusters = [c if c.startswith("arn:") else arn_in(self, "ecs", f"cluster/{c}") for c in ecs]
            patterns["ecs"] = {"source": ["aws.ecs"], "detail-type": ["ECS Task State Change"],
                               "detail": {"clusterArn": _match(clusters), "lastStatus": ["STOPPED"]}}
        self.rules: dict[str, events.Rule] = {}
        for service, event_pattern in patterns.items():
            rule = events.Rule(self, service.title().replace("-", ""),
                               rule_name=short_name(config.prefix.rstrip("-"), shard, service, "ended"),
                               description=f"{service} job ends for Sluice's completion function",
                               event_pattern=as_event_pattern(event_pattern))
            rule.add_target(DirectTarget(complete_arn, dead_letters=dead_letters, retry_attempts=8,
                                         max_event_age=cdk.Duration.hours(6)))
            self.rules[service] = rule
        # A Lambda task's result reaches `complete` only as its asynchronous invocation's record, delivered by
        # Lambda to the function's destinations; Sluice sets them on the functions it is given (each function in
        # exactly one stack). Lambda invokes the destination with the function's own execution role.
        for function in sorted(destinations_for):
            name, _, qualifier = function.partition(":")  # 'fn:prod' invokes the alias or version prod
            lambda_.CfnEventInvokeConfig(
                self, f"Destinations-{function}", function_name=name, qualifier=qualifier or "$LATEST",
                destination_config=lambda_.CfnEventInvokeConfig.DestinationConfigProperty(
                    on_success=lambda_.CfnEventInvokeConfig.OnSuccessProperty(destination=complete_arn),
                    on_failure=lambda_.CfnEventInvokeConfig.OnFailureProperty(destination=complete_arn)))


def as_event_pattern(raw: dict[str, Any]) -> events.EventPattern:
    """An EventBridge pattern written as AWS spells it ('detail-type') as CDK's EventPattern."""
    return events.EventPattern(**{key.replace("-", "_"): value for key, value in raw.items()})
