"""A pipeline of Glue -> EMR Serverless -> ECS executed by moto's Step Functions with every real part: the
dispatch handler, the job adapters against moto's Glue, EMR Serverless and ECS, the run store, and the
completion function fed with end events shaped like AWS's (tests/events) as the services report the ends."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest

from functions.complete.handler import handler as complete
from sluice.compile import compile_pipeline
from sluice.spec import load_text
from tests.support.runtime import LambdaContext, client, moto_runtime, routed_to_handlers

pytestmark = pytest.mark.moto
EVENTS = Path(__file__).resolve().parents[1] / "events"
ROLE = "arn:aws:iam::123456789012:role/jobs"


def resources() -> dict[str, str]:
    """The jobs the pipeline runs, created in moto."""
    client("glue").create_job(Name="extract", Role=ROLE, Command={"Name": "glueetl", "ScriptLocation": "s3://b/e.py"},
                              ExecutionProperty={"MaxConcurrentRuns": 10})
    app = client("emr-serverless").create_application(name="spark", releaseLabel="emr-7.0.0",
                                                      type="SPARK")["applicationId"]
    ec2 = client("ec2")
    vpc = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
    ec2.modify_vpc_attribute(VpcId=vpc, EnableDnsHostnames={"Value": True})
    subnet = ec2.create_subnet(VpcId=vpc, CidrBlock="10.0.1.0/24")["Subnet"]["SubnetId"]
    group = ec2.create_security_group(GroupName="jobs", Description="jobs", VpcId=vpc)["GroupId"]
    client("ecs").create_cluster(clusterName="loaders")
    client("ecs").register_task_definition(
        family="loader", networkMode="awsvpc", requiresCompatibilities=["FARGATE"], cpu="256", memory="512",
        containerDefinitions=[{"name": "main", "image": "busybox", "memory": 512}])
    return {"app": app, "subnet": subnet, "group": group}


PIPELINE = """
name: real-jobs
params: {day: {type: string, default: "2026-11-27"}}
defaults: {retry: {max_attempts: 2, interval: 1s}}
tasks:
  extract:
    glue: {job: extract, arguments: {output: "s3://lake/clean/dt={{ params.day }}/"}}
  aggregate:
    depends_on: extract
    emr_serverless:
      application_id: APP
      execution_role_arn: ROLE
      entry_point: s3://code/aggregate.py
      args: ["--input", "{{ tasks.extract.output.output }}"]
  load:
    depends_on: aggregate
    ecs:
      cluster: loaders
      task_definition: loader
      container: main
      command: ["load", "{{ tasks.aggregate.output.job_run_id }}"]
      network: {subnets: [SUBNET], security_groups: [GROUP]}
"""


def event(name: str, **detail: Any) -> dict[str, Any]:
    document = json.loads((EVENTS / f"{name}.json").read_text())
    document["detail"].update(detail)
    document["time"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    return document


def report_ends(rt: Any, reported: set[str]) -> None:
    """What EventBridge would deliver: an end event for every job its service now reports ended."""
    for attempt in rt.store.active("9999"):
        adapter = rt.jobs[attempt.kind]
        if attempt.external_id is None or attempt.external_id in reported:
            continue
        if not adapter.describe(adapter_ref(attempt)).ended:
            continue
        reported.add(attempt.external_id)
        if attempt.kind == "glue":
            shaped = event("glue_job_succeeded", jobName="extract", jobRunId=attempt.external_id)
        elif attempt.kind == "emr_serverless":
            shaped = event("emr_serverless_job_success", jobRunId=attempt.external_id,
                           applicationId=attempt.details["application_id"])
        else:
            shaped = event("ecs_task_stopped_ok", taskArn=attempt.external_id)
        assert complete(shaped, LambdaContext())["result"] == "attempt SUCCEEDED"


def adapter_ref(attempt: Any) -> Any:
    from functions.adapters.jobs.base import JobRef

    return JobRef(attempt.kind, attempt.external_id, attempt.details)


def test_a_pipeline_runs_on_real_adapters_and_documented_end_events() -> None:
    with moto_runtime(fake_tokens=False) as rt:
        made = resources()
        text = PIPELINE.replace("APP", made["app"]).replace("ROLE", ROLE).replace("SUBNET", made["subnet"])
        pipeline, problems = load_text(text.replace("GROUP", made["group"]), "real-jobs.yaml")
        assert pipeline is not None, problems
        definition = compile_pipeline(pipeline).definition
        role = client("iam").create_role(RoleName="sfn", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
        fn = client("lambda").create_function(FunctionName="sluice-dispatch", Runtime="python3.12", Role=role,
                                              Handler="h.h", Code={"ZipFile": b"x"})["FunctionArn"]
        sfn = client("stepfunctions")
        machine = sfn.create_state_machine(name="sluice-real-jobs", roleArn=role,
                                           definition=json.dumps(definition).replace("${DispatchFunctionArn}", fn))
        reported: set[str] = set()
        with routed_to_handlers(rt):
            arn = sfn.start_execution(stateMachineArn=machine["stateMachineArn"], name="run-1")["executionArn"]
            deadline = time.monotonic() + 60
            while sfn.describe_execution(executionArn=arn)["status"] == "RUNNING":
                assert time.monotonic() < deadline
                report_ends(rt, reported)
                time.sleep(0.02)
        described = sfn.describe_execution(executionArn=arn)
        assert described["status"] == "SUCCEEDED", described.get("cause")
        # THEN each service ran exactly one job, with templates rendered from upstream outputs
        [glue_run] = client("glue").get_job_runs(JobName="extract")["JobRuns"]
        assert glue_run["Arguments"]["--output"] == "s3://lake/clean/dt=2026-11-27/"
        [emr_run] = client("emr-serverless").list_job_runs(applicationId=made["app"])["jobRuns"]
        spark = client("emr-serverless").get_job_run(applicationId=made["app"], jobRunId=emr_run["id"])["jobRun"]
        assert spark["jobDriver"]["sparkSubmit"]["entryPointArguments"] == ["--input", "s3://lake/clean/dt=2026-11-27/"]
        [task_arn] = client("ecs").list_tasks(cluster="loaders", desiredStatus="STOPPED")["taskArns"] or \
            client("ecs").list_tasks(cluster="loaders")["taskArns"]
        [task] = client("ecs").describe_tasks(cluster="loaders", tasks=[task_arn])["tasks"]
        assert task["overrides"]["containerOverrides"][0]["command"] == ["load", emr_run["id"]]
        # AND the run store holds one SUCCEEDED attempt per task, with external ids and outputs
        attempts = {a.task: a for a in rt.store.load(arn).attempts}
        assert {t: a.status for t, a in attempts.items()} == dict.fromkeys(("extract", "aggregate", "load"),
                                                                          "SUCCEEDED")
        assert attempts["extract"].external_id == glue_run["Id"] and attempts["load"].external_id == task_arn
        assert attempts["extract"].output["output"] == "s3://lake/clean/dt=2026-11-27/"
