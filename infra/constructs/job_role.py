"""A pipeline's job role: what Sluice's functions may do to this pipeline's jobs, and nothing of any other.

The dispatch, complete, sweep and api functions assume it to start, find, describe and stop the pipeline's jobs
(functions/adapters/clients.role_clients), so one role holds one pipeline's grants: IAM's policy size limits never
meet the number of pipelines, and a bug in one pipeline's dispatch cannot reach another's jobs.
"""

from __future__ import annotations

from aws_cdk import aws_iam as iam
from constructs import Construct

from sluice.spec import Pipeline

from ..config import EnvConfig
from ..grants import job_grants
from ..nag import acknowledge, as_finding
from ..naming import fill, iam_arn, job_role_name, job_role_path, role_name

# complete starts jobs too: it releases tasks waiting at gates; api stops them: cancelling a run stops its jobs.
JOB_FUNCTIONS = ("dispatch", "complete", "sweep", "api")
INLINE_POLICY_CHARS = 10_240  # IAM: all inline policies of one role together


class JobRole(Construct):
    def __init__(self, scope: Construct, id: str, *, pipeline: Pipeline, config: EnvConfig) -> None:
        super().__init__(scope, id)
        functions = [iam.ArnPrincipal(iam_arn(self, f"role/{role_name(config, f)}")) for f in JOB_FUNCTIONS]
        self.role = iam.Role(
            self, "Role", role_name=job_role_name(config, pipeline.name), path=job_role_path(config),
            assumed_by=iam.CompositePrincipal(*functions),
            description=f"Sluice's functions reach the jobs of pipeline {pipeline.name} ({config.name}) as this role")
        self.grants = job_grants([pipeline], machine_prefix=config.prefix)
        for grant in self.grants:
            self.role.add_to_policy(iam.PolicyStatement(
                sid=grant.sid, actions=list(grant.actions), resources=[fill(self, r) for r in grant.resources],
                conditions={op: {k: [fill(self, v) for v in vs] for k, vs in keys.items()}
                            for op, keys in grant.conditions.items()} or None))
            wild = [as_finding(self, r) for r in grant.resources if "*" in r]
            if wild:
                acknowledge(self.role, "IAM5", f"{grant.sid}: {grant.why_wildcard}", resources=wild)

