"""The run store table's keys and indexes: one definition for tests, local mode and the CDK construct.

Access patterns (docs/runtime.md):
- a run with all its tasks, attempts and gates: Query pk = RUN#<execution arn>
- runs of a pipeline, newest first: Query index by_pipeline, pipeline_pk = PIPELINE#<name>, descending
- runs of a pipeline by logical date (backfill): Query index by_logical_date, pipeline_pk = PIPELINE#<name>,
  logical_sk = <logical date>#<run id>
- runs by status: Query index by_status, status_pk = STATUS#<status>, sorted by start time
- an attempt by its job's external id: Query index by_job, job_key = <kind>#<external id>
- attempts still running (for the sweeper): Query index active, active_pk = ACTIVE#<shard>, by start time
"""

from __future__ import annotations

from typing import Any

TTL_ATTRIBUTE = "expires_at"

INDEXES: dict[str, tuple[str, str | None]] = {
    "by_pipeline": ("pipeline_pk", "pipeline_sk"),
    "by_logical_date": ("pipeline_pk", "logical_sk"),
    "by_status": ("status_pk", "status_sk"),
    "by_job": ("job_key", None),
    "active": ("active_pk", "active_sk"),
}


def create_table_request(name: str) -> dict[str, Any]:
    """Arguments for DynamoDB CreateTable (on-demand). Every index key is a string; indexes are sparse."""
    attributes = {"pk", "sk"} | {k for pair in INDEXES.values() for k in pair if k}
    return {
        "TableName": name,
        "BillingMode": "PAY_PER_REQUEST",
        "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
        "AttributeDefinitions": [{"AttributeName": a, "AttributeType": "S"} for a in sorted(attributes)],
        "GlobalSecondaryIndexes": [
            {"IndexName": index,
             "KeySchema": [{"AttributeName": hash_key, "KeyType": "HASH"}]
             + ([{"AttributeName": range_key, "KeyType": "RANGE"}] if range_key else []),
             "Projection": {"ProjectionType": "ALL"}}
            for index, (hash_key, range_key) in INDEXES.items()
        ],
    }
