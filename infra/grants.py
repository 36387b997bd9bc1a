"""What Sluice's functions may do for a set of pipelines, derived from their specs (no aws_cdk here: pure, fast tests).

Resources are ARN templates: `{partition}`, `{region}` and `{account}` are filled by the stack. A name that is
a template (`etl-{{ params.env }}`) is granted as each name its params' allowed values make, never as a pattern
(sluice/spec/resource_names.py); every grant that keeps a `*` (ids the service makes at start, a task definition
without a revision) says why in `why_wildcard`, and the stacks turn those reasons into cdk-nag acknowledgements.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field

from sluice.spec import Pipeline
from sluice.spec.kinds import ChildPipeline, EcsTask, EmrServerlessJob, EmrStep, GlueJob, LambdaCall
from sluice.spec.problems import Path, format_path
from sluice.spec.resource_names import UnexpandableName, expand
from sluice.template import TemplateError

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


def destinations_settable(function: str) -> bool:
    """Whether Sluice can set a Lambda task function's async-invoke destinations: only on one named literally (a
    template is known at run time only; an ARN may be another account's)."""
    return "{{" not in function and not function.startswith("arn:")


def _ecs_cluster(cluster: str) -> str:
    """The cluster's ARN: as given (another account's stays another account's), or in the stack's account."""
    return cluster if cluster.startswith("arn:") else arn("ecs", f"cluster/{cluster}")


def _ecs_tasks(cluster: str) -> str:
    """The cluster's tasks: arn:...:task/<cluster name>/<task id>, in the cluster's account and region."""
    return _ecs_cluster(cluster).replace(":cluster/", ":task/", 1) + "/*"


def _task_definition(task_definition: str) -> str:
    if task_definition.startswith("arn:"):
        head, _, family_rev = task_definition.partition("task-definition/")
        family, _, revision = family_rev.partition(":")
        return f"{head}task-definition/{family}:{revision or '*'}"
    family, _, revision = task_definition.partition(":")
    return arn("ecs", f"task-definition/{family}:{revision or '*'}")


def _function(function: str) -> str:
    return function if function.startswith("arn:") else arn("lambda", f"function:{function}")


@dataclass
class Collected:
    """Every resource the pipelines name, as exact names (templates expanded to their allowed values)."""

    glue: set[str] = field(default_factory=set)
    emr: set[str] = field(default_factory=set)
    emr_serverless: set[str] = field(default_factory=set)
    emr_serverless_roles: set[str] = field(default_factory=set)
    ecs: dict[str, set[str]] = field(default_factory=lambda: defaultdict(set))  # cluster -> task definitions
    ecs_roles: set[str] = field(default_factory=set)
    functions: set[str] = field(default_factory=set)
    children: set[str] = field(default_factory=set)


def collect(pipelines: Iterable[Pipeline]) -> Collected:
    found = Collected()
    for pipeline in pipelines:
        for task_name, task in pipeline.tasks.items():
            job = task.job
            names = _Names(pipeline, ("tasks", task_name, task.kind))
            if isinstance(job, GlueJob):
                found.glue |= names("job", job.job)
            elif isinstance(job, EmrStep):
                found.emr |= names("cluster_id", job.cluster_id)
            elif isinstance(job, EmrServerlessJob):
                found.emr_serverless |= names("application_id", job.application_id)
                found.emr_serverless_roles |= names("execution_role_arn", job.execution_role_arn)
            elif isinstance(job, EcsTask):
                definitions = names("task_definition", job.task_definition)
                for cluster in names("cluster", job.cluster):
                    found.ecs[cluster] |= definitions
                for i, role in enumerate(job.roles):
                    found.ecs_roles |= names(("roles", i), role)
            elif isinstance(job, LambdaCall):
                found.functions |= names("function", job.function)
            elif isinstance(job, ChildPipeline):
                found.children.add(job.name)
    return found


