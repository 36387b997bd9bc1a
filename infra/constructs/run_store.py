"""The run store: one DynamoDB table for runs, tasks, attempts and gates (layout: sluice/run_store_schema.py)."""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_iam as iam
from constructs import Construct

from sluice.run_store_schema import INDEXES, TTL_ATTRIBUTE

from ..config import EnvConfig

# What each function does to the table (functions/adapters/run_store.py and runs.py), nothing more.
READ_WRITE = ("dynamodb:DeleteItem", "dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:Query", "dynamodb:UpdateItem")
RECORD_ONLY = ("dynamodb:GetItem", "dynamodb:Query", "dynamodb:UpdateItem")  # Query: a run's items, to price it
# The run API reads runs in batches; DeleteItem: Powertools Idempotency deletes its record when a request fails.
RUN_API = ("dynamodb:BatchGetItem", *READ_WRITE)


class RunStore(Construct):
    def __init__(self, scope: Construct, id: str, *, config: EnvConfig) -> None:
        super().__init__(scope, id)
        string = dynamodb.AttributeType.STRING
        self.table = dynamodb.Table(
            self, "Table", table_name=f"{config.prefix}runs",
            partition_key=dynamodb.Attribute(name="pk", type=string),
            sort_key=dynamodb.Attribute(name="sk", type=string),
            billing_mode=dynamodb.BillingMode.PAY_PER_REQUEST,
            encryption=dynamodb.TableEncryption.AWS_MANAGED,
            point_in_time_recovery_specification=dynamodb.PointInTimeRecoverySpecification(
                point_in_time_recovery_enabled=True),
            time_to_live_attribute=TTL_ATTRIBUTE,
            deletion_protection=config.removal_policy == "retain",
            removal_policy=cdk.RemovalPolicy.RETAIN if config.removal_policy == "retain" else cdk.RemovalPolicy.DESTROY,
        )
        for index, (hash_key, range_key) in INDEXES.items():
            self.table.add_global_secondary_index(
                index_name=index, partition_key=dynamodb.Attribute(name=hash_key, type=string),
                sort_key=dynamodb.Attribute(name=range_key, type=string) if range_key else None,
                projection_type=dynamodb.ProjectionType.ALL)

    def grant(self, grantee: iam.IGrantable, actions: tuple[str, ...]) -> None:
        """Exactly these actions on the table and its named indexes (no index/* wildcard)."""
        arn = self.table.table_arn
        grantee.grant_principal.add_to_principal_policy(iam.PolicyStatement(
            sid="RunStore", actions=list(actions),
            resources=[arn, *(f"{arn}/index/{index}" for index in INDEXES)]))
