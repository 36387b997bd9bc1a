"""The runtime's guarantees under faults (issue 8), on moto: each test names a fault, the expected outcome, and
checks the run store and the job services afterwards (nothing lost, nothing doubled, every attempt ended where
the run ended). docs/guarantees.md maps each fault to its tests, here and in the other runtime test files.

Races run in threads against moto's DynamoDB. moto applies a conditional write in several Python steps, so the
threaded tests serialize its request handling (`atomic_dynamodb`): each call is then atomic, as in DynamoDB,
and the race is between the handlers' calls, which is what the runtime must get right. Where an interleaving
matters, a test forces it deterministically instead of hoping a thread switch finds it.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from botocore.exceptions import ClientError
from botocore.stub import Stubber

from functions.adapters.clock import shifted
from functions.adapters.jobs.base import JobState, JobStatus
from functions.adapters.run_store import RunStore
from functions.adapters.tokens import Tokens
from functions.events.types import JobEvent
from functions.runtime.records import Attempt
from sluice.compile import compile_pipeline
from sluice.contract import DISPATCH_FAILED, RETRYABLE_ERRORS, TASK_FAILED
from sluice.spec import Pipeline
from tests.support.runtime import (
    EXECUTION,
    FakeJobs,
    FakeTokens,
    client,
    moto_runtime,
    request,
    routed_to_handlers,
)

LATER = "2099-01-01T00:00:00.000Z"  # a sweep long after every attempt started
NOW = "2026-11-28T02:32:00.000Z"  # "now" for the completer: events of 02:31 are fresh


@pytest.fixture
def rt() -> Iterator[Any]:
    with moto_runtime() as runtime:
        yield runtime


@pytest.fixture
def atomic_dynamodb(monkeypatch: pytest.MonkeyPatch) -> None:
    """One moto DynamoDB request at a time: each call atomic, as DynamoDB's conditional writes are."""
    from moto.dynamodb.responses import DynamoHandler

    lock, call = threading.Lock(), DynamoHandler.call_action

    def atomic(self: Any) -> Any:
        with lock:
            return call(self)

    monkeypatch.setattr(DynamoHandler, "call_action", atomic)


def refusing_twice(tokens: FakeTokens, monkeypatch: pytest.MonkeyPatch) -> None:
    """FakeTokens' answer made atomic for threads: Step Functions accepts one answer per token."""
    lock, answer = threading.Lock(), tokens._answer

    def locked(token: str, how: str, value: Any) -> None:
        with lock:
            answer(token, how, value)

    monkeypatch.setattr(tokens, "_answer", locked)


def event(external_id: str, status: JobStatus, **fields: Any) -> JobEvent:
    return JobEvent(kind="fake", external_id=external_id, status=status, state=status, time="2026-11-28T02:31:00Z",
                    **fields)


def started(rt: Any, task: str = "extract", **fields: Any) -> str:
    """Dispatch `task` (attempt 0) on the fake job service; the id of its job."""
    rt.dispatcher.handle(request(task=task, **fields))
    run = fields.get("execution_id", EXECUTION)
    [attempt] = [a for a in rt.store.load(run).attempts_of(task, None) if not a.ended]
    return str(attempt.external_id)


def ends(attempt: Attempt) -> list[str]:
    """The end statuses in an attempt's history (exactly one for an ended attempt: it was ended once)."""
    return [h["status"] for h in attempt.history if h["status"] not in ("STARTING", "RUNNING")
            and not h["status"].startswith("ADOPTED")]


def assert_intact(rt: Any, *, jobs: int, run: str = EXECUTION, ended: bool = True) -> list[Attempt]:
    """The records after a fault: `jobs` jobs in the service, one attempt per job (or per claim), each ended once
    (when the run `ended`), none left for the sweeper, and no token answered twice."""
    fake: FakeJobs = rt.jobs["fake"]
    attempts: list[Attempt] = rt.store.load(run).attempts
    assert len([j for j in fake.jobs.values() if j.execution_id == run]) == jobs
    assert len({a.external_id for a in attempts if a.external_id}) == len([a for a in attempts if a.external_id])
    for attempt in attempts:
        assert len(ends(attempt)) == (1 if attempt.ended else 0), attempt.history
        if ended:
            assert attempt.ended, f"{attempt.sk} is still {attempt.status}"
    if ended:
        assert [a for a in rt.store.active(LATER) if a.run == run] == []
    if isinstance(rt.tokens, FakeTokens):
        answered = [t for t, how, _ in rt.tokens.answers if how != "heartbeat"]
        assert len(answered) == len(set(answered)), rt.tokens.answers
    return attempts


def in_threads(*calls: Callable[[], Any]) -> list[Any]:
    """Run the calls at once (released together by a barrier); their results, re-raising any error."""
    barrier = threading.Barrier(len(calls))

    def run(call: Callable[[], Any]) -> Any:
        barrier.wait()
        return call()

    with ThreadPoolExecutor(len(calls)) as pool:
        return [f.result() for f in [pool.submit(run, call) for call in calls]]


# ---- 1. duplicate and reordered completion events -----------------------------------------------------------


