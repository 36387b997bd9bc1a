"""Which pipeline stack each pipeline lives in.

CloudFormation allows 500 resources per stack; a role's managed policy 6,144 characters. Pipelines are packed into
numbered stacks under both limits, with room to spare. A pipeline never moves once placed: moving it would delete
its state machine in one stack while creating the same name in another, which CloudFormation refuses. So the
placement is kept in a committed file (infra/shards.json, like cdk.context.json): new pipelines go to the first
stack with room, removed ones free their place.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path

from sluice.spec import Pipeline

from .grants import Grant, job_grants

SHARDS_FILE = Path(__file__).with_name("shards.json")
MAX_RESOURCES = 250  # of CloudFormation's 500 per stack: room for the monitoring issue's alarms and later growth
MAX_POLICY_CHARS = 5_000  # of IAM's 6,144 per managed policy (whitespace not counted)
MAX_SHARDS = 10  # managed policies attached to one role (IAM's default quota): one per pipeline stack
STACK_RESOURCES = 16  # per stack, whatever its pipelines: event roles, queue, job rules, policy, dashboard
# The longest partition, region, account and prefix an ARN can get, so estimates never fall short.
_LONGEST = {"partition": "aws-iso-b", "region": "ap-southeast-5", "account": "123456789012"}
_PREFIX = "sluice-" + "x" * 16 + "-"


class ShardError(ValueError):
    pass


def resources_of(pipeline: Pipeline) -> int:
    """CloudFormation resources one pipeline adds: state machine, its role, role policy and log group, the
    failed-runs alarm, each schedule, each trigger rule, and async-invoke settings of each Lambda task."""
    lambdas = sum(1 for t in pipeline.tasks.values() if t.kind == "lambda")
    return 5 + len(pipeline.schedules) + len(pipeline.triggers) + lambdas


def policy_chars(grants: list[Grant]) -> int:
    """An upper estimate of the managed policy's size as IAM counts it."""
    statements = [{"Sid": g.sid, "Effect": "Allow", "Action": list(g.actions),
                   "Resource": [r.format(**_LONGEST) for r in g.resources], "Condition": g.conditions}
                  for g in grants]
    return len(json.dumps({"Version": "2012-10-17", "Statement": statements}, separators=(",", ":")))


def assign(pipelines: Mapping[str, Pipeline], previous: Mapping[str, int] | None = None) -> dict[str, int]:
    """pipeline name -> stack number (1-based): the previous placement kept, new pipelines packed in."""
    placed = {name: shard for name, shard in (previous or {}).items() if name in pipelines}
    members: dict[int, list[Pipeline]] = {}
    for name, shard in placed.items():
        members.setdefault(shard, []).append(pipelines[name])
    for name in sorted(set(pipelines) - set(placed)):
        pipeline = pipelines[name]
        if not _fits([pipeline]):
            raise ShardError(f"pipeline '{name}' alone needs more than one stack holds ({resources_of(pipeline)} "
                             f"resources, {policy_chars(_grants([pipeline]))} policy characters); split it")
        shard = next((s for s in sorted(members) if _fits([*members[s], pipeline])), max(members, default=0) + 1)
        if shard > MAX_SHARDS:
            raise ShardError(f"{len(pipelines)} pipelines need more than {MAX_SHARDS} pipeline stacks; each stack "
                             "attaches one managed policy to Sluice's function roles, and IAM allows 10 per role "
                             "by default. Raise the 'Managed policies per role' quota and MAX_SHARDS together.")
        members.setdefault(shard, []).append(pipeline)
        placed[name] = shard
    return dict(sorted(placed.items()))


def _grants(pipelines: list[Pipeline]) -> list[Grant]:
    return job_grants(pipelines, machine_prefix=_PREFIX)


def _fits(pipelines: list[Pipeline]) -> bool:
    resources = STACK_RESOURCES + sum(resources_of(p) for p in pipelines)
    return resources <= MAX_RESOURCES and policy_chars(_grants(pipelines)) <= MAX_POLICY_CHARS


def read(path: Path = SHARDS_FILE) -> dict[str, int]:
    if not path.exists():
        return {}
    try:
        data = json.loads(path.read_text())
    except json.JSONDecodeError as exc:
        raise ShardError(f"{path}: not valid JSON ({exc}); restore it from version control") from exc
    if not isinstance(data, dict) or not all(isinstance(v, int) and v >= 1 for v in data.values()):
        raise ShardError(f"{path}: expected {{\"pipeline\": stack number (1, 2, ...)}}; restore it from version "
                         "control")
    return data


def write(placement: Mapping[str, int], path: Path = SHARDS_FILE) -> bool:
    """Write the placement if it changed; True when it did (commit the file)."""
    text = json.dumps(dict(placement), indent=2, sort_keys=True) + "\n"
    if path.exists() and path.read_text() == text:
        return False
    path.write_text(text)
    return True
