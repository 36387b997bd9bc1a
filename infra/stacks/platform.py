"""Shared by every pipeline: the run store, Sluice's functions, the run API, the execution rule and the alarm
topic."""

from __future__ import annotations

from typing import Any

import aws_cdk as cdk
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sns_subscriptions as subscriptions
from constructs import Construct

from ..config import EnvConfig
from ..constructs.monitoring import dead_letter_alarm
from ..constructs.run_api import RunApi
from ..constructs.run_store import RunStore
from ..constructs.runtime import Assets, Runtime
from ..naming import alarm_topic_name, removal


class PlatformStack(cdk.Stack):
    def __init__(self, scope: Construct, id: str, *, config: EnvConfig, assets: Assets, **kwargs: Any) -> None:
        super().__init__(scope, id, **kwargs,
                         description=f"Sluice platform ({config.name}): run store, functions, run API, rules")
        self.store = RunStore(self, "RunStore", config=config)
        self.runtime = Runtime(self, "Runtime", config=config, store=self.store, assets=assets)
        self.run_api = RunApi(self, "RunApi", config=config, function=self.runtime.functions["api"])
        # A customer key: CloudWatch cannot publish to a topic encrypted with the AWS-managed SNS key.
        self.alarm_key = kms.Key(self, "AlarmKey", alias=f"alias/{config.prefix}alarms", enable_key_rotation=True,
                                 description=f"Sluice alarm notifications ({config.name})",
                                 removal_policy=removal(config))
        self.alarm_key.add_to_resource_policy(iam.PolicyStatement(
            sid="CloudWatchAlarms", actions=["kms:Decrypt", "kms:GenerateDataKey*"], resources=["*"],
            principals=[iam.ServicePrincipal("cloudwatch.amazonaws.com")],
            conditions={"StringEquals": {"aws:SourceAccount": self.account}}))
        self.alarms = sns.Topic(self, "Alarms", topic_name=alarm_topic_name(config), enforce_ssl=True,
                                master_key=self.alarm_key, display_name=f"Sluice alarms ({config.name})")
        self.alarms.add_to_resource_policy(iam.PolicyStatement(
            sid="CloudWatchAlarms", actions=["sns:Publish"],
            principals=[iam.ServicePrincipal("cloudwatch.amazonaws.com")],
            resources=[self.alarms.topic_arn], conditions={"StringEquals": {"aws:SourceAccount": self.account}}))
        if config.alarm_email:
            self.alarms.add_subscription(subscriptions.EmailSubscription(config.alarm_email))
        for url in config.alarm_https:  # chat tools' incoming webhooks
            self.alarms.add_subscription(subscriptions.UrlSubscription(url, protocol=sns.SubscriptionProtocol.HTTPS))
        dead_letter_alarm(self, "DeadLettersAlarm", queue=self.runtime.dead_letters, topic=self.alarms,
                          alarm_name=f"{config.prefix}dead-letters")
        cdk.CfnOutput(self, "RunTable", value=self.store.table.table_name)
        cdk.CfnOutput(self, "AlarmTopic", value=self.alarms.topic_arn)
        cdk.CfnOutput(self, "DeadLetterQueue", value=self.runtime.dead_letters.queue_url)
        # Outputs at the stack's top level keep their id as OutputKey: the CLI looks for RunApiUrl.
        cdk.CfnOutput(self, "RunApiUrl", value=self.run_api.url, description="the run API (IAM/SigV4 auth)")
