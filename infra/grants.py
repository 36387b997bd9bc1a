"""What Sluice's functions may do for a set of pipelines, derived from their specs (no aws_cdk here: pure, fast tests).

Resources are ARN templates: `{partition}`, `{region}` and `{account}` are filled by the stack. A name that is
a template (`{{ params.cluster }}`) becomes `*` in its place, the narrowest pattern known at synth time; every
grant that keeps a `*` says why in `wildcards`, and the stacks turn those reasons into cdk-nag acknowledgements.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field

from sluice.spec import Pipeline
from sluice.spec.kinds import ChildPipeline, EcsTask, EmrServerlessJob, EmrStep, GlueJob, LambdaCall

_TEMPLATE = re.compile(r"\{\{.*?\}\}", re.DOTALL)
_ARN = "arn:{partition}:"


@dataclass(frozen=True)
class Grant:
    """One IAM statement: actions on resources, with optional conditions (operator -> key -> values)."""

    sid: str
    actions: tuple[str, ...]
    resources: tuple[str, ...]
    conditions: dict[str, dict[str, list[str]]] = field(default_factory=dict)
    why_wildcard: str | None = None  # set when a resource holds '*': the reason, for the reviewer and cdk-nag


def arn(service: str, path: str) -> str:
    return f"{_ARN}{service}:{{region}}:{{account}}:{path}"


def pattern(name: str) -> str:
    """A name with its templates replaced by '*': what IAM can match before the run renders it."""
    return re.sub(r"\*+", "*", _TEMPLATE.sub("*", name))


def templated(names: Iterable[str]) -> list[str]:
    return sorted(n for n in names if _TEMPLATE.search(n))


def destinations_settable(function: str) -> bool:
    """Whether Sluice can set a Lambda task function's async-invoke destinations: only on one named literally (a
    template is known at run time only; an ARN may be another account's)."""
    return "{{" not in function and not function.startswith("arn:")


def _ecs_cluster(cluster: str) -> str:
    """The cluster's ARN: as given (another account's stays another account's), or in the stack's account."""
    return pattern(cluster) if cluster.startswith("arn:") else arn("ecs", f"cluster/{pattern(cluster)}")


def _ecs_tasks(cluster: str) -> str:
    """The cluster's tasks: arn:...:task/<cluster name>/<task id>, in the cluster's account and region."""
    return _ecs_cluster(cluster).replace(":cluster/", ":task/", 1) + "/*"


def _task_definition(task_definition: str) -> str:
    if task_definition.startswith("arn:"):
        head, _, family_rev = task_definition.partition("task-definition/")
        family, _, revision = family_rev.partition(":")
        return pattern(f"{head}task-definition/{family}:{revision or '*'}")
    family, _, revision = task_definition.partition(":")
    return arn("ecs", f"task-definition/{pattern(family)}:{pattern(revision) if revision else '*'}")


def _function(function: str) -> str:
    if function.startswith("arn:"):
        return pattern(function)
    return arn("lambda", f"function:{pattern(function)}")


@dataclass
class _Collected:
    glue: set[str] = field(default_factory=set)
    emr: set[str] = field(default_factory=set)
    emr_serverless: set[str] = field(default_factory=set)
    emr_serverless_roles: set[str] = field(default_factory=set)
    ecs: dict[str, set[str]] = field(default_factory=lambda: defaultdict(set))  # cluster -> task definitions
    ecs_roles: set[str] = field(default_factory=set)
    functions: set[str] = field(default_factory=set)
    children: set[str] = field(default_factory=set)
    names: set[str] = field(default_factory=set)  # every name as written, to find the templated ones


def _collect(pipelines: Iterable[Pipeline]) -> _Collected:
    found = _Collected()
    for pipeline in pipelines:
        for task in pipeline.tasks.values():
            job = task.job
            if isinstance(job, GlueJob):
                found.glue.add(job.job)
                found.names.add(job.job)
            elif isinstance(job, EmrStep):
                found.emr.add(job.cluster_id)
                found.names.add(job.cluster_id)
            elif isinstance(job, EmrServerlessJob):
                found.emr_serverless.add(job.application_id)
                found.emr_serverless_roles.add(job.execution_role_arn)
                found.names |= {job.application_id, job.execution_role_arn}
            elif isinstance(job, EcsTask):
                found.ecs[job.cluster].add(job.task_definition)
                found.ecs_roles |= set(job.roles)
                found.names |= {job.cluster, job.task_definition, *job.roles}
            elif isinstance(job, LambdaCall):
                found.functions.add(job.function)
                found.names.add(job.function)
            elif isinstance(job, ChildPipeline):
                found.children.add(job.name)
    return found