def test_duplicate_and_reordered_end_events_end_the_attempt_once(rt: Any) -> None:
    """Fault: EventBridge delivers an end twice with the same id (Lambda's async retry), again with another id
    (the service emitted two), a RUNNING after the end, and a contradicting FAILED after the SUCCEEDED.
    Expected: the first end is the record; only the same id answers again (refused by Step Functions: logged);
    one job, one answer, one end in the history, nothing left active."""
    job = started(rt)
    rt.completer.clock = lambda: NOW
    deliveries: list[tuple[JobStatus, str, dict[str, Any]]] = [
        ("RUNNING", "evt-0", {}), ("SUCCEEDED", "evt-1", {}), ("SUCCEEDED", "evt-1", {}), ("SUCCEEDED", "evt-2", {}),
        ("RUNNING", "evt-3", {}), ("FAILED", "evt-4", {"error": "late contradiction"})]
    results = [rt.completer.on_event(event(job, status, **extra), event_id) for status, event_id, extra in deliveries]
    assert results[1:3] == ["attempt SUCCEEDED", "attempt SUCCEEDED"]  # the same event is handled again ...
    assert all(r.startswith("ignored") for r in (results[0], *results[3:]))
    assert rt.tokens.of("token-extract-0") == [("success", {"status": "SUCCEEDED"})]  # ... but answered once
    [attempt] = assert_intact(rt, jobs=1)
    assert (attempt.status, attempt.end_event, attempt.error) == ("SUCCEEDED", "evt-1", None)
    assert rt.jobs["fake"].stopped == []


def test_a_failed_end_before_a_contradicting_success_stays_failed_and_the_retry_runs_once(rt: Any) -> None:
    """Fault: the ends arrive in the other order, FAILED first, then a SUCCEEDED for the same job.
    Expected: FAILED stands (nothing leaves an end), the token gets one Sluice.TaskFailed; the state's retry starts
    exactly one new job; nothing is doubled."""
    job = started(rt)
    rt.completer.clock = lambda: NOW
    assert rt.completer.on_event(event(job, "FAILED", error="exit code 2", exit_code=2), "evt-1") == "attempt FAILED"
    assert rt.completer.on_event(event(job, "SUCCEEDED"), "evt-2").startswith("ignored")
    [(how, (error, cause))] = rt.tokens.of("token-extract-0")
    assert (how, error) == ("failure", TASK_FAILED) and "exit code 2" in cause
    rt.dispatcher.handle(request(attempt=1))
    rt.dispatcher.handle(request(attempt=1))  # and the retry itself delivered twice
    attempts = assert_intact(rt, jobs=2, ended=False)
    assert [a.status for a in attempts] == ["FAILED", "RUNNING"]


def test_a_duplicated_end_releases_a_gated_task_once(rt: Any) -> None:
    """Fault: the end of a task that gates another is delivered three times (same id twice, then another id).
    Expected: the parked request is taken exactly once: one job for the gated task, no parked request left."""
    job = started(rt)
    rt.dispatcher.handle(request(task="report", depends_on=["extract"], wait_for=["extract"]))
    rt.completer.clock = lambda: NOW
    for event_id in ("evt-1", "evt-1", "evt-2"):
        rt.completer.on_event(event(job, "SUCCEEDED"), event_id)
    assert sorted(j.task for j in rt.jobs["fake"].jobs.values()) == ["extract", "report"]
    assert rt.store.waits(EXECUTION) == []
    assert_intact(rt, jobs=2, ended=False)


# ---- 2. lost completion events ------------------------------------------------------------------------------


