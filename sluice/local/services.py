"""The AWS side of a local run, inside moto: the resources a pipeline's tasks name, and the ends of their jobs.

`provision` creates what each task needs to start under the very ids the pipeline file names (Glue jobs, EMR
clusters, EMR Serverless applications, ECS clusters, task definition revisions, subnets and security groups,
Lambda functions). moto generates its own ids for clusters, applications, subnets and security groups, so those
are re-keyed in moto's backends.

`end_job` sets a job's final state in its moto service (what DescribeX then answers) and returns the EventBridge
event AWS sends for that end, shaped like the documented examples (tests/events): for ECS and Step Functions the
detail is the service's own Task / DescribeExecution output.
"""

from __future__ import annotations

import json
import math
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from functions.adapters.clock import iso_utc
from functions.adapters.jobs.base import JobRef
from functions.events.types import function_name
from sluice.spec import Pipeline

from .moto_quirks import call_lock

ACCOUNT = "123456789012"
SPARK_RELEASE = "emr-7.0.0"
IDENTIFIERS = frozenset({"job", "cluster_id", "application_id", "cluster", "task_definition", "network", "function"})


@dataclass(frozen=True)
class Outcome:
    """How a job ends: its exit code when it had one, and the error text when it failed."""

    succeeded: bool
    error: str | None = None
    exit_code: int | None = None
    output: Any = None  # a Lambda function's response payload
    stopped: bool = False  # stopped from outside (the run ended or was stopped), not failed by itself


def provision(clients: Any, region: str, pipelines: list[Pipeline], role_arn: str) -> None:
    """Create every resource the tasks of these pipelines start jobs on (each once)."""
    done: set[tuple[str, str]] = set()

    def once(kind: str, name: str) -> bool:
        fresh = (kind, name) not in done
        done.add((kind, name))
        return fresh

    for pipeline in pipelines:
        for task in pipeline.tasks.values():
            config = task.job.model_dump(mode="json", by_alias=True)
            names = {key: value for key, value in config.items() if key in IDENTIFIERS}
            if "{{" in json.dumps(names):
                continue  # names rendered at dispatch: a job on a resource moto lacks fails with AWS's error
            if task.kind == "glue" and once("glue", config["job"]):
                clients("glue").create_job(Name=config["job"], Role=role_arn, ExecutionProperty={
                    "MaxConcurrentRuns": 1000}, Command={"Name": "glueetl", "ScriptLocation": "s3://local/job.py"})
            elif task.kind == "emr" and once("emr", config["cluster_id"]):
                _emr_cluster(clients, region, config["cluster_id"])
            elif task.kind == "emr_serverless" and once("emr_serverless", config["application_id"]):
                _emr_serverless_application(clients, region, config["application_id"])
            elif task.kind == "ecs":
                _ecs_resources(clients, region, config, once)
            elif task.kind == "lambda" and once("lambda", function := config["function"].rsplit(":function:")[-1]):
                clients("lambda").create_function(FunctionName=function.split(":")[0], Runtime="python3.12",
                                                  Role=role_arn, Handler="local.handler", Code={"ZipFile": b"local"})


def _backend(module: str, name: str, region: str) -> Any:
    backends = getattr(__import__(f"moto.{module}.models", fromlist=[name]), name)
    return backends[ACCOUNT][region]


def _emr_cluster(clients: Any, region: str, cluster_id: str) -> None:
    made = clients("emr").run_job_flow(
        Name=f"local-{cluster_id}", ReleaseLabel=SPARK_RELEASE, JobFlowRole="EMR_EC2_DefaultRole",
        ServiceRole="EMR_DefaultRole", Instances={"KeepJobFlowAliveWhenNoSteps": True, "InstanceCount": 1,
                                                  "MasterInstanceType": "m5.xlarge"})["JobFlowId"]
    clusters = _backend("emr", "emr_backends", region).clusters
    cluster = clusters.pop(made)
    cluster.id = cluster_id
    clusters[cluster_id] = cluster


