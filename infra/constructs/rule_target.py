"""EventBridge rule targets without CDK's per-rule additions.

CDK's targets add, for every rule, a statement to the dead-letter queue's policy (SQS allows 20 per policy) and,
for a Lambda function, a permission to its resource policy (20 KB). A pipeline stack has a rule per trigger and per
job service, so these grow with its pipelines. Here a stack allows all of Sluice's rules once instead
(`allow_sluice_rules`), and each rule's target is only its configuration.
"""

from __future__ import annotations

import aws_cdk as cdk
import jsii
from aws_cdk import aws_events as events
from aws_cdk import aws_iam as iam
from aws_cdk import aws_sqs as sqs
from aws_cdk.interfaces.aws_events import IRuleRef

from ..config import EnvConfig
from ..naming import arn_in


class Transformed(events.RuleTargetInput):
    """An input transformer written out: CDK's EventField cannot name EventBridge's <aws.events.event.json>."""

    def __init__(self, paths: dict[str, str], template: str) -> None:
        super().__init__()
        self.paths, self.template = paths, template

    def bind(self, rule: IRuleRef) -> events.RuleTargetInputProperties:
        return events.RuleTargetInputProperties(input_paths_map=self.paths or None, input_template=self.template)


@jsii.implements(events.IRuleTarget)
class DirectTarget:
    def __init__(self, arn: str, *, dead_letters: sqs.IQueue, retry_attempts: int, max_event_age: cdk.Duration,
                 role: iam.IRole | None = None,
                 input_transformer: Transformed | None = None) -> None:
        self.arn, self.dead_letters, self.role, self.input_transformer = arn, dead_letters, role, input_transformer
        self.retry_attempts, self.max_event_age = retry_attempts, max_event_age

    def bind(self, rule: IRuleRef, id: str | None = None) -> events.RuleTargetConfig:
        return events.RuleTargetConfig(
            arn=self.arn, role=self.role, input=self.input_transformer,
            dead_letter_config=events.CfnRule.DeadLetterConfigProperty(arn=self.dead_letters.queue_arn),
            retry_policy=events.CfnRule.RetryPolicyProperty(
                maximum_retry_attempts=self.retry_attempts,
                maximum_event_age_in_seconds=int(self.max_event_age.to_seconds())))


def allow_sluice_rules(queue: sqs.Queue, config: EnvConfig) -> None:
    """One statement lets every rule named with the environment's prefix, on any bus, dead-letter into queue."""
    rules = [arn_in(queue, "events", f"rule/{config.prefix}*"), arn_in(queue, "events", f"rule/*/{config.prefix}*")]
    queue.add_to_resource_policy(iam.PolicyStatement(
        sid="SluiceRules", actions=["sqs:SendMessage"], principals=[iam.ServicePrincipal("events.amazonaws.com")],
        resources=[queue.queue_arn], conditions={"ArnLike": {"aws:SourceArn": rules}}))
