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
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sluice.spec import Pipeline

from .catalog import entry_value
from .grants import Grant, destinations_settable, job_grants

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
    and policy, its dashboard, its catalog parameter (the run API's), its alarms (failed runs, timed-out runs,
    max_duration, each task's expected_duration), each schedule, each trigger rule, async-invoke settings of each
    Lambda task."""
    tasks = pipeline.tasks.values()
    lambdas = sum(1 for t in tasks if t.kind == "lambda")
    alarms = 1 + bool(pipeline.timeout) + bool(pipeline.max_duration) + sum(1 for t in tasks if t.expected_duration)
    alarms += 2 * bool(pipeline.deadline)  # its alarm and the schedule that checks it
    return 8 + alarms + len(pipeline.schedules) + len(pipeline.triggers) + lambdas


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
    """Resources, and template bytes: the definition and the catalog entry sit in the template as escaped strings.
    Raises CatalogError for a pipeline whose spec cannot be a catalog entry."""
    escaped = len(json.dumps(json.dumps(definition, separators=(",", ":")))) + len(json.dumps(entry_value(pipeline)))
    resources = resources_of(pipeline)
    return Cost(resources, BYTES_PER_RESOURCE * resources + escaped)


HARD_RESOURCES = 480  # CloudFormation: 500 per stack
HARD_TEMPLATE_BYTES = 950_000  # CloudFormation: 1 MB for a template in S3


@dataclass(frozen=True)
class Placement:
    """What infra/shards.json keeps: each pipeline's stack; how many stacks there have been (an emptied stack is
    still synthesized, so deploying it deletes what its removed pipelines left); and which stack sets each Lambda
    function's async-invoke destinations (one per function, and it must not move either)."""

    pipelines: dict[str, int]
    stacks: int = 0
    destinations: dict[str, int] = field(default_factory=dict)

    def members(self, stack: int) -> list[str]:
        return sorted(name for name, s in self.pipelines.items() if s == stack)


def assign(pipelines: Mapping[str, Pipeline], definitions: Mapping[str, Mapping[str, Any]],
           previous: Placement | None = None) -> Placement:
    """The previous placement kept, new pipelines packed into the first stack with room, every stack checked."""
    previous = previous or Placement({})
    placed = {name: shard for name, shard in previous.pipelines.items() if name in pipelines}
    for name in sorted(pipelines):
        size = policy_chars(job_grants([pipelines[name]], machine_prefix=_PREFIX))
        if size > MAX_ROLE_POLICY_CHARS:
            raise ShardError(f"pipeline '{name}' names more jobs than one IAM role can allow ({size} of "
                             f"{MAX_ROLE_POLICY_CHARS} policy characters); split it into pipelines run as children")
    costs = {name: cost_of(pipelines[name], definitions[name]) for name in pipelines}
    stacks = max([previous.stacks, *placed.values(), *previous.destinations.values()], default=0)
    used = {shard: Cost(STACK_RESOURCES, 0) for shard in range(1, stacks + 1)}
    for name, shard in placed.items():
        used[shard] = used[shard] + costs[name]
    for name in sorted(set(pipelines) - set(placed)):
        cost = costs[name]
        if not (Cost(STACK_RESOURCES, 0) + cost).fits():
            raise ShardError(f"pipeline '{name}' alone needs {cost.resources} CloudFormation resources and "
                             f"~{cost.template_bytes:,} template bytes, more than one stack holds ({MAX_RESOURCES}, "
                             f"{MAX_TEMPLATE_BYTES:,}); split it into pipelines run as children")
        shard = next((s for s in sorted(used) if (used[s] + cost).fits()), len(used) + 1)
        used[shard] = used.get(shard, Cost(STACK_RESOURCES, 0)) + cost
        placed[name] = shard
    placement = Placement(dict(sorted(placed.items())), max(used, default=0),
                          _destinations(pipelines, placed, previous.destinations))
    _check_hard_limits(placement, used)
    return placement


def _destinations(pipelines: Mapping[str, Pipeline], placed: Mapping[str, int],
                  previous: Mapping[str, int]) -> dict[str, int]:
    """Literal Lambda function names -> the stack that sets their destinations: kept while any pipeline uses the
    function (moving the setting would create it in one stack before another deletes it, which Lambda refuses)."""
    users: dict[str, list[str]] = {}
    for name, pipeline in pipelines.items():
        for task in pipeline.tasks.values():
            function = getattr(task.job, "function", None)
            if task.kind == "lambda" and function and destinations_settable(function):
                # 'fn' and 'fn:$LATEST' are one setting; an alias or version is its own
                users.setdefault(function.removesuffix(":$LATEST"), []).append(name)
    return {f: previous.get(f) or min(placed[n] for n in users[f]) for f in sorted(users)}


def _check_hard_limits(placement: Placement, used: Mapping[int, Cost]) -> None:
    """Pipelines never move, so one that grew can take its stack past CloudFormation's limits: say which."""
    for shard, cost in sorted(used.items()):
        if cost.resources > HARD_RESOURCES or cost.template_bytes > HARD_TEMPLATE_BYTES:
            raise ShardError(
                f"stack {shard} would hold ~{cost.resources} resources and ~{cost.template_bytes:,} template bytes, "
                f"past CloudFormation's limits (500, 1 MB), because its pipelines grew: "
                f"{', '.join(placement.members(shard))}. Move one to a new stack number in infra/shards.json; "
                "its state machine is then replaced: deploy the stack it leaves before the one it joins")


def read(path: Path = SHARDS_FILE) -> Placement:
    if not path.exists():
        return Placement({})
    try:
        data = json.loads(path.read_text())
    except json.JSONDecodeError as exc:
        raise ShardError(f"{path}: not valid JSON ({exc}); restore it from version control") from exc
    expected = ('{"pipelines": {name: stack}, "stacks": count, "lambda_destinations": {function: stack}} with '
                "stack numbers 1, 2, ...")
    if not isinstance(data, dict) or set(data) - {"pipelines", "stacks", "lambda_destinations"}:
        raise ShardError(f"{path}: expected {expected}; restore it from version control")
    maps = [data.get("pipelines", {}), data.get("lambda_destinations", {})]
    stacks = data.get("stacks", 0)
    if not all(isinstance(m, dict) and all(isinstance(v, int) and v >= 1 for v in m.values()) for m in maps) or (
            not isinstance(stacks, int) or stacks < 0):
        raise ShardError(f"{path}: expected {expected}; restore it from version control")
    return Placement(dict(maps[0]), stacks, dict(maps[1]))


def write(placement: Placement, path: Path = SHARDS_FILE) -> bool:
    """Write the placement if it changed; True when it did (commit the file)."""
    data = {"pipelines": placement.pipelines, "stacks": placement.stacks,
            "lambda_destinations": placement.destinations}
    text = json.dumps(data, indent=2, sort_keys=True) + "\n"
    if path.exists() and path.read_text() == text:
        return False
    path.write_text(text)
    return True