def _emr_serverless_application(clients: Any, region: str, application_id: str) -> None:
    made = clients("emr-serverless").create_application(name=f"local-{application_id}", type="SPARK",
                                                        releaseLabel=SPARK_RELEASE)["applicationId"]
    backend = _backend("emrserverless", "emrserverless_backends", region)
    application = backend.applications.pop(made)
    application.id = application_id
    application.arn = application.arn.replace(made, application_id)
    backend.applications[application_id] = application


def _ecs_resources(clients: Any, region: str, config: dict[str, Any], once: Any) -> None:
    ecs = clients("ecs")
    if once("ecs-cluster", config["cluster"]):
        ecs.create_cluster(clusterName=config["cluster"])
    family, _, revision = config["task_definition"].rsplit("task-definition/", 1)[-1].rpartition(":")
    if not family or not revision.isdigit():  # "family" alone means its latest revision
        family, revision = config["task_definition"].rsplit("task-definition/", 1)[-1], "1"
    if once("ecs-task-definition", family):
        for _ in range(int(revision)):  # revisions count from 1: register up to the one named
            ecs.register_task_definition(
                family=family, networkMode="awsvpc", requiresCompatibilities=["FARGATE", "EC2"], cpu="4096",
                memory="16384", containerDefinitions=[{"name": config.get("container") or "main", "image": "local",
                                                       "memory": 512}])
    network = config.get("network") or {}
    for subnet in network.get("subnets", []):
        if once("subnet", subnet):
            _subnet(clients, region, subnet)
    for group in network.get("security_groups", []):
        if once("security-group", group):
            _security_group(clients, region, group)


def _vpc(clients: Any) -> str:
    vpcs = clients("ec2").describe_vpcs(Filters=[{"Name": "tag:sluice", "Values": ["local"]}])["Vpcs"]
    if vpcs:
        return str(vpcs[0]["VpcId"])
    vpc = clients("ec2").create_vpc(CidrBlock="10.0.0.0/16", TagSpecifications=[
        {"ResourceType": "vpc", "Tags": [{"Key": "sluice", "Value": "local"}]}])["Vpc"]["VpcId"]
    clients("ec2").modify_vpc_attribute(VpcId=vpc, EnableDnsHostnames={"Value": True})
    return str(vpc)


def _subnet(clients: Any, region: str, subnet_id: str) -> None:
    ec2 = clients("ec2")
    count = len(ec2.describe_subnets(Filters=[{"Name": "vpc-id", "Values": [_vpc(clients)]}])["Subnets"])
    made = ec2.create_subnet(VpcId=_vpc(clients), CidrBlock=f"10.0.{count}.0/24")["Subnet"]
    zone = _backend("ec2", "ec2_backends", region).subnets[made["AvailabilityZone"]]
    subnet = zone.pop(made["SubnetId"])
    subnet.id = subnet_id
    zone[subnet_id] = subnet


def _security_group(clients: Any, region: str, group_id: str) -> None:
    vpc = _vpc(clients)
    made = clients("ec2").create_security_group(GroupName=f"local-{group_id}", Description="sluice local",
                                                VpcId=vpc)["GroupId"]
    groups = _backend("ec2", "ec2_backends", region).groups[vpc]
    group = groups.pop(made)
    group.id = group_id
    groups[group_id] = group


# ---- job ends ------------------------------------------------------------------------------------------------


Ended = tuple[str, str, dict[str, Any], list[str]]  # source, detail-type, detail, resources


def end_job(clients: Any, region: str, ref: JobRef, outcome: Outcome, payload: Any = None) -> dict[str, Any]:
    """Set the job's final state in moto and return the end event AWS would deliver to `complete`: for a Lambda
    task, the invocation record its destination delivers to the function itself; otherwise an EventBridge event."""
    if ref.kind == "lambda":
        return lambda_record(region, ref, outcome, payload)
    ender = _ENDERS[ref.kind]
    with call_lock():  # it changes moto's backend objects directly: as one call, like every request
        source, detail_type, detail, resources = ender(clients, region, ref, outcome, payload)
    return envelope(source, detail_type, detail, region, resources)


