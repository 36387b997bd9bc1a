"""A fleet of realistic pipelines for synth benchmarks and the sharding tests: `fleet(n)` gives n validated
pipelines of 10 tasks each over every job kind, with their own job names (so IAM policies grow as they would),
a schedule in a time zone, an S3 trigger on every third and a child run of the previous pipeline on every fifth.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from sluice.spec import Pipeline  # noqa: E402

ROLE = "arn:aws:iam::123456789012:role/"
NETWORK = {"subnets": ["subnet-0a1b2c3d4e5f60001"], "security_groups": ["sg-0123456789abcdef0"]}


def fleet_pipeline(i: int) -> Pipeline:
    name = f"team{i:03d}-daily-etl"
    tasks: dict[str, Any] = {
        "extract": {"glue": {"job": f"team{i:03d}-extract", "arguments": {"date": "{{ ds }}"}}},
        "extract_refs": {"glue": {"job": f"team{i:03d}-extract-refs"}},
        "clean": {"depends_on": ["extract"], "glue": {"job": f"team{i:03d}-clean"}},
        "features": {"depends_on": ["clean", "extract_refs"],
                     "emr": {"cluster_id": f"j-TEAM{i:03d}CLUSTER", "spark_submit": ["s3://code/features.py"]}},
        "aggregate": {"depends_on": ["clean"], "emr_serverless": {
            "application_id": f"00team{i:03d}app", "execution_role_arn": f"{ROLE}team{i:03d}-spark",
            "entry_point": "s3://code/aggregate.py", "args": ["--date", "{{ ds }}"]}},
        "score": {"depends_on": ["features", "aggregate"], "ecs": {
            "cluster": f"team{i:03d}", "task_definition": f"team{i:03d}-scorer:3", "network": NETWORK,
            "roles": [f"{ROLE}team{i:03d}-scorer-task", f"{ROLE}team{i:03d}-scorer-exec"]}},
        "load": {"depends_on": ["score"], "ecs": {
            "cluster": f"team{i:03d}", "task_definition": f"team{i:03d}-loader", "network": NETWORK}},
        "publish": {"depends_on": ["load"], "lambda": {"function": f"team{i:03d}-publish"}},
        "audit": {"depends_on": ["extract"], "lambda": {"function": f"team{i:03d}-audit"}},
        "notify": {"depends_on": ["publish"], "trigger_rule": "one_failed",
                   "lambda": {"function": f"team{i:03d}-notify"}},
    }
    if i % 5 == 4:
        tasks["audit"] = {"depends_on": ["extract"], "pipeline": {"name": f"team{i - 1:03d}-daily-etl"}}
    spec: dict[str, Any] = {
        "name": name, "owner": f"team{i:03d}@example.com", "tasks": tasks,
        "schedules": [{"cron": f"{i % 60} 3 * * *", "timezone": "Europe/Berlin"}]}
    if i % 3 == 0:
        spec["triggers"] = [{"s3": {"bucket": f"team{i:03d}-drop", "prefix": "in/", "suffix": ".csv"}}]
    return Pipeline.model_validate(spec)


def fleet(n: int) -> dict[str, Pipeline]:
    """n pipelines; the child runs of every fifth refer to the one before it, which is always in the fleet."""
    return {p.name: p for p in (fleet_pipeline(i) for i in range(n))}


if __name__ == "__main__":
    size = int(sys.argv[1]) if len(sys.argv) > 1 else 50
    pipelines = fleet(size)
    print(f"{len(pipelines)} pipelines, {sum(len(p.tasks) for p in pipelines.values())} tasks")
