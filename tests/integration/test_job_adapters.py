"""The job service adapters against moto: start at most once per key, describe, stop, errors at the edge."""

from __future__ import annotations

import importlib
import io
import json
import time
import zipfile
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from moto import mock_aws
from moto.moto_api import state_manager

from functions.adapters.clients import RETRIES, client
from functions.adapters.jobs import (
    EcsAdapter,
    EmrAdapter,
    EmrServerlessAdapter,
    GlueAdapter,
    LambdaAdapter,
    PipelineAdapter,
    adapters_for,
)
from functions.adapters.jobs.base import JobError, JobNotFoundError, JobRef, JobStart
from functions.adapters.jobs.ecs import started_by

ACCOUNT, REGION = "123456789012", "eu-west-1"
ROLE = f"arn:aws:iam::{ACCOUNT}:role/jobs"
TAGS = {"sluice:pipeline": "demo", "sluice:run-id": "run-1", "sluice:task": "load"}


def job(kind: str, config: dict[str, Any], key: str = "k" * 32) -> JobStart:
    return JobStart(kind=kind, key=key, pipeline="demo", run_id="run-1", execution_id="exec-1", task="load",
                    config=config, tags=TAGS, logical_date="2024-05-01")


def raising(code: str, status: int = 400) -> Any:
    """A stand-in for a client method that fails with this AWS error code."""
    def call(**_: Any) -> Any:
        raise ClientError({"Error": {"Code": code, "Message": f"{code} says no"},
                           "ResponseMetadata": {"HTTPStatusCode": status}}, "Op")
    return call


def backend(service: str) -> Any:
    """moto's in-memory state of a service ("glue", "emr", "emrserverless", "ecs"), to move jobs along."""
    models = importlib.import_module(f"moto.{service}.models")
    return getattr(models, f"{service}_backends")[ACCOUNT][REGION]


@pytest.fixture
def aws():
    with mock_aws(config={"stepfunctions": {"execute_state_machine": True}, "lambda": {"use_docker": False}}):
        yield


# --- Glue --------------------------------------------------------------------------------------------------------

@pytest.fixture
def glue(aws):
    c = boto3.client("glue")
    c.create_job(Name="nightly", Role=ROLE, Command={"Name": "glueetl", "ScriptLocation": "s3://b/s.py"},
                 ExecutionProperty={"MaxConcurrentRuns": 10})
    # Runs stay STARTING (RUNNING for Sluice) until a test moves them.
    state_manager.set_transition("glue::job_run", {"progression": "manual", "times": 1000})
    yield c
    state_manager.unset_transition("glue::job_run")


GLUE = {"job": "nightly", "arguments": {"--output": "s3://b/out"}, "worker_type": "G.1X", "workers": 2}


def glue_run(run_id: str) -> Any:
    return next(r for r in backend("glue").jobs["nightly"].job_runs if r.job_run_id == run_id)


def test_glue_start_marks_the_run_and_starts_it_once_per_key(glue):
    # GIVEN a Glue job; WHEN a key starts twice and another key once
    adapter = GlueAdapter(glue)
    ref = adapter.start(job("glue", GLUE))
    again = adapter.start(job("glue", GLUE))
    other = adapter.start(job("glue", GLUE, key="other"))
    # THEN there are two runs, the first carrying its key as the marker argument
    runs = glue.get_job_runs(JobName="nightly")["JobRuns"]
    assert again == ref and other.external_id != ref.external_id and len(runs) == 2
    assert ref.details == {"job_name": "nightly"} and ref.log_location == f"/aws-glue/jobs/output:{ref.external_id}"
    first = glue.get_job_run(JobName="nightly", RunId=ref.external_id)["JobRun"]
    assert first["Arguments"] == {"--output": "s3://b/out", "--sluice-attempt": "k" * 32}
    assert (first["WorkerType"], first["NumberOfWorkers"]) == ("G.1X", 2)