@dataclass
class _Names:
    """One task's resource names, each expanded to the names its params' allowed values make (never a pattern:
    the file checks refuse what cannot be expanded, and a model built without them fails here, at synth)."""

    pipeline: Pipeline
    base: Path

    def __call__(self, key: str | tuple[str, int], value: str) -> set[str]:
        path = (*self.base, *((key,) if isinstance(key, str) else key))
        try:
            return set(expand(value, self.pipeline.params))
        except (UnexpandableName, TemplateError) as exc:
            raise ValueError(f"pipeline '{self.pipeline.name}': {format_path(path)}: "
                             f"{str(exc).splitlines()[0]}") from None


def job_grants(pipelines: Iterable[Pipeline], *, machine_prefix: str) -> list[Grant]:
    """Start, find, describe and stop exactly the jobs the pipelines name (dispatch, complete and sweep need all
    four: completion releases gated tasks, which starts jobs; the sweeper finds, describes and stops them)."""
    c = collect(pipelines)
    grants: list[Grant] = []
    if c.glue:
        grants.append(Grant("GlueJobs", ("glue:BatchStopJobRun", "glue:GetJobRun", "glue:GetJobRuns",
                                         "glue:StartJobRun"),
                            tuple(arn("glue", f"job/{j}") for j in sorted(c.glue))))
    if c.emr:
        grants.append(Grant("EmrSteps", ("elasticmapreduce:AddJobFlowSteps", "elasticmapreduce:CancelSteps",
                                         "elasticmapreduce:DescribeStep", "elasticmapreduce:ListSteps"),
                            tuple(arn("elasticmapreduce", f"cluster/{j}") for j in sorted(c.emr))))
    if c.emr_serverless:
        apps = [f"/applications/{a}" for a in sorted(c.emr_serverless)]
        grants.append(Grant("EmrServerlessJobs", ("emr-serverless:CancelJobRun", "emr-serverless:GetJobRun",
                                                  "emr-serverless:ListJobRuns", "emr-serverless:StartJobRun",
                                                  "emr-serverless:TagResource"),
                            tuple(arn("emr-serverless", p) for a in apps for p in (a, f"{a}/jobruns/*")),
                            why_wildcard="job run ids are made by the service at start"))
        grants.append(_pass_role("EmrServerlessRoles", c.emr_serverless_roles, "emr-serverless.amazonaws.com"))
    if c.ecs:
        clusters = sorted(c.ecs)
        cluster_arns = [_ecs_cluster(x) for x in clusters]
        definitions = sorted({_task_definition(t) for ts in c.ecs.values() for t in ts})
        grants += [
            Grant("EcsRunTask", ("ecs:RunTask",), tuple(definitions),
                  conditions={"ArnEquals": {"ecs:cluster": cluster_arns}},
                  why_wildcard="a task definition given without a revision runs whichever revision is named"
                  if any(d.endswith(":*") for d in definitions) else None),
            Grant("EcsTasks", ("ecs:DescribeTasks", "ecs:StopTask", "ecs:TagResource"),
                  tuple(_ecs_tasks(x) for x in clusters),
                  why_wildcard="task ids are made by ECS at start"),
            # ListTasks has no resource type of its own: it is scoped by the cluster condition.
            Grant("EcsListTasks", ("ecs:ListTasks",), ("*",), conditions={"ArnEquals": {"ecs:cluster": cluster_arns}},
                  why_wildcard="ecs:ListTasks supports no resource type; the ecs:cluster condition scopes it"),
        ]
        if c.ecs_roles:
            grants.append(_pass_role("EcsTaskRoles", c.ecs_roles, "ecs-tasks.amazonaws.com"))
    if c.functions:
        grants.append(Grant("LambdaTasks", ("lambda:InvokeFunction",),
                            tuple(_function(f) for f in sorted(c.functions))))
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
    return Grant(sid, ("iam:PassRole",), tuple(sorted(roles)),
                 conditions={"StringEquals": {"iam:PassedToService": [service]}})