def envelope(source: str, detail_type: str, detail: dict[str, Any], region: str,
             resources: list[str] | None = None) -> dict[str, Any]:
    return {"version": "0", "id": str(uuid.uuid4()), "detail-type": detail_type, "source": source,
            "account": ACCOUNT, "time": _now().strftime("%Y-%m-%dT%H:%M:%SZ"), "region": region,
            "resources": resources or [], "detail": detail}


def _glue(clients: Any, region: str, ref: JobRef, outcome: Outcome, _: Any) -> Ended:
    name = ref.details["job_name"]
    run = _backend("glue", "glue_backends", region).get_job_run(name, ref.external_id)
    state = "SUCCEEDED" if outcome.succeeded else "STOPPED" if outcome.stopped else "FAILED"
    run.status = state
    if not outcome.succeeded:
        run.error_message = outcome.error
    # moto reports every run as 123 s (ExecutionTime), which the run's cost would price as if real: report the
    # run's own duration, scripted or measured, in whole seconds as Glue does.
    run.completed_on = _now().replace(tzinfo=None)  # moto's times are naive UTC
    seconds = max(1, math.ceil((run.completed_on - run.started_on).total_seconds()))
    reported = run.as_dict
    run.as_dict = lambda: {**reported(), "ExecutionTime": seconds}
    message = ("Job run succeeded" if outcome.succeeded else f"Job run stopped: {outcome.error}" if outcome.stopped
               else f"JobName:{name} and JobRunId:{ref.external_id} failed to execute with exception {outcome.error}")
    return "aws.glue", "Glue Job State Change", {
        "jobName": name, "severity": "INFO" if outcome.succeeded else "ERROR", "state": state,
        "jobRunId": ref.external_id, "message": message}, []


def _emr(clients: Any, region: str, ref: JobRef, outcome: Outcome, _: Any) -> Ended:
    cluster = ref.details["cluster_id"]
    step = _backend("emr", "emr_backends", region).describe_step(cluster, ref.external_id)
    state = "COMPLETED" if outcome.succeeded else "CANCELLED" if outcome.stopped else "FAILED"
    step.state = state
    at = _now().strftime("%Y-%m-%d %H:%M UTC")
    message = f"Step {ref.external_id} ({step.name}) in Amazon EMR cluster {cluster} " \
              f"{'completed execution' if outcome.succeeded else state.lower()} at {at}."
    detail: dict[str, Any] = {"severity": "INFO" if outcome.succeeded else "ERROR", "actionOnFailure": "CONTINUE",
                              "stepId": ref.external_id, "name": step.name, "clusterId": cluster, "state": state,
                              "message": message}
    if not outcome.succeeded and not outcome.stopped:
        detail["failureDetails"] = {"reason": outcome.error, "message": outcome.error}
    return "aws.emr", "EMR Step Status Change", detail, [f"arn:aws:elasticmapreduce:{region}:{ACCOUNT}:cluster/"
                                                         f"{cluster}"]


def _emr_serverless(clients: Any, region: str, ref: JobRef, outcome: Outcome, _: Any) -> Ended:
    application = ref.details["application_id"]
    run = _backend("emrserverless", "emrserverless_backends", region).get_job_run(application, ref.external_id)
    state = "SUCCESS" if outcome.succeeded else "CANCELLED" if outcome.stopped else "FAILED"
    previous, run.state, run.state_details = run.state, state, outcome.error
    now = _now().isoformat().replace("+00:00", "Z")
    return "aws.emr-serverless", "EMR Serverless Job Run State Change", {
        "jobRunId": ref.external_id, "applicationId": application, "arn": run.arn, "releaseLabel": SPARK_RELEASE,
        "state": state, "previousState": previous, "stateDetails": outcome.error or "",
        "createdBy": f"arn:aws:sts::{ACCOUNT}:assumed-role/sluice-dispatch/sluice-dispatch",
        "updatedAt": now, "createdAt": now}, []