def test_glue_describe_maps_the_run_states(glue):
    # GIVEN a started run; WHEN moto moves it along; THEN describe follows
    adapter = GlueAdapter(glue)
    ref = adapter.start(job("glue", GLUE))
    assert adapter.describe(ref).status == "RUNNING"
    glue_run(ref.external_id).status = "SUCCEEDED"
    assert adapter.describe(ref).output == {"job_run_id": ref.external_id, "job_name": "nightly"}
    glue_run(ref.external_id).status = "TIMEOUT"
    state = adapter.describe(ref)
    assert (state.status, state.error) == ("FAILED", "TIMEOUT")
    with pytest.raises(JobNotFoundError, match="jr_gone"):
        adapter.describe(JobRef("glue", "jr_gone", {"job_name": "nightly"}))


def test_glue_stop_ignores_a_run_that_already_ended(glue, monkeypatch):
    # GIVEN a service that refuses to stop the run; THEN stop fails while it runs and passes once it ended
    adapter, calls = GlueAdapter(glue), []
    ref = adapter.start(job("glue", GLUE))
    refused = {"Errors": [{"JobRunId": ref.external_id, "ErrorDetail": {"ErrorCode": "InvalidInputException",
                                                                         "ErrorMessage": "run is not stoppable"}}]}
    # moto has no BatchStopJobRun
    monkeypatch.setattr(glue, "batch_stop_job_run", lambda **kw: calls.append(kw) or refused)
    with pytest.raises(JobError, match="run is not stoppable"):
        adapter.stop(ref, "execution aborted")
    glue_run(ref.external_id).status = "SUCCEEDED"
    adapter.stop(ref, "execution aborted")
    assert calls[0] == {"JobName": "nightly", "JobRunIds": [ref.external_id]}


def test_glue_errors_say_which_job_and_whether_to_retry(glue, monkeypatch):
    # an unknown job: not retryable
    adapter = GlueAdapter(glue)
    with pytest.raises(JobError, match=r"job 'missing'.*EntityNotFoundException") as missing:
        adapter.start(job("glue", {"job": "missing"}))
    assert not missing.value.retryable

    # a job at its concurrency limit, and throttling: retryable
    glue.create_job(Name="single", Role=ROLE, Command={"Name": "glueetl", "ScriptLocation": "s3://b/s.py"})
    adapter.start(job("glue", {"job": "single"}))
    with pytest.raises(JobError, match="ConcurrentRunsExceededException") as busy:
        adapter.start(job("glue", {"job": "single"}, key="second"))
    assert busy.value.retryable

    monkeypatch.setattr(glue, "start_job_run", raising("ThrottlingException"))
    with pytest.raises(JobError, match="ThrottlingException: ThrottlingException says no") as throttled:
        adapter.start(job("glue", GLUE, key="third"))
    assert throttled.value.retryable


def test_glue_start_finds_the_run_a_failed_answer_started_anyway(glue, monkeypatch):
    # GIVEN a start that starts the run but answers with a server error
    real = glue.start_job_run

    def started_then_lost(**kwargs: Any) -> Any:
        real(**kwargs)
        raising("InternalServiceException", 500)()

    monkeypatch.setattr(glue, "start_job_run", started_then_lost)
    # WHEN the adapter starts; THEN it looks again and returns that run
    ref = GlueAdapter(glue).start(job("glue", GLUE))
    assert [r["Id"] for r in glue.get_job_runs(JobName="nightly")["JobRuns"]] == [ref.external_id]


# --- EMR ---------------------------------------------------------------------------------------------------------

@pytest.fixture
def emr(aws):
    c = boto3.client("emr")
    cluster = c.run_job_flow(Name="shared", ReleaseLabel="emr-7.0.0", JobFlowRole="EMR_EC2_DefaultRole",
                             ServiceRole="EMR_DefaultRole",
                             Instances={"MasterInstanceType": "m5.xlarge", "InstanceCount": 1,
                                        "KeepJobFlowAliveWhenNoSteps": True})["JobFlowId"]
    return c, cluster


