"""A pipeline's event triggers: EventBridge rules (S3 object created, or a raw pattern) that start a run with the
event in its input and the event's time as the logical date.

EventBridge delivers at least once and cannot name the execution it starts, so a rule invokes the start function
(functions/start), which names the run after (trigger, event id): a repeated delivery is the same run. The platform
stack lets every rule of the environment invoke it (infra/constructs/runtime.py), so a rule adds no permission."""

from __future__ import annotations

import json
from typing import Any

import aws_cdk as cdk
from aws_cdk import aws_events as events
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from sluice.spec import Pipeline
from sluice.spec.pipeline import S3Trigger, Trigger

from ..config import EnvConfig
from ..naming import short_name
from .job_events import as_event_pattern
from .rule_target import DirectTarget, Transformed

RETRY_ATTEMPTS = 10
MAX_EVENT_AGE = cdk.Duration.hours(4)


class Triggers(Construct):
    def __init__(self, scope: Construct, id: str, *, pipeline: Pipeline, start_arn: str, config: EnvConfig,
                 dead_letters: sqs.IQueue) -> None:
        super().__init__(scope, id)
        self.rules: list[events.Rule] = []
        for i, trigger in enumerate(pipeline.triggers):
            name = short_name(config.prefix.rstrip("-"), pipeline.name, "trigger", str(i))
            bus = None
            if trigger.event is not None and trigger.event.bus != "default":
                bus = events.EventBus.from_event_bus_name(self, f"Bus{i}", trigger.event.bus)
            rule = events.Rule(self, f"Trigger{i}", rule_name=name, event_bus=bus,
                               event_pattern=as_event_pattern(pattern(trigger)),
                               description=f"start {pipeline.name}: {describe(trigger)}")
            rule.add_target(DirectTarget(
                start_arn, dead_letters=dead_letters, retry_attempts=RETRY_ATTEMPTS, max_event_age=MAX_EVENT_AGE,
                input_transformer=input_transformer(pipeline.name, i, trigger, name)))
            self.rules.append(rule)


def input_transformer(pipeline: str, index: int, trigger: Trigger, rule_name: str) -> Transformed:
    """What the rule sends the start function: the pipeline, trigger and rule, the trigger's parameters and the
    whole event (EventBridge's predefined <aws.events.event.json>; CDK's EventField cannot name it). The function
    makes the run input (sluice.contract.RunInput) from them: the event, its time as the logical date, its id."""
    head = _compact({"pipeline": pipeline, "trigger_index": index, "rule": rule_name, "params": trigger.params})
    return Transformed({}, f'{head[:-1]},"event":<aws.events.event.json>}}')


def _compact(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), sort_keys=True)


def pattern(trigger: Trigger) -> dict[str, Any]:
    """The EventBridge event pattern of a trigger."""
    if trigger.s3 is not None:
        return s3_pattern(trigger.s3)
    assert trigger.event is not None
    return trigger.event.pattern


def s3_pattern(s3: S3Trigger) -> dict[str, Any]:
    """S3's "Object Created" event (the bucket must have EventBridge notifications on) for the bucket and key."""
    detail: dict[str, Any] = {"bucket": {"name": [s3.bucket]}}
    if s3.prefix and s3.suffix:
        escaped = [part.replace("\\", "\\\\").replace("*", "\\*") for part in (s3.prefix, s3.suffix)]
        detail["object"] = {"key": [{"wildcard": f"{escaped[0]}*{escaped[1]}"}]}
    elif s3.prefix:
        detail["object"] = {"key": [{"prefix": s3.prefix}]}
    elif s3.suffix:
        detail["object"] = {"key": [{"suffix": s3.suffix}]}
    return {"source": ["aws.s3"], "detail-type": ["Object Created"], "detail": detail}


def describe(trigger: Trigger) -> str:
    if trigger.s3 is not None:
        return f"objects created in s3://{trigger.s3.bucket}/{trigger.s3.prefix or ''}*{trigger.s3.suffix or ''}"
    assert trigger.event is not None
    return f"events on bus '{trigger.event.bus}' matching a pattern"