def test_a_lost_failure_event_is_recovered_by_the_sweeper_and_the_retry_starts_one_job(
        rt: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """Fault: a job failed and its end event never came.
    Expected: the sweeper asks the service, ends the attempt FAILED with the service's reason and answers
    Sluice.TaskFailed (so the state's Retry runs); the retry starts one new job; a second sweep finds nothing."""
    job = started(rt)
    monkeypatch.setattr(rt.executions, "status", lambda arn: "RUNNING")
    rt.jobs["fake"].states[job] = JobState("FAILED", error="OutOfMemoryError", exit_code=137)
    rt.sweeper.after_seconds, rt.sweeper.clock = 0, lambda: LATER
    assert rt.sweeper.sweep().completed == 1
    [(how, (error, cause))] = rt.tokens.of("token-extract-0")
    assert (how, error) == ("failure", TASK_FAILED) and "OutOfMemoryError" in cause
    rt.dispatcher.handle(request(attempt=1))
    attempts = assert_intact(rt, jobs=2, ended=False)
    assert [(a.status, a.exit_code) for a in attempts] == [("FAILED", 137), ("RUNNING", None)]
    rt.jobs["fake"].states["job-1"] = JobState("SUCCEEDED")
    assert (rt.sweeper.sweep().completed, rt.sweeper.sweep().checked) == (1, 0)
    assert_intact(rt, jobs=2)


# ---- 3. dispatcher crash between the job's start and its record, with the real adapters --------------------


def _glue_job() -> dict[str, Any]:
    glue = client("glue")
    glue.create_job(Name="nightly", Role="arn:aws:iam::123456789012:role/jobs",
                    Command={"Name": "glueetl", "ScriptLocation": "s3://b/s.py"},
                    ExecutionProperty={"MaxConcurrentRuns": 10})
    return {"job": "nightly", "arguments": {"--day": "2026-11-27"}}


def _ecs_cluster() -> dict[str, Any]:
    ec2 = client("ec2")
    vpc = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
    ec2.modify_vpc_attribute(VpcId=vpc, EnableDnsHostnames={"Value": True})
    subnet = ec2.create_subnet(VpcId=vpc, CidrBlock="10.0.1.0/24")["Subnet"]["SubnetId"]
    ecs = client("ecs")
    ecs.create_cluster(clusterName="batch")
    ecs.register_task_definition(family="load", networkMode="awsvpc", requiresCompatibilities=["FARGATE"], cpu="256",
                                 memory="512",
                                 containerDefinitions=[{"name": "main", "image": "busybox", "memory": 512}])
    return {"cluster": "batch", "task_definition": "load", "network": {"subnets": [subnet]}}


def _jobs_in_service(kind: str) -> list[str]:
    if kind == "glue":
        return [r["Id"] for r in client("glue").get_job_runs(JobName="nightly")["JobRuns"]]
    return list(client("ecs").list_tasks(cluster="batch")["taskArns"])


@pytest.mark.parametrize("kind", ["glue", "ecs"])
def test_a_crash_after_a_real_start_is_reattached_by_the_retry_with_one_job(
        rt: Any, monkeypatch: pytest.MonkeyPatch, kind: str) -> None:
    """Fault: the dispatcher dies after Glue / ECS started the job and before the run store recorded it.
    Expected: the retry (RetryCount 1, new token) adopts the claim, starts with the claim's key, and the real
    adapter finds the job already started (Glue: the marker argument; ECS: startedBy): exactly one job in the
    service, one attempt, and its end answers the retry's token."""
    config = _glue_job() if kind == "glue" else _ecs_cluster()

    def crash(*args: Any, **kwargs: Any) -> bool:
        raise SystemExit("Lambda container died")

    with monkeypatch.context() as patch:
        patch.setattr(RunStore, "mark_running", crash)
        with pytest.raises(SystemExit):
            rt.dispatcher.handle(request(kind=kind, config=config))
    assert len(_jobs_in_service(kind)) == 1
    rt.dispatcher.handle(request(kind=kind, config=config, attempt=1, token="token-retry"))
    # the retry takes over the claim's answer; once the dead claimer's lease expires, the sweeper starts it (the
    # adapter finds the job by the claim's key)
    [claim] = rt.store.load(EXECUTION).attempts
    rt.sweeper.clock = lambda: shifted(claim.lease_until or "", 1)
    assert rt.sweeper.sweep().relaunched == 1
    [job] = _jobs_in_service(kind)
    [attempt] = rt.store.load(EXECUTION).attempts
    assert (attempt.status, attempt.external_id, attempt.token) == ("RUNNING", job, "token-retry")
    rt.completer.clock = lambda: NOW
    end = JobEvent(kind=kind, external_id=job, status="SUCCEEDED", state="SUCCEEDED", time="2026-11-28T02:31:00Z")
    assert rt.completer.on_event(end, "evt-1") == "attempt SUCCEEDED"
    assert [how for how, _ in rt.tokens.of("token-retry")] == ["success"] and rt.tokens.of("token-extract-0") == []
    [attempt] = rt.store.load(EXECUTION).attempts
    assert attempt.status == "SUCCEEDED" and len(ends(attempt)) == 1 and len(_jobs_in_service(kind)) == 1


# ---- 4. a service throttling or refusing ----------------------------------------------------------------------


def _refuse(code: str, message: str) -> ClientError:
    return ClientError({"Error": {"Code": code, "Message": message}, "ResponseMetadata": {"HTTPStatusCode": 400}},
                       "StartJobRun")


def _run_to_end(rt: Any, pipeline: Pipeline, timeout: float = 30.0) -> dict[str, Any]:
    """Execute `pipeline` in moto's Step Functions with the real dispatcher; the sweeper brings the job ends."""
    role = client("iam").create_role(RoleName="sfn", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
    fn = client("lambda").create_function(FunctionName="sluice-dispatch", Runtime="python3.12", Role=role,
                                          Handler="functions.dispatch.handler.handler",
                                          Code={"ZipFile": b"asset"})["FunctionArn"]
    definition = json.dumps(compile_pipeline(pipeline).definition).replace("${DispatchFunctionArn}", fn)
    sfn = client("stepfunctions")
    machine = sfn.create_state_machine(name=f"sluice-{pipeline.name}", roleArn=role, definition=definition)
    with routed_to_handlers(rt):
        arn = sfn.start_execution(stateMachineArn=machine["stateMachineArn"], name="run-1")["executionArn"]
        deadline = time.monotonic() + timeout
        while (described := sfn.describe_execution(executionArn=arn))["status"] == "RUNNING":
            assert time.monotonic() < deadline, "execution still RUNNING"
            rt.sweeper.sweep()
            time.sleep(0.05)
    return dict(described)


GLUE_BUSY = Pipeline.model_validate({"name": "glue-busy", "tasks": {"load": {
    "glue": {"job": "nightly"}, "retry": {"max_attempts": 3, "interval": 1, "backoff": 2, "jitter": False}}}})


def test_the_compiled_retry_backs_off_on_task_failed_and_never_retries_a_refusal() -> None:
    """What the next two tests rely on: a task's Retry catches Sluice.TaskFailed (a throttled or busy service)
    with its interval and backoff, and not Sluice.DispatchFailed (a refusal that would fail again)."""
    definition = json.dumps(compile_pipeline(GLUE_BUSY).definition)
    rules = [r for r in _retries(json.loads(definition)) if TASK_FAILED in r["ErrorEquals"]]
    assert rules and all(r["BackoffRate"] == 2 and r["IntervalSeconds"] == 1 and r["MaxAttempts"] == 2
                         for r in rules)
    assert TASK_FAILED in RETRYABLE_ERRORS and DISPATCH_FAILED not in RETRYABLE_ERRORS
    assert DISPATCH_FAILED not in definition.split('"Retry"', 1)[-1].split("]", 1)[0]


def _retries(node: Any) -> Iterator[dict[str, Any]]:
    if isinstance(node, dict):
        yield from node.get("Retry", [])
        for value in node.values():
            yield from _retries(value)
    elif isinstance(node, list):
        for value in node:
            yield from _retries(value)


@pytest.mark.moto
def test_glue_at_its_concurrency_limit_is_retried_with_backoff_until_it_starts() -> None:
    """Fault: Glue answers StartJobRun with ConcurrentRunsExceededException twice (real adapter on moto's Glue,
    the error injected in the client call). Expected: each refusal ends its attempt FAILED as Sluice.TaskFailed,
    the state's Retry waits 1 s then 2 s (backoff 2) and the third attempt starts the one Glue run, which succeeds:
    the run SUCCEEDED, attempts FAILED, FAILED, SUCCEEDED, exactly one job run in Glue."""
    with moto_runtime(fake_tokens=False) as rt:
        _glue_job()
        rt.sweeper.after_seconds = 0
        glue, refusals = _client_of(rt, "glue"), [2]
        real = glue.start_job_run

        def busy(**kwargs: Any) -> Any:
            if refusals[0] > 0:
                refusals[0] -= 1
                raise _refuse("ConcurrentRunsExceededException", "Concurrent runs exceeded for nightly")
            return real(**kwargs)

        glue.start_job_run = busy
        described = _run_to_end(rt, GLUE_BUSY)
        assert described["status"] == "SUCCEEDED", described.get("cause")
        attempts = rt.store.load(described["executionArn"]).attempts_of("load", None)
        assert [a.status for a in attempts] == ["FAILED", "FAILED", "SUCCEEDED"]
        assert all("ConcurrentRunsExceededException" in (a.error or "") and TASK_FAILED in (a.error or "")
                   for a in attempts[:2])
        waits = [_seconds(a.started_at, b.started_at) for a, b in itertools.pairwise(attempts)]
        assert waits[0] >= 1 and waits[1] >= 2, waits  # IntervalSeconds 1, BackoffRate 2
        assert _jobs_in_service("glue") == [attempts[2].external_id]
        assert all(len(ends(a)) == 1 for a in attempts) and list(rt.store.active(LATER)) == []


@pytest.mark.moto
def test_glue_still_busy_after_the_last_retry_fails_the_run_naming_glues_reason() -> None:
    """Fault: Glue refuses every start with ConcurrentRunsExceededException. Expected: three attempts, all
    FAILED (retried with backoff), then the run fails with a cause naming the task, the attempts and Glue's
    own reason; no Glue run was started, nothing is left running. (moto's SendTaskFailure drops the cause, see
    moto/stepfunctions/responses.py, so the cause Step Functions would carry into the run's is read as sent.)"""
    with moto_runtime(fake_tokens=False) as rt:
        _glue_job()
        sent: list[str] = []
        rt.tokens.client.meta.events.register("before-parameter-build.stepfunctions.SendTaskFailure",
                                              lambda params, **_: sent.append(params["cause"]))

        def busy(**kwargs: Any) -> Any:
            raise _refuse("ConcurrentRunsExceededException", "Concurrent runs exceeded for nightly")

        _client_of(rt, "glue").start_job_run = busy
        described = _run_to_end(rt, GLUE_BUSY)
        assert described["status"] == "FAILED"
        assert "task 'load' failed after 3 attempt(s): Sluice.TaskFailed" in described["cause"]
        assert len(sent) == 3 and all(
            "Glue: start a run of job 'nightly' failed: ConcurrentRunsExceededException: Concurrent runs exceeded for "
            "nightly" in cause for cause in sent), sent
        attempts = rt.store.load(described["executionArn"]).attempts_of("load", None)
        assert [a.status for a in attempts] == ["FAILED"] * 3 and all(len(ends(a)) == 1 for a in attempts)
        assert _jobs_in_service("glue") == [] and list(rt.store.active(LATER)) == []


def _client_of(rt: Any, kind: str) -> Any:
    """The boto3 client of a real job adapter (to inject a service's error into one call)."""
    return rt.jobs[kind].client


def _seconds(start: str, end: str) -> float:
    from functions.adapters.clock import seconds_between

    return seconds_between(start, end)


def _run_task_failing(rt: Any, reason: str, detail: str | None = None) -> list[int]:
    """ECS RunTask answers with `failures` (no task) once, then runs the task for real; returns the call count."""
    ecs, calls = rt.jobs["ecs"].client, [0]
    real = ecs.run_task

    def run_task(**kwargs: Any) -> Any:
        calls[0] += 1
        if calls[0] == 1:
            failure = {"arn": "arn:aws:ecs:eu-west-1:123456789012:container-instance/batch/x", "reason": reason}
            return {"tasks": [], "failures": [failure | ({"detail": detail} if detail else {})]}
        return real(**kwargs)

    ecs.run_task = run_task
    return calls


def test_ecs_without_memory_fails_the_attempt_as_retryable_and_the_retry_runs_one_task(rt: Any) -> None:
    """Fault: ECS RunTask answers with failures [{reason: RESOURCE:MEMORY}] (no room on the cluster now).
    Expected: attempt 0 FAILED, its token gets Sluice.TaskFailed (the state's Retry backs off and tries again)
    with a cause naming ECS's reason; the retry starts exactly one task."""
    config = _ecs_cluster()
    _run_task_failing(rt, "RESOURCE:MEMORY")
    rt.dispatcher.handle(request(kind="ecs", config=config))
    [(how, (error, cause))] = rt.tokens.of("token-extract-0")
    assert (how, error) == ("failure", TASK_FAILED) and "RESOURCE:MEMORY" in cause and "cluster batch" in cause
    rt.dispatcher.handle(request(kind="ecs", config=config, attempt=1))
    attempts = rt.store.load(EXECUTION).attempts
    assert [a.status for a in attempts] == ["FAILED", "RUNNING"]
    assert _jobs_in_service("ecs") == [attempts[1].external_id] and len(ends(attempts[0])) == 1


def test_fargate_capacity_unavailable_is_retried_like_any_capacity_failure(rt: Any) -> None:
    """Fault: Fargate has no capacity: RunTask answers failures [{reason: "Capacity is unavailable at this time.
    Please try again later or in a different availability zone"}] (AWS: retry later). Expected: like
    RESOURCE:MEMORY, Sluice.TaskFailed (retried with backoff) naming the reason, and the retry runs one task."""
    config = _ecs_cluster()
    _run_task_failing(rt, "Capacity is unavailable at this time. Please try again later or in a different "
                          "availability zone")
    rt.dispatcher.handle(request(kind="ecs", config=config))
    [(how, (error, cause))] = rt.tokens.of("token-extract-0")
    assert "Capacity is unavailable" in cause
    assert (how, error) == ("failure", TASK_FAILED)


def test_ecs_refusing_for_good_fails_dispatch_with_ecs_reason_and_no_task(rt: Any) -> None:
    """Fault: RunTask answers failures [{reason: MISSING}] (the cluster or definition is not there). Expected:
    not retried: Sluice.DispatchFailed naming ECS's reason; the attempt FAILED; no task in ECS."""
    config = _ecs_cluster()
    _run_task_failing(rt, "MISSING", "task definition load:9")
    rt.dispatcher.handle(request(kind="ecs", config=config))
    [(how, (error, cause))] = rt.tokens.of("token-extract-0")
    assert (how, error) == ("failure", DISPATCH_FAILED) and "MISSING" in cause and "load:9" in cause
    [attempt] = rt.store.load(EXECUTION).attempts
    assert attempt.status == "FAILED" and _jobs_in_service("ecs") == []


# ---- 5. conditional-write conflicts between concurrent handlers -----------------------------------------------


@pytest.mark.usefixtures("atomic_dynamodb")
def test_racing_completions_of_one_attempt_end_it_once_and_answer_once(
        rt: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """Fault: eight `complete` invocations handle the same job's end at once, four with the same EventBridge id
    (async retries) and four with others. Expected: one conditional end wins; the token is answered once (a
    repeated answer is refused as by Step Functions, logged); one end in the history."""
    refusing_twice(rt.tokens, monkeypatch)
    job = started(rt)
    rt.completer.clock = lambda: NOW
    ids = ["evt-same"] * 4 + [f"evt-{i}" for i in range(4)]
    results = in_threads(*[lambda i=i: rt.completer.on_event(event(job, "SUCCEEDED"), i) for i in ids])
    assert results.count("attempt SUCCEEDED") >= 1 and all(r in ("attempt SUCCEEDED", "ignored: attempt already "
                                                                 "SUCCEEDED") for r in results)
    assert rt.tokens.of("token-extract-0") == [("success", {"status": "SUCCEEDED"})]
    [attempt] = assert_intact(rt, jobs=1)
    assert attempt.end_event in ids


@pytest.mark.usefixtures("atomic_dynamodb")
def test_racing_deliveries_of_one_dispatch_start_one_job(rt: Any) -> None:
    """Fault: the same state attempt's request is delivered to four dispatchers at once. Expected: one claim wins,
    one job, one attempt; the others do nothing."""
    in_threads(*[lambda: rt.dispatcher.handle(request()) for _ in range(4)])
    [attempt] = assert_intact(rt, jobs=1, ended=False)
    assert attempt.status == "RUNNING" and rt.tokens.answers == []


@pytest.mark.usefixtures("atomic_dynamodb")
@pytest.mark.parametrize("round_", range(4))
def test_a_retry_racing_the_jobs_end_leaves_exactly_one_owner(rt: Any, monkeypatch: pytest.MonkeyPatch,
                                                              round_: int) -> None:
    """Fault: Step Functions retries a state (its invoke failed after the job started) while `complete` ends that
    job FAILED. Either order is correct: the retry adopted first, then the end answers the retry's token (one
    job); or the end came first, then the retry starts a job of its own (two jobs, the first token answered).
    Never both, never neither: each job has one attempt, each attempt ends once, each token at most one answer."""
    refusing_twice(rt.tokens, monkeypatch)
    run = f"{EXECUTION}-{round_}"
    job = started(rt, execution_id=run)
    rt.completer.clock = lambda: NOW
    in_threads(lambda: rt.dispatcher.handle(request(attempt=1, token="token-retry", execution_id=run)),
               lambda: rt.completer.on_event(event(job, "FAILED", error="exit 1"), "evt-1"))
    attempts = assert_intact(rt, jobs=len(rt.store.load(run).attempts), run=run, ended=False)
    first, retry = rt.tokens.of("token-extract-0"), rt.tokens.of("token-retry")
    if len(attempts) == 1:  # adopted, then ended: the retry's token has the failure
        assert (attempts[0].status, attempts[0].adopted_by, first, len(retry)) == ("FAILED", 1, [], 1)
    else:  # ended, then the retry started its own job
        assert [a.status for a in attempts] == ["FAILED", "RUNNING"] and (len(first), retry) == (1, [])


@pytest.mark.usefixtures("atomic_dynamodb")
def test_two_sweepers_at_once_end_each_attempt_once(rt: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """Fault: two sweeps overlap (a slow one and the next scheduled one) over ended jobs whose events were lost,
    a forgotten job and a dead dispatcher's claim. Expected: each attempt ends once with one answer to its token;
    the claim's job is found by its key and reattached once (one job); a second round finds only that job running."""
    refusing_twice(rt.tokens, monkeypatch)
    jobs: FakeJobs = rt.jobs["fake"]
    for task in ("a", "b", "c"):
        started(rt, task)
    jobs.states["job-0"], jobs.states["job-1"] = JobState("SUCCEEDED"), JobState("FAILED", error="exit 1")
    del jobs.states["job-2"]  # the service forgot c's job

    def describe(ref: Any) -> JobState:
        from functions.adapters.jobs.base import JobNotFoundError

        if ref.external_id not in jobs.states:
            raise JobNotFoundError(f"fake job {ref.external_id} not found")
        return jobs.states[ref.external_id]

    monkeypatch.setattr(jobs, "describe", describe)
    with monkeypatch.context() as patch:  # d's dispatcher dies after starting its job
        patch.setattr(RunStore, "mark_running", lambda *a, **k: (_ for _ in ()).throw(SystemExit("died")))
        with pytest.raises(SystemExit):
            rt.dispatcher.handle(request(task="d"))
    monkeypatch.setattr(rt.executions, "status", lambda arn: "RUNNING")
    rt.sweeper.after_seconds = 0
    rt.sweeper.clock = lambda: LATER
    other = type(rt.sweeper)(rt.store, rt.executions, rt.sweeper.jobs, rt.completer, after_seconds=0,
                             clock=lambda: "2099-01-01T00:00:00.001Z")
    in_threads(rt.sweeper.sweep, other.sweep)
    attempts = {a.task: a for a in assert_intact(rt, jobs=4, ended=False)}
    assert {t: a.status for t, a in attempts.items()} == {"a": "SUCCEEDED", "b": "FAILED", "c": "LOST", "d": "RUNNING"}
    for task in "abc":
        assert len(rt.tokens.of(f"token-{task}-0")) == 1, task
    # the dead dispatcher's claim is taken over by one sweeper (its lease): its job is found, not started again
    assert (attempts["d"].external_id, jobs.stopped) == ("job-3", [])
    assert rt.sweeper.sweep().checked == 1 and rt.tokens.of("token-d-0") == []  # d's job still runs


# ---- 6. a task token answered twice, or after it expired ------------------------------------------------------


@pytest.mark.parametrize("code", ["TaskTimedOut", "InvalidToken", "TaskDoesNotExist"])
def test_an_answer_step_functions_refuses_is_logged_and_the_records_stand(
        rt: Any, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture, code: str) -> None:
    """Fault: Step Functions refuses the answers (the token was answered before, its state timed out, or the
    execution is gone): SendTaskSuccess / SendTaskFailure / SendTaskHeartbeat fail with `code` (real Tokens
    adapter, botocore Stubber on the Step Functions client). Expected: no handler raises; each refusal is logged;
    the ends are recorded all the same (one each), the skip's outcome too, and no job is started twice."""
    sfn = client("stepfunctions")
    tokens = Tokens(sfn)
    for service in (rt.dispatcher, rt.completer):
        monkeypatch.setattr(service, "tokens", tokens)
    ok, bad = started(rt, "ok"), started(rt, "bad")
    still = started(rt, "still")
    rt.completer.clock = lambda: NOW
    monkeypatch.setattr(rt.executions, "status", lambda arn: "RUNNING")
    rt.sweeper.after_seconds, rt.sweeper.clock = 0, lambda: LATER
    with Stubber(sfn) as stub:
        for operation in ("send_task_success", "send_task_failure", "send_task_success", "send_task_heartbeat",
                          "send_task_success"):
            stub.add_client_error(operation, service_error_code=code, service_message=f"{code}: not waiting")
        with caplog.at_level("INFO"):
            assert rt.completer.on_event(event(ok, "SUCCEEDED"), "evt-ok") == "attempt SUCCEEDED"
            assert rt.completer.on_event(event(bad, "FAILED", error="exit 3"), "evt-bad") == "attempt FAILED"
            assert rt.completer.on_event(event(ok, "SUCCEEDED"), "evt-ok") == "attempt SUCCEEDED"  # answered twice
            assert rt.sweeper.sweep().checked == 1  # 'still' runs: its heartbeat is refused
            rt.dispatcher.handle(request("skip", "later"))
        stub.assert_no_pending_responses()
    refused = [r.getMessage() for r in caplog.records if "waits" in r.getMessage()]
    assert len(refused) == 5, refused
    attempts = {a.task: a for a in rt.store.load(EXECUTION).attempts}
    assert {t: a.status for t, a in attempts.items()} == {"ok": "SUCCEEDED", "bad": "FAILED", "still": "RUNNING"}
    assert all(len(ends(a)) == (1 if a.ended else 0) for a in attempts.values())
    assert rt.store.load(EXECUTION).ledger.task("later").status == "SKIPPED"
    assert sorted(rt.jobs["fake"].jobs) == sorted([ok, bad, still])


# ---- 7. an execution stopped while its jobs run ---------------------------------------------------------------


def _real_execution() -> str:
    """A real (moto) execution to dispatch into; stop_execution then makes Step Functions report it ABORTED."""
    role = client("iam").create_role(RoleName="sfn", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
    sfn = client("stepfunctions")
    definition = {"StartAt": "W", "States": {"W": {"Type": "Wait", "Seconds": 600, "End": True}}}
    machine = sfn.create_state_machine(name="sluice-demo", definition=json.dumps(definition), roleArn=role)
    return str(sfn.start_execution(stateMachineArn=machine["stateMachineArn"], name="run-1")["executionArn"])


def _stop(run: str) -> None:
    """StopExecution, until Step Functions (moto) reports the run ABORTED: moto may not stop an execution whose
    worker thread is still setting up, and says so only by leaving it RUNNING."""
    sfn, deadline = client("stepfunctions"), time.monotonic() + 20
    while sfn.describe_execution(executionArn=run)["status"] == "RUNNING":
        assert time.monotonic() < deadline, "moto never stopped the execution"
        with contextlib.suppress(Exception):
            sfn.stop_execution(executionArn=run, error="Cancelled", cause="by ana")
        time.sleep(0.05)


def test_stopping_an_execution_stops_its_jobs_and_closes_its_attempts(rt: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """Fault: the execution is stopped (StopExecution) while two jobs run and a third's dispatcher died after
    starting it. Expected: the sweeper (real Executions adapter: ABORTED) stops every job, the unrecorded one
    found by its key, once each, and closes every attempt STOPPED; a late end event of a stopped job changes
    nothing. (The run API's cancel: tests/integration/test_run_api.py::
    test_cancel_stops_the_execution_and_its_jobs_and_records_who_and_why.)"""
    run = _real_execution()
    a, b = started(rt, "a", execution_id=run), started(rt, "b", execution_id=run)
    with monkeypatch.context() as patch:
        patch.setattr(RunStore, "mark_running", lambda *a, **k: (_ for _ in ()).throw(SystemExit("died")))
        with pytest.raises(SystemExit):
            rt.dispatcher.handle(request(task="c", execution_id=run))
    _stop(run)
    rt.sweeper.after_seconds, rt.sweeper.clock = 0, lambda: LATER
    assert rt.sweeper.sweep().stopped == 3
    jobs: FakeJobs = rt.jobs["fake"]
    assert sorted(jobs.stopped) == sorted([a, b, "job-2"])
    attempts = assert_intact(rt, jobs=3, run=run)
    assert {x.status for x in attempts} == {"STOPPED"} and all("ABORTED" in (x.error or "") for x in attempts)
    rt.completer.clock = lambda: NOW
    assert rt.completer.on_event(event(a, "FAILED", error="stopped"), "evt-late").startswith("ignored")
    assert rt.tokens.answers == [] and rt.sweeper.sweep().checked == 0


def test_a_job_started_after_its_claim_was_closed_is_stopped(rt: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """Fault: while a dispatcher is between claim and start, its attempt is closed (here: the execution was
    stopped and the sweeper closed the claim STOPPED; the run API's cancel, functions/api/runs.py, closes every
    unended attempt at once, and a `fail` action after States.Timeout closes it TIMED_OUT, the same way).
    The sweeper's look-up by key finds no job yet; then the dispatcher starts it.
    Expected: that job is stopped (the dispatcher's record fails, so it knows nobody owns the job). Before the
    fix, mark_running's failed update was ignored and the job ran on, unseen by any sweep (the attempt had left
    the `active` index)."""
    run = _real_execution()
    _stop(run)
    rt.sweeper.after_seconds, rt.sweeper.clock = 0, lambda: LATER
    jobs: FakeJobs = rt.jobs["fake"]
    start = jobs.start

    def slow_start(job: Any) -> Any:
        assert rt.sweeper.sweep().stopped == 1  # the claim is closed while the dispatcher is still starting
        return start(job)

    monkeypatch.setattr(jobs, "start", slow_start)
    rt.dispatcher.handle(request(execution_id=run))
    [attempt] = rt.store.load(run).attempts
    assert attempt.status == "STOPPED"
    assert jobs.stopped == ["job-0"], "the job started after the close is still running"


# ---- 8. the sweeper and a late completion event for the same attempt -----------------------------------------


def test_an_event_handled_while_the_sweeper_recovers_the_same_end_gives_one_end(
        rt: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """Fault: the sweeper asks the service about a job whose event is late; the event is handled between the
    sweeper's DescribeJob and its end. Expected: the event's end is the record; the sweeper's end loses the
    conditional update and answers nothing: one end, one answer."""
    job = started(rt)
    jobs: FakeJobs = rt.jobs["fake"]
    jobs.states[job] = JobState("SUCCEEDED")
    rt.completer.clock = lambda: NOW
    describe = jobs.describe

    def describe_then_event(ref: Any) -> JobState:
        state = describe(ref)
        assert rt.completer.on_event(event(job, "SUCCEEDED"), "evt-late") == "attempt SUCCEEDED"
        return state

    monkeypatch.setattr(jobs, "describe", describe_then_event)
    monkeypatch.setattr(rt.executions, "status", lambda arn: "RUNNING")
    rt.sweeper.after_seconds, rt.sweeper.clock = 0, lambda: LATER
    rt.sweeper.sweep()
    [attempt] = assert_intact(rt, jobs=1)
    assert (attempt.status, attempt.end_event) == ("SUCCEEDED", "evt-late")
    assert rt.tokens.of("token-extract-0") == [("success", {"status": "SUCCEEDED"})]


def test_a_late_event_after_the_sweeper_recovered_the_end_changes_nothing(
        rt: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """Fault: `complete` looked the attempt up, then the sweeper recovered the same end before `complete` wrote
    it (and the event's outcome even contradicts the service's). Expected: the sweeper's end is the record; the
    event is ignored: one end, one answer."""
    job = started(rt)
    rt.jobs["fake"].states[job] = JobState("FAILED", error="exit 1", exit_code=1)
    monkeypatch.setattr(rt.executions, "status", lambda arn: "RUNNING")
    rt.sweeper.after_seconds, rt.sweeper.clock = 0, lambda: LATER
    rt.completer.clock = lambda: NOW
    lookup = rt.store.attempt_by_job

    def lookup_then_sweep(kind: str, external_id: str) -> Any:
        found = lookup(kind, external_id)
        assert rt.sweeper.sweep().completed == 1
        return found

    monkeypatch.setattr(rt.store, "attempt_by_job", lookup_then_sweep)
    assert rt.completer.on_event(event(job, "SUCCEEDED"), "evt-late") == "ignored: attempt already FAILED"
    [attempt] = assert_intact(rt, jobs=1)
    assert attempt.status == "FAILED" and (attempt.end_event or "").startswith("sweep:")
    assert [how for how, _ in rt.tokens.of("token-extract-0")] == ["failure"]


@pytest.mark.usefixtures("atomic_dynamodb")
def test_the_sweeper_and_late_events_racing_over_many_attempts_end_each_once(
        rt: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """Fault: a sweep runs while the late events of the same ten ended jobs arrive, in threads. Expected: per
    attempt one end (by whichever came first) and one answer."""
    refusing_twice(rt.tokens, monkeypatch)
    tasks = [f"t{i}" for i in range(10)]
    job_of = {task: started(rt, task) for task in tasks}
    for job in job_of.values():
        rt.jobs["fake"].states[job] = JobState("SUCCEEDED")
    monkeypatch.setattr(rt.executions, "status", lambda arn: "RUNNING")
    rt.sweeper.after_seconds, rt.sweeper.clock = 0, lambda: LATER
    rt.completer.clock = lambda: NOW
    in_threads(rt.sweeper.sweep, *[lambda j=j: rt.completer.on_event(event(j, "SUCCEEDED"), f"evt-{j}")
                                   for j in job_of.values()])
    attempts = assert_intact(rt, jobs=10)
    assert all(a.status == "SUCCEEDED" for a in attempts)
    for task in tasks:
        assert rt.tokens.of(f"token-{task}-0") == [("success", {"status": "SUCCEEDED"})]