def test_emr_start_adds_one_named_step_per_key(emr):
    # GIVEN a cluster; WHEN a key adds a spark-submit step twice and another key a jar step
    c, cluster = emr
    adapter = EmrAdapter(c)
    spark = {"cluster_id": cluster, "spark_submit": ["--deploy-mode", "cluster", "s3://b/job.py"], "args": []}
    ref = adapter.start(job("emr", spark))
    assert adapter.start(job("emr", spark)) == ref and ref.details == {"cluster_id": cluster}
    jar = adapter.start(job("emr", {"cluster_id": cluster, "jar": "s3://b/app.jar", "main_class": "Main",
                                    "args": ["2024"]}, key="other"))

    # THEN the cluster has two steps, named by their keys
    steps = {s["Id"]: s for s in c.list_steps(ClusterId=cluster)["Steps"]}
    assert len(steps) == 2 and steps[ref.external_id]["Name"] == f"sluice-{'k' * 32}"
    assert steps[ref.external_id]["ActionOnFailure"] == "CONTINUE"
    assert steps[ref.external_id]["Config"]["Jar"] == "command-runner.jar"
    assert steps[ref.external_id]["Config"]["Args"] == ["spark-submit", "--deploy-mode", "cluster", "s3://b/job.py"]
    jar_step = next(s for s in backend("emr").clusters[cluster].steps if s.id == jar.external_id)
    assert jar_step.hadoop_jar_step == {"Jar": "s3://b/app.jar", "MainClass": "Main", "Args": ["2024"]}


def test_emr_describe_maps_the_step_states(emr, monkeypatch):
    # GIVEN a step; WHEN moto moves it along; THEN describe follows
    c, cluster = emr
    adapter = EmrAdapter(c)
    ref = adapter.start(job("emr", {"cluster_id": cluster, "spark_submit": ["s3://b/job.py"]}))
    step = backend("emr").clusters[cluster].steps[-1]
    for state, expected in [("PENDING", "RUNNING"), ("RUNNING", "RUNNING"), ("COMPLETED", "SUCCEEDED"),
                            ("CANCELLED", "FAILED")]:
        step.state = state
        assert adapter.describe(ref).status == expected, state
    assert adapter.describe(ref).error == "CANCELLED"
    step.state = "COMPLETED"
    assert adapter.describe(ref).output == {"step_id": ref.external_id, "cluster_id": cluster}
    failed = {"Step": {"Id": ref.external_id, "Status": {"State": "FAILED", "FailureDetails": {
        "Reason": "Unknown error", "Message": "Exception in thread main", "LogFile": "s3://logs/stderr.gz"}}}}
    monkeypatch.setattr(c, "describe_step", lambda **_: failed)  # moto keeps no FailureDetails
    assert adapter.describe(ref).error == "FAILED; Unknown error: Exception in thread main; log: s3://logs/stderr.gz"
    monkeypatch.undo()
    with pytest.raises(JobNotFoundError, match="s-GONE"):
        adapter.describe(JobRef("emr", "s-GONE", {"cluster_id": cluster}))


def test_emr_stop_cancels_the_step(emr, monkeypatch):
    # GIVEN a step; THEN stop cancels it, and a refusal is an error only while the step runs
    c, cluster = emr
    adapter, calls = EmrAdapter(c), []
    ref = adapter.start(job("emr", {"cluster_id": cluster, "spark_submit": ["s3://b/job.py"]}))
    answer = {"CancelStepsInfoList": [{"StepId": ref.external_id, "Status": "SUBMITTED"}]}
    monkeypatch.setattr(c, "cancel_steps", lambda **kw: calls.append(kw) or answer)  # moto has no CancelSteps
    adapter.stop(ref, "execution aborted")
    assert calls == [{"ClusterId": cluster, "StepIds": [ref.external_id], "StepCancellationOption": "SEND_INTERRUPT"}]
    answer["CancelStepsInfoList"][0].update(Status="FAILED", Reason="step is not cancellable")
    with pytest.raises(JobError, match="step is not cancellable"):
        adapter.stop(ref, "execution aborted")
    backend("emr").clusters[cluster].steps[-1].state = "COMPLETED"
    adapter.stop(ref, "execution aborted")  # ended already: fine


# --- EMR Serverless ----------------------------------------------------------------------------------------------

