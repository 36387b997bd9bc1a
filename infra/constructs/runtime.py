"""Sluice's functions (dispatch, complete, record, sweep, start and the run API's api), each with its own role, log
group and grants."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import aws_cdk as cdk
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_lambda_destinations as destinations
from aws_cdk import aws_logs as logs
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from sluice.catalog import catalog_path

from ..config import EnvConfig
from ..nag import acknowledge, as_finding
from ..naming import (
    FUNCTIONS,
    arn_in,
    fill,
    function_name,
    job_role_arn_prefix,
    job_role_path,
    machine_arn_prefix,
    removal,
    retention,
    role_name,
)
from .job_role import JOB_FUNCTIONS
from .run_store import READ_WRITE, RECORD_ONLY, RUN_API, RunStore

RUNTIME = lambda_.Runtime.PYTHON_3_14  # as infra/lambda_asset.PYTHON_VERSION builds the layer for


DESCRIBE = ("states:DescribeExecution", "states:DescribeStateMachineForExecution")


@dataclass(frozen=True)
class FunctionSpec:
    memory: int
    timeout: int
    store: tuple[str, ...]
    answers_tokens: bool  # SendTaskSuccess/Failure/Heartbeat
    executions: tuple[str, ...] = DESCRIBE  # on executions of Sluice's state machines
    starts_runs: bool = False  # StartExecution on Sluice's state machines
    reads_catalog: bool = False  # the pipeline catalog's SSM parameters (sluice/catalog.py)


SPECS = {
    "dispatch": FunctionSpec(512, 120, READ_WRITE, True),
    "complete": FunctionSpec(512, 120, READ_WRITE, True),
    # prices each ended run from its history (functions/record/cost.py); starts a backfill's next runs as earlier
    # ones end
    "record": FunctionSpec(256, 30, RECORD_ONLY, False, (*DESCRIBE, "states:GetExecutionHistory"), starts_runs=True),
    # at most; see _timeout. It also retries backfill starts that failed when no run end is left to retry them
    "sweep": FunctionSpec(512, 240, READ_WRITE, True, starts_runs=True),
    # behind API Gateway, whose integrations time out at 29 s; cancelling a run stops its execution
    "api": FunctionSpec(512, 29, RUN_API, False, (*DESCRIBE, "states:StopExecution"), starts_runs=True,
                        reads_catalog=True),
    # schedules and trigger rules start runs through it, named per tick or event (functions/start); it finds the
    # run an earlier delivery started by name, and touches no run record
    "start": FunctionSpec(256, 30, (), False, ("states:DescribeExecution",), starts_runs=True),
}
ASYNC = ("complete", "record", "start")  # invoked asynchronously, by EventBridge rules and Scheduler


@dataclass(frozen=True)
class Assets:
    code: Path  # functions/ and the core modules (infra/lambda_asset.build_code)
    layer: Path  # the dependency layer's directory (infra/lambda_asset.build_layer), holding python/


class Runtime(Construct):
    def __init__(self, scope: Construct, id: str, *, config: EnvConfig, store: RunStore, assets: Assets) -> None:
        super().__init__(scope, id)
        self.config = config
        architecture = lambda_.Architecture.ARM_64 if config.architecture == "arm64" else lambda_.Architecture.X86_64
        self.layer = lambda_.LayerVersion(
            self, "Dependencies", code=lambda_.Code.from_asset(str(assets.layer)),
            compatible_runtimes=[RUNTIME], compatible_architectures=[architecture],
            description="Sluice's dependencies: Powertools, the X-Ray SDK, pydantic")
        self.dead_letters = sqs.Queue(
            self, "DeadLetters", queue_name=f"{config.prefix}dead-letters", enforce_ssl=True,
            encryption=sqs.QueueEncryption.SQS_MANAGED, retention_period=cdk.Duration.days(14))
        acknowledge(self.dead_letters, "SQS3", "this queue is the dead-letter queue of the completion, record and "
                    "start functions' asynchronous invocations and of the rules that invoke them")
        code = lambda_.Code.from_asset(str(assets.code))
        self.functions = {name: self._function(name, code, architecture, store) for name in FUNCTIONS}
        for name in ASYNC:  # a failed invocation is retried, then kept in the dead-letter queue
            self.functions[name].configure_async_invoke(
                retry_attempts=2, max_event_age=cdk.Duration.hours(6),
                on_failure=destinations.SqsDestination(self.dead_letters))
        self._schedule_sweep()
        self._listen_to_executions()
        # Job rules live in the pipeline stacks (scoped to their jobs) and are all named with the prefix.
        self.functions["complete"].add_permission(
            "JobRules", principal=iam.ServicePrincipal("events.amazonaws.com"), action="lambda:InvokeFunction",
            source_arn=arn_in(self, "events", f"rule/{config.prefix}*"))
        # Trigger rules, on the default bus (rule/<name>) or a pipeline's own bus (rule/<bus>/<name>), start runs
        # through start; schedules invoke it with the pipeline stack's Scheduler role.
        for sid, rules in (("TriggerRules", f"rule/{config.prefix}*"), ("BusTriggerRules", f"rule/*/{config.prefix}*")):
            self.functions["start"].add_permission(
                sid, principal=iam.ServicePrincipal("events.amazonaws.com"), action="lambda:InvokeFunction",
                source_arn=arn_in(self, "events", rules))

    def _function(self, name: str, code: lambda_.Code, architecture: lambda_.Architecture,
                  store: RunStore) -> lambda_.Function:
        spec, config = SPECS[name], self.config
        log_group = logs.LogGroup(
            self, f"{name.title()}Logs", log_group_name=f"/aws/lambda/{function_name(config, name)}",
            retention=retention(config), removal_policy=removal(config))
        role = iam.Role(self, f"{name.title()}Role", role_name=role_name(config, name),
                        assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
                        description=f"Sluice {name} function ({config.name})")
        log_group.grant_write(role)
        function = lambda_.Function(
            self, name.title(), function_name=function_name(config, name), runtime=RUNTIME,
            architecture=architecture, code=code, handler=f"functions.{name}.handler.handler", layers=[self.layer],
            memory_size=spec.memory, timeout=cdk.Duration.seconds(self._timeout(name)), role=role, log_group=log_group,
            tracing=lambda_.Tracing.ACTIVE if config.tracing else lambda_.Tracing.DISABLED,
            reserved_concurrent_executions=self._reserved(name), environment=self._environment(name, store))
        if spec.store:
            store.grant(function, spec.store)
        self._grant(name, role)
        return function

    def _grant(self, name: str, role: iam.Role) -> None:
        """What the function may do besides the run store and its logs: each `*` acknowledged with its reason."""
        spec, config = SPECS[name], self.config
        executions = f"arn:{{partition}}:states:{{region}}:{{account}}:execution:{config.prefix}*:*"
        machines = f"arn:{{partition}}:states:{{region}}:{{account}}:stateMachine:{config.prefix}*"
        job_roles = f"arn:{{partition}}:iam::{{account}}:role{job_role_path(config)}*"
        if name in JOB_FUNCTIONS:
            role.add_to_policy(iam.PolicyStatement(sid="PipelineJobRoles", actions=["sts:AssumeRole"],
                                                   resources=[fill(self, job_roles)]))
            acknowledge(role, "IAM5", "the job roles of every pipeline of this environment, one per pipeline under "
                        "their own IAM path; each allows only its pipeline's jobs",
                        resources=[as_finding(self, job_roles)])
        if name == "record":  # announces run ends (functions/adapters/notices.py)
            role.add_to_policy(iam.PolicyStatement(sid="RunNotices", actions=["events:PutEvents"],
                                                   resources=[arn_in(self, "events", "event-bus/default")]))
        if spec.answers_tokens:
            role.add_to_policy(iam.PolicyStatement(
                sid="TaskTokens", actions=["states:SendTaskFailure", "states:SendTaskHeartbeat",
                                           "states:SendTaskSuccess"], resources=["*"]))
        if spec.starts_runs:
            role.add_to_policy(iam.PolicyStatement(sid="StartRuns", actions=["states:StartExecution"],
                                                   resources=[fill(self, machines)]))
            acknowledge(role, "IAM5", "runs of whichever pipeline of this environment is asked for (a run API "
                        "request, a backfill's next run): every pipeline's state machine is named with the "
                        "environment's prefix, and pipeline stacks add them without changing this stack",
                        resources=[as_finding(self, machines)])
        if spec.reads_catalog:
            self._read_catalog(role)
        role.add_to_policy(iam.PolicyStatement(sid="SluiceExecutions", actions=list(spec.executions),
                                               resources=[fill(self, executions)]))
        wildcards = ["X-Ray's PutTraceSegments and PutTelemetryRecords have no resource type"] if config.tracing else []
        if spec.answers_tokens:
            wildcards.append("SendTaskSuccess, SendTaskFailure and SendTaskHeartbeat have no resource type: a task "
                             "token names no resource")
        if wildcards:
            acknowledge(role, "IAM5", "; ".join(wildcards), resources=["*"])
        acknowledge(role, "IAM5", "run records, completions, starts and the run API concern executions of every "
                    "Sluice state machine of this environment (their names share the prefix); execution names are "
                    "made per run",
                    resources=[as_finding(self, executions)])

    def _read_catalog(self, role: iam.Role) -> None:
        """The pipeline catalog: list it by path, read one pipeline's parameter."""
        path = catalog_path(self.config.prefix)  # /sluice/<env>/pipelines/
        entries = f"arn:{{partition}}:ssm:{{region}}:{{account}}:parameter{path}*"
        # the path as IAM sees it with and without its trailing '/', which callers may give or leave out
        role.add_to_policy(iam.PolicyStatement(
            sid="CatalogPath", actions=["ssm:GetParametersByPath"],
            resources=[arn_in(self, "ssm", f"parameter{path.rstrip('/')}"), arn_in(self, "ssm", f"parameter{path}")]))
        role.add_to_policy(iam.PolicyStatement(sid="CatalogEntries", actions=["ssm:GetParameter"],
                                               resources=[fill(self, entries)]))
        acknowledge(role, "IAM5", "one parameter per pipeline of this environment under the catalog's path, "
                    "written by the pipeline stacks as pipelines are added", resources=[as_finding(self, entries)])

    def _timeout(self, name: str) -> int:
        if name == "sweep":
            # Shorter than the sweep interval, so with one reserved instance sweeps never overlap (an overlapping
            # one would be throttled and retried by Lambda for hours).
            return max(30, min(SPECS[name].timeout, self.config.sweep_every_minutes * 60 - 30))
        return SPECS[name].timeout

    def _reserved(self, name: str) -> int | None:
        if name == "sweep":
            return 1  # one sweep at a time: two would race to reconcile the same attempts
        if name == "dispatch":
            return self.config.dispatch_reserved_concurrency  # bounds job starts against the services' quotas
        return None

    def _environment(self, name: str, store: RunStore) -> dict[str, str]:
        config, spec = self.config, SPECS[name]
        env = {"RUN_TABLE": store.table.table_name, "RECORD_TTL_DAYS": str(config.record_ttl_days),
               "STATE_MACHINE_ARN_PREFIX": machine_arn_prefix(self, config),
               "JOB_ROLE_ARN_PREFIX": job_role_arn_prefix(self, config), "EVENT_BUS": "default",
               "SWEEP_AFTER_SECONDS": str(config.sweep_after_seconds), "POWERTOOLS_SERVICE_NAME": f"sluice-{name}",
               "POWERTOOLS_METRICS_NAMESPACE": "Sluice", "POWERTOOLS_LOG_LEVEL": "INFO",
               "PYDANTIC_DISABLE_PLUGINS": "__all__"}
        if spec.reads_catalog:
            env["CATALOG_PATH"] = catalog_path(config.prefix)
        if not config.tracing:
            env["POWERTOOLS_TRACE_DISABLED"] = "true"
        return env

    def _schedule_sweep(self) -> None:
        events.Rule(self, "SweepSchedule", rule_name=f"{self.config.prefix}sweep",
                    description="reconcile attempts whose end event never came",
                    schedule=events.Schedule.rate(cdk.Duration.minutes(self.config.sweep_every_minutes)),
                    targets=[targets.LambdaFunction(self.functions["sweep"], retry_attempts=0)])

    def _listen_to_executions(self) -> None:
        """Execution status changes of Sluice's state machines: run records, and the end of child runs."""
        rule = events.Rule(
            self, "Executions", rule_name=f"{self.config.prefix}executions",
            description="Step Functions status changes of Sluice state machines",
            event_pattern=events.EventPattern(
                source=["aws.states"], detail_type=["Step Functions Execution Status Change"],
                detail={"stateMachineArn": [{"prefix": machine_arn_prefix(self, self.config)}]}))
        for name in ("record", "complete"):
            rule.add_target(targets.LambdaFunction(
                self.functions[name], dead_letter_queue=self.dead_letters, retry_attempts=8,
                max_event_age=cdk.Duration.hours(6)))