def _ecs(clients: Any, region: str, ref: JobRef, outcome: Outcome, _: Any) -> Ended:
    cluster = ref.details["cluster"]
    backend = _backend("ecs", "ecs_backends", region)
    task = next(t for t in backend.tasks[cluster.rsplit("/", 1)[-1]].values() if t.task_arn == ref.external_id)
    task.last_status, task.desired_status = "STOPPED", "STOPPED"
    # Stopped from outside, a task's containers are killed without an exit code of their own.
    task.stopped_reason = outcome.error if outcome.stopped else "Essential container in task exited"
    code = None if outcome.stopped else outcome.exit_code if outcome.exit_code is not None else (
        0 if outcome.succeeded else 1)
    for container in task.containers:
        container.last_status, container.exitCode = "STOPPED", code
    [described] = clients("ecs").describe_tasks(cluster=cluster, tasks=[ref.external_id])["tasks"]
    detail = json.loads(json.dumps(described, default=iso_utc))
    detail.update(lastStatus="STOPPED", desiredStatus="STOPPED", stoppedReason=task.stopped_reason,
                  stopCode="UserInitiated" if outcome.stopped else "EssentialContainerExited")
    for container in detail.get("containers", []):
        container.update(lastStatus="STOPPED", exitCode=code)
        if not outcome.succeeded and not outcome.stopped and outcome.error:
            container["reason"] = outcome.error
    return "aws.ecs", "ECS Task State Change", detail, [ref.external_id]


def lambda_record(region: str, ref: JobRef, outcome: Outcome, payload: Any) -> dict[str, Any]:
    """The asynchronous invocation's record, as Lambda delivers it to a destination function."""
    function = f"arn:aws:lambda:{region}:{ACCOUNT}:function:{function_name(ref.details['function'])}:$LATEST"
    response: dict[str, Any] = {"statusCode": 200, "executedVersion": "$LATEST"}
    if outcome.succeeded:
        result = outcome.output
    else:
        response["functionError"] = "Unhandled"
        result = {"errorType": "Error", "errorMessage": outcome.error or "the function failed"}
    condition = "Success" if outcome.succeeded else "RetriesExhausted"
    return {"version": "1.0", "timestamp": iso_utc(_now()),
            "requestContext": {"requestId": ref.external_id, "functionArn": function, "condition": condition,
                               "approximateInvokeCount": 1 if outcome.succeeded else 3},
            "requestPayload": payload, "responseContext": response, "responsePayload": result}


def execution_event(clients: Any, region: str, execution_arn: str) -> dict[str, Any]:
    """The "Step Functions Execution Status Change" event for the execution as it is now."""
    described = clients("stepfunctions").describe_execution(executionArn=execution_arn)
    detail = {key: described.get(key) for key in ("executionArn", "stateMachineArn", "name", "status", "input",
                                                   "output", "error", "cause")}
    detail |= {"startDate": _epoch_ms(described.get("startDate")), "stopDate": _epoch_ms(described.get("stopDate")),
               "inputDetails": {"included": True}, "outputDetails": {"included": True}}
    return envelope("aws.states", "Step Functions Execution Status Change", detail, region, [execution_arn])


def _pipeline(clients: Any, region: str, ref: JobRef, outcome: Outcome, _: Any) -> Ended:
    # A child run is a real execution: it ends by itself, and its end event says how.
    event = execution_event(clients, region, ref.external_id)
    return event["source"], event["detail-type"], event["detail"], event["resources"]


_ENDERS = {"glue": _glue, "emr": _emr, "emr_serverless": _emr_serverless, "ecs": _ecs, "pipeline": _pipeline}


def _now() -> datetime:
    return datetime.now(UTC)


def _epoch_ms(value: Any) -> int | None:
    return int(value.timestamp() * 1000) if isinstance(value, datetime) else None