@pytest.fixture
def emrs(aws):
    c = boto3.client("emr-serverless")
    app = c.create_application(name="spark", releaseLabel="emr-7.0.0", type="SPARK")["applicationId"]
    return c, {"application_id": app, "execution_role_arn": ROLE, "entry_point": "s3://b/job.py",
               "args": ["--day", "2024-05-01"], "spark_params": "--conf spark.executor.cores=4"}


def test_emr_serverless_start_runs_once_per_key(emrs, monkeypatch):
    # GIVEN an application; WHEN a key starts twice and another key once; THEN there are two runs
    c, config = emrs
    adapter = EmrServerlessAdapter(c)
    ref = adapter.start(job("emr_serverless", config))
    assert adapter.start(job("emr_serverless", config)) == ref
    adapter.start(job("emr_serverless", config, key="other"))

    assert len(c.list_job_runs(applicationId=config["application_id"])["jobRuns"]) == 2
    run = c.get_job_run(applicationId=config["application_id"], jobRunId=ref.external_id)["jobRun"]
    assert run["name"] == f"sluice-demo-load-{'k' * 32}" and run["tags"] == TAGS
    assert run["jobDriver"]["sparkSubmit"] == {"entryPoint": "s3://b/job.py",
                                               "entryPointArguments": ["--day", "2024-05-01"],
                                               "sparkSubmitParameters": "--conf spark.executor.cores=4"}
    monkeypatch.setattr(c, "start_job_run", raising("ServiceQuotaExceededException", 402))
    with pytest.raises(JobError, match=f"application {config['application_id']}.*ServiceQuota") as exc:
        adapter.start(job("emr_serverless", config, key="third"))
    assert exc.value.retryable


def test_emr_serverless_describe_and_stop(emrs):
    # GIVEN a run; WHEN moto moves it along or the adapter cancels it; THEN describe follows
    c, config = emrs
    adapter = EmrServerlessAdapter(c)
    ref = adapter.start(job("emr_serverless", config))
    run = backend("emrserverless").job_runs[config["application_id"]][0]
    run.state = "RUNNING"  # moto starts runs as SUCCESS
    assert adapter.describe(ref).status == "RUNNING"
    run.state = "SUCCESS"
    assert adapter.describe(ref).output == {"job_run_id": ref.external_id, "application_id": config["application_id"]}
    run.state, run.state_details = "FAILED", "Job failed: exit code 1"
    assert adapter.describe(ref).error == "FAILED: Job failed: exit code 1"
    run.state = "RUNNING"
    adapter.stop(ref, "execution aborted")
    assert adapter.describe(ref).error == "CANCELLED: Job failed: exit code 1"
    with pytest.raises(JobNotFoundError, match="ResourceNotFoundException"):
        adapter.describe(JobRef("emr_serverless", "00gone", ref.details))


# --- ECS ---------------------------------------------------------------------------------------------------------

@pytest.fixture
def ecs(aws):
    ec2 = boto3.client("ec2")
    vpc = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
    ec2.modify_vpc_attribute(VpcId=vpc, EnableDnsHostnames={"Value": True})  # moto's task ENIs need DNS names
    subnet = ec2.create_subnet(VpcId=vpc, CidrBlock="10.0.1.0/24")["Subnet"]["SubnetId"]
    group = ec2.create_security_group(GroupName="jobs", Description="jobs", VpcId=vpc)["GroupId"]
    c = boto3.client("ecs")
    c.create_cluster(clusterName="batch")
    c.register_task_definition(family="load", networkMode="awsvpc", requiresCompatibilities=["FARGATE"], cpu="256",
                               memory="512", containerDefinitions=[{"name": "main", "image": "busybox", "memory": 512}])
    return c, {"cluster": "batch", "task_definition": "load", "launch_type": "FARGATE", "container": "main",
               "command": ["load", "--day", "2024-05-01"], "environment": {"DAY": "2024-05-01"}, "cpu": 512,
               "memory": 1024, "network": {"subnets": [subnet], "security_groups": [group],
                                           "assign_public_ip": False}}


