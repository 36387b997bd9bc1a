"""Which pipeline stack each pipeline lives in.

CloudFormation allows 500 resources and 1 MB of template per stack: pipelines are packed into numbered stacks
well under both (each state machine carries its whole definition in the template). (IAM's
policy size limits do not bound a stack: each pipeline's job permissions live in its own role, see
infra/constructs/job_role.py; a pipeline whose grants outgrow one role is refused.)

A pipeline never moves once placed: moving it would delete
its state machine in one stack while creating the same name in another, which CloudFormation refuses. So the
placement is kept in a committed file (infra/shards.json, like cdk.context.json): new pipelines go to the first
stack with room, removed ones free their place.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sluice.spec import Pipeline

from .grants import Grant, job_grants

SHARDS_FILE = Path(__file__).with_name("shards.json")
MAX_RESOURCES = 250  # of CloudFormation's 500 per stack: room for the monitoring issue's alarms and later growth
MAX_ROLE_POLICY_CHARS = 10_240  # IAM: all inline policies of one role together
MAX_TEMPLATE_BYTES = 700_000  # of CloudFormation's 1 MB (a template CDK uploads to S3)
# Measured on synthesized templates (bench/fleet.py, 2026-11-29): besides its definition, which sits in the
# template as an escaped string, a pipeline takes ~2,100 bytes per resource as CDK writes them; 2,600 leaves room.
BYTES_PER_RESOURCE = 2_600
STACK_RESOURCES = 16  # per stack, whatever its pipelines: event roles and policies, queue, job rules, dashboard
# The longest partition, region, account and prefix an ARN can get, so estimates never fall short.
_LONGEST = {"partition": "aws-iso-b", "region": "ap-southeast-5", "account": "123456789012"}
_PREFIX = "sluice-" + "x" * 16 + "-"


class ShardError(ValueError):
    pass


def resources_of(pipeline: Pipeline) -> int:
    """CloudFormation resources one pipeline adds: state machine, its role, role policy and log group, its job role
    and policy, the failed-runs alarm, each schedule, each trigger rule, async-invoke settings of each Lambda task."""
    lambdas = sum(1 for t in pipeline.tasks.values() if t.kind == "lambda")
    return 7 + len(pipeline.schedules) + len(pipeline.triggers) + lambdas


def policy_chars(grants: list[Grant]) -> int:
    """An upper estimate of the managed policy's size as IAM counts it."""
    statements = [{"Sid": g.sid, "Effect": "Allow", "Action": list(g.actions),
                   "Resource": [r.format(**_LONGEST) for r in g.resources], "Condition": g.conditions}
                  for g in grants]
    return len(json.dumps({"Version": "2012-10-17", "Statement": statements}, separators=(",", ":")))


@dataclass(frozen=True)
class Cost:
    resources: int
    template_bytes: int

    def __add__(self, other: Cost) -> Cost:
        return Cost(self.resources + other.resources, self.template_bytes + other.template_bytes)

    def fits(self) -> bool:
        return self.resources <= MAX_RESOURCES and self.template_bytes <= MAX_TEMPLATE_BYTES


def cost_of(pipeline: Pipeline, definition: Mapping[str, Any]) -> Cost:
    escaped = len(json.dumps(json.dumps(definition, separators=(",", ":"))))
    resources = resources_of(pipeline)
    return Cost(resources, BYTES_PER_RESOURCE * resources + escaped)


def assign(pipelines: Mapping[str, Pipeline], definitions: Mapping[str, Mapping[str, Any]],
           previous: Mapping[str, int] | None = None) -> dict[str, int]:
    """pipeline name -> stack number (1-based): the previous placement kept, new pipelines packed in."""
    placed = {name: shard for name, shard in (previous or {}).items() if name in pipelines}
    empty = Cost(STACK_RESOURCES, 0)
    used: dict[int, Cost] = {}
    for name, shard in placed.items():
        used[shard] = used.get(shard, empty) + cost_of(pipelines[name], definitions[name])
    for name in sorted(set(pipelines) - set(placed)):
        pipeline = pipelines[name]
        size = policy_chars(job_grants([pipeline], machine_prefix=_PREFIX))
        if size > MAX_ROLE_POLICY_CHARS:
            raise ShardError(f"pipeline '{name}' names more jobs than one IAM role can allow ({size} of "
                             f"{MAX_ROLE_POLICY_CHARS} policy characters); split it into pipelines run as children")
        cost = cost_of(pipeline, definitions[name])
        if not (empty + cost).fits():
            raise ShardError(f"pipeline '{name}' alone needs {cost.resources} CloudFormation resources and "
                             f"~{cost.template_bytes:,} template bytes, more than one stack holds ({MAX_RESOURCES}, "
                             f"{MAX_TEMPLATE_BYTES:,}); split it into pipelines run as children")
        shard = next((s for s in sorted(used) if (used[s] + cost).fits()), max(used, default=0) + 1)
        used[shard] = used.get(shard, empty) + cost
        placed[name] = shard
    return dict(sorted(placed.items()))


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