def _why(kind: str, names: Iterable[str], inherent: str | None) -> str | None:
    dynamic = templated(names)
    parts = [inherent] if inherent else []
    if dynamic:
        parts.append(f"{kind} named by templates resolved at run time: {', '.join(dynamic)}")
    return "; ".join(parts) or None


def job_grants(pipelines: Iterable[Pipeline], *, machine_prefix: str) -> list[Grant]:
    """Start, find, describe and stop exactly the jobs the pipelines name (dispatch, complete and sweep need all
    four: completion releases gated tasks, which starts jobs; the sweeper finds, describes and stops them)."""
    c = _collect(pipelines)
    grants: list[Grant] = []
    if c.glue:
        grants.append(Grant("GlueJobs", ("glue:BatchStopJobRun", "glue:GetJobRun", "glue:GetJobRuns",
                                         "glue:StartJobRun"),
                            tuple(arn("glue", f"job/{pattern(j)}") for j in sorted(c.glue)),
                            why_wildcard=_why("Glue jobs", c.glue, None)))
    if c.emr:
        grants.append(Grant("EmrSteps", ("elasticmapreduce:AddJobFlowSteps", "elasticmapreduce:CancelSteps",
                                         "elasticmapreduce:DescribeStep", "elasticmapreduce:ListSteps"),
                            tuple(arn("elasticmapreduce", f"cluster/{pattern(j)}") for j in sorted(c.emr)),
                            why_wildcard=_why("EMR clusters", c.emr, None)))
    if c.emr_serverless:
        apps = [f"/applications/{pattern(a)}" for a in sorted(c.emr_serverless)]
        grants.append(Grant("EmrServerlessJobs", ("emr-serverless:CancelJobRun", "emr-serverless:GetJobRun",
                                                  "emr-serverless:ListJobRuns", "emr-serverless:StartJobRun",
                                                  "emr-serverless:TagResource"),
                            tuple(arn("emr-serverless", p) for a in apps for p in (a, f"{a}/jobruns/*")),
                            why_wildcard=_why("EMR Serverless applications", c.emr_serverless,
                                              "job run ids are made by the service at start")))
        grants.append(_pass_role("EmrServerlessRoles", c.emr_serverless_roles, "emr-serverless.amazonaws.com"))
    if c.ecs:
        clusters = sorted(c.ecs)
        cluster_arns = [_ecs_cluster(x) for x in clusters]
        definitions = sorted({_task_definition(t) for ts in c.ecs.values() for t in ts})
        grants += [
            Grant("EcsRunTask", ("ecs:RunTask",), tuple(definitions),
                  conditions={"ArnEquals": {"ecs:cluster": cluster_arns}},
                  why_wildcard=_why("ECS task definitions", [t for ts in c.ecs.values() for t in ts],
                                    "a task definition given without a revision runs whichever revision is named"
                                    if any(":" not in t.split("/")[-1] for ts in c.ecs.values() for t in ts)
                                    else None)),
            Grant("EcsTasks", ("ecs:DescribeTasks", "ecs:StopTask", "ecs:TagResource"),
                  tuple(_ecs_tasks(x) for x in clusters),
                  why_wildcard=_why("ECS clusters", clusters, "task ids are made by ECS at start")),
            # ListTasks has no resource type of its own: it is scoped by the cluster condition.
            Grant("EcsListTasks", ("ecs:ListTasks",), ("*",), conditions={"ArnEquals": {"ecs:cluster": cluster_arns}},
                  why_wildcard="ecs:ListTasks supports no resource type; the ecs:cluster condition scopes it"),
        ]
        if c.ecs_roles:
            grants.append(_pass_role("EcsTaskRoles", c.ecs_roles, "ecs-tasks.amazonaws.com"))
    if c.functions:
        grants.append(Grant("LambdaTasks", ("lambda:InvokeFunction",),
                            tuple(_function(f) for f in sorted(c.functions)),
                            why_wildcard=_why("Lambda functions", c.functions, None)))
    if c.children:
        children = sorted(c.children)
        grants += [
            Grant("ChildPipelinesStart", ("states:StartExecution",),
                  tuple(arn("states", f"stateMachine:{machine_prefix}{p}") for p in children)),
            Grant("ChildPipelineRuns", ("states:DescribeExecution", "states:StopExecution"),
                  tuple(arn("states", f"execution:{machine_prefix}{p}:*") for p in children),
                  why_wildcard="execution names are made per run"),
        ]
    return grants


def _pass_role(sid: str, roles: set[str], service: str) -> Grant:
    return Grant(sid, ("iam:PassRole",), tuple(pattern(r) for r in sorted(roles)),
                 conditions={"StringEquals": {"iam:PassedToService": [service]}},
                 why_wildcard=_why("roles", roles, None))