def test_ecs_start_runs_one_task_per_key(ecs):
    # GIVEN a cluster; WHEN a key starts twice and another key once
    c, config = ecs
    adapter = EcsAdapter(c)
    ref = adapter.start(job("ecs", config))
    assert adapter.start(job("ecs", config)) == ref
    adapter.start(job("ecs", config, key="other"))

    # THEN there are two tasks, with the key as startedBy, Sluice's tags and the overrides
    assert len(c.list_tasks(cluster="batch")["taskArns"]) == 2
    assert c.list_tasks(cluster="batch", startedBy="k" * 32)["taskArns"] == [ref.external_id]
    assert ref.details == {"cluster": "batch"}
    task = c.describe_tasks(cluster="batch", tasks=[ref.external_id], include=["TAGS"])["tasks"][0]
    assert {t["key"]: t["value"] for t in task["tags"]} == TAGS
    assert task["overrides"] == {"containerOverrides": [{
        "name": "main", "command": ["load", "--day", "2024-05-01"],
        "environment": [{"name": "DAY", "value": "2024-05-01"}]}], "cpu": "512", "memory": "1024"}


def test_ecs_started_by_fits_the_limit_and_keeps_keys_apart():
    long_a, long_b = "a" * 40 + "1", "a" * 40 + "2"
    assert started_by("k" * 32) == "k" * 32 and started_by(long_a) == started_by(long_a)
    assert len(started_by(long_a)) == 36 and started_by(long_a) != started_by(long_b)


def test_ecs_describe_reads_the_exit_code_of_the_container(ecs):
    # GIVEN a task; WHEN it stops with exit code 0, 3 or none; THEN describe follows
    c, config = ecs
    adapter = EcsAdapter(c)
    ref = adapter.start(job("ecs", config))
    assert adapter.describe(ref).status == "RUNNING"
    states = [adapter.describe(ref) for _ in range(4)]  # moto moves the task one status per DescribeTasks
    assert states[-1].status == "SUCCEEDED"
    assert states[-1].output == {"task_arn": ref.external_id, "exit_code": 0}

    task = backend("ecs").tasks["batch"][ref.external_id]
    task.stopped_reason, task.containers[0].exitCode = "Essential container in task exited", 3
    state = adapter.describe(ref)
    assert (state.status, state.exit_code) == ("FAILED", 3)
    assert state.error == "Essential container in task exited; container main; exit code 3"
    task.containers[0].exitCode = None
    assert adapter.describe(ref).status == "FAILED"
    with pytest.raises(JobNotFoundError, match="task/batch/gone"):  # moto lists no MISSING failure
        adapter.describe(JobRef("ecs", "arn:aws:ecs:eu-west-1:123456789012:task/batch/gone", ref.details))


def test_ecs_stop_stops_the_task(ecs):
    # GIVEN a task; WHEN stopped (twice); THEN it is STOPPED with the reason, and its key still finds it
    c, config = ecs
    adapter = EcsAdapter(c)
    ref = adapter.start(job("ecs", config))
    adapter.stop(ref, "execution aborted")
    task = c.describe_tasks(cluster="batch", tasks=[ref.external_id])["tasks"][0]
    assert (task["desiredStatus"], task["stoppedReason"]) == ("STOPPED", "execution aborted")
    adapter.stop(ref, "again")  # a stopped task: fine
    assert adapter.start(job("ecs", config)) == ref  # still found among the stopped tasks


def test_ecs_lookup_copes_with_a_refused_filter_pair(ecs, monkeypatch):
    # GIVEN an ECS that refuses startedBy next to desiredStatus; THEN the running task is still found
    c, config = ecs
    ref, real = EcsAdapter(c).start(job("ecs", config)), c.list_tasks

    def strict(**kwargs: Any) -> Any:
        return raising("InvalidParameterException")() if "desiredStatus" in kwargs else real(**kwargs)

    monkeypatch.setattr(c, "list_tasks", strict)
    assert EcsAdapter(c).start(job("ecs", config)) == ref


@pytest.mark.parametrize(("reason", "retryable"), [("RESOURCE:MEMORY", True), ("AGENT", True), ("MISSING", False)])
def test_ecs_run_task_failures_are_job_errors(ecs, monkeypatch, reason, retryable):
    # GIVEN RunTask answers with a failure instead of a task; THEN start raises, retryable for capacity
    c, config = ecs
    failures = {"tasks": [], "failures": [{"arn": "arn:aws:ecs:eu-west-1:1:container-instance/x", "reason": reason}]}
    monkeypatch.setattr(c, "run_task", lambda **_: failures)
    with pytest.raises(JobError, match=f"ECS: run task load on cluster batch failed: {reason}") as exc:
        EcsAdapter(c).start(job("ecs", config))
    assert exc.value.retryable is retryable


# --- Lambda ------------------------------------------------------------------------------------------------------

@pytest.fixture
def lam(aws):
    role = boto3.client("iam").create_role(RoleName="fn", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
    code = io.BytesIO()
    with zipfile.ZipFile(code, "w") as z:
        z.writestr("index.py", "def handler(event, context):\n    return event\n")
    c = boto3.client("lambda")
    c.create_function(FunctionName="work", Runtime="python3.12", Role=role, Handler="index.handler",
                      Code={"ZipFile": code.getvalue()})
    return c


def test_lambda_invokes_asynchronously_and_names_the_request(lam, monkeypatch):
    # GIVEN a function; WHEN started; THEN one asynchronous invoke with the payload as given
    adapter, calls = LambdaAdapter(lam), []
    real = lam.invoke
    monkeypatch.setattr(lam, "invoke", lambda **kw: calls.append(kw) or real(**kw))
    ref = adapter.start(job("lambda", {"function": "work", "payload": {"day": "2024-05-01"}}))
    assert calls == [{"FunctionName": "work", "InvocationType": "Event", "Payload": b'{"day":"2024-05-01"}'}]
    assert ref.external_id and ref.details == {"function": "work"}
    assert adapter.describe(ref).status == "RUNNING"  # Lambda cannot be asked; the destination event decides
    adapter.stop(ref, "execution aborted")  # cannot be stopped: a no-op
    # moto accepts an asynchronous invoke of any function name
    monkeypatch.setattr(lam, "invoke", raising("ResourceNotFoundException", 404))
    with pytest.raises(JobError, match=r"function 'nope'.*ResourceNotFoundException") as missing:
        adapter.start(job("lambda", {"function": "nope", "payload": {}}))
    assert not missing.value.retryable
    monkeypatch.setattr(lam, "invoke", raising("TooManyRequestsException", 429))
    with pytest.raises(JobError) as throttled:
        adapter.start(job("lambda", {"function": "work", "payload": {}}))
    assert throttled.value.retryable


# --- child pipeline ----------------------------------------------------------------------------------------------

def machine_arn(pipeline: str) -> str:
    return f"arn:aws:states:{REGION}:{ACCOUNT}:stateMachine:sluice-{pipeline}"


@pytest.fixture
def sfn(aws):
    c = boto3.client("stepfunctions")

    def machine(name: str, states: dict[str, Any]) -> str:
        definition = {"StartAt": next(iter(states)), "States": states}
        return str(c.create_state_machine(name=f"sluice-{name}", roleArn=ROLE,
                                          definition=json.dumps(definition))["stateMachineArn"])

    machine("child", {"Wait": {"Type": "Wait", "Seconds": 600, "End": True}})
    machine("quick", {"Done": {"Type": "Pass", "Result": {"rows": 3}, "End": True}})
    machine("broken", {"Boom": {"Type": "Fail", "Error": "Load.Failed", "Cause": "bad rows"}})
    return c, PipelineAdapter(c, machine_arn)


def ended(adapter: PipelineAdapter, ref: JobRef) -> Any:
    for _ in range(200):  # moto runs executions on a thread: at most ~2 s
        if (state := adapter.describe(ref)).ended:
            return state
        time.sleep(0.01)
    raise AssertionError("the execution did not end")


def test_pipeline_starts_one_child_execution_per_key(sfn):
    # GIVEN a child pipeline; WHEN a key starts twice and another key once
    c, adapter = sfn
    ref = adapter.start(job("pipeline", {"name": "child", "params": {"day": "2024-05-01"}}))
    assert adapter.start(job("pipeline", {"name": "child", "params": {"day": "2024-05-01"}})) == ref
    adapter.start(job("pipeline", {"name": "child", "params": {}}, key="other"))

    # THEN there are two executions, the first named by its key with the parent's facts as input
    assert len(c.list_executions(stateMachineArn=machine_arn("child"))["executions"]) == 2
    started = c.describe_execution(executionArn=ref.external_id)
    assert started["name"] == "k" * 32 and ref.details == {"pipeline": "child"}
    assert json.loads(started["input"]) == {"params": {"day": "2024-05-01"}, "logical_date": "2024-05-01", "trigger": {
        "type": "parent", "pipeline": "demo", "run_id": "run-1", "task": "load"}}
    # WHEN it is stopped; THEN it ends as FAILED
    assert adapter.describe(ref).status == "RUNNING"
    adapter.stop(ref, "parent aborted")
    assert ended(adapter, ref).status == "FAILED"
    adapter.stop(ref, "again")  # ended already: fine


def test_pipeline_describe_maps_the_child_outcome_and_errors_translate(sfn):
    # GIVEN children that succeed or fail (moto runs them); THEN describe gives the output or the error
    _, adapter = sfn
    done = adapter.start(job("pipeline", {"name": "quick", "params": {}}))
    assert ended(adapter, done).output == {"rows": 3}
    # Started again after it ended: ExecutionAlreadyExists, and the existing execution is the child run.
    assert adapter.start(job("pipeline", {"name": "quick", "params": {}})) == done
    failed = ended(adapter, adapter.start(job("pipeline", {"name": "broken", "params": {}})))
    assert (failed.status, failed.error) == ("FAILED", "Load.Failed: bad rows")
    with pytest.raises(JobError, match=r"child pipeline 'ghost'.*StateMachineDoesNotExist") as exc:
        adapter.start(job("pipeline", {"name": "ghost", "params": {}}))
    assert not exc.value.retryable
    with pytest.raises(JobNotFoundError):
        adapter.describe(JobRef("pipeline", f"arn:aws:states:{REGION}:{ACCOUNT}:execution:sluice-child:gone"))


# --- registry and clients ----------------------------------------------------------------------------------------

def test_adapters_for_builds_clients_only_when_a_service_is_called(aws):
    # GIVEN the registry; THEN it covers every kind, and a client is made when its adapter first calls
    asked: list[str] = []

    def clients(name: str) -> Any:
        asked.append(name)
        return boto3.client(name)

    adapters = adapters_for(clients, arn_for=lambda pipeline: pipeline)
    assert sorted(adapters) == ["ecs", "emr", "emr_serverless", "glue", "lambda", "pipeline"]
    assert asked == []
    with pytest.raises(JobError):
        adapters["glue"].start(job("glue", {"job": "missing"}))
    assert asked == ["glue"]


def test_the_default_clients_retry_in_standard_mode(aws):
    try:
        glue = client("glue")
        assert client("glue") is glue
        # botocore counts `max_attempts` as retries: the first call and up to 5 more
        assert glue.meta.config.retries == RETRIES | {"total_max_attempts": 6}
    finally:
        client.cache_clear()  # no client made under this test's mock outlives it


def test_find_reports_the_job_a_key_started_and_none_before(glue, ecs, emrs):
    # GIVEN adapters whose services know nothing of a key; WHEN it is started; THEN find returns that very job
    for adapter, kind, config in ((GlueAdapter(glue), "glue", GLUE), (EcsAdapter(ecs[0]), "ecs", ecs[1]),
                                  (EmrServerlessAdapter(emrs[0]), "emr_serverless", emrs[1])):
        request = job(kind, config, key="f" * 32)
        assert adapter.find(request) is None
        started = adapter.start(request)
        found = adapter.find(request)
        assert found is not None and found.external_id == started.external_id
