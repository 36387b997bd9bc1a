"""Issue 15's scenarios, one regression test each (GIVEN / WHEN / THEN), on moto's DynamoDB with fake tokens and jobs.

Each failed on the code before the fix (scenario numbers as in docs/guarantees.md).
"""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import ClientError

from functions.adapters.clock import shifted
from functions.adapters.jobs.base import JobRef, JobStart, JobState
from functions.adapters.run_store import RunStore, StoreError
from functions.dispatch.service import Dispatcher
from functions.runtime.waits import LEASE_SECONDS
from functions.sweep.service import DELIVERY_GRACE
from tests.support.runtime import EXECUTION, FakeJobs, FakeTokens, moto_runtime, request

GATED = {"task": "report", "depends_on": ["extract"], "wait_for": ["extract"]}


@pytest.fixture
def rt() -> Any:
    with moto_runtime() as runtime:
        runtime.sweeper.after_seconds = 0
        yield runtime


def throttle() -> ClientError:
    return ClientError({"Error": {"Code": "ThrottlingException", "Message": "Rate exceeded"},
                        "ResponseMetadata": {"HTTPStatusCode": 400}}, "SendTaskSuccess")


def job_of(rt: Any, task: str) -> Any:
    return next(a for a in rt.store.load(EXECUTION).attempts if a.task == task)


def test_1_a_retry_after_a_state_timeout_gets_the_success_of_the_job_that_ended_meanwhile(rt: Any) -> None:
    tokens: FakeTokens = rt.tokens
    # GIVEN a task whose state timed out (its token is gone) and whose job then succeeded
    rt.dispatcher.handle(request())
    tokens.gone.add("token-extract-0")
    rt.completer.finish(job_of(rt, "extract"), JobState("SUCCEEDED"), "evt-1")
    # WHEN the state's Retry arrives with a new token
    rt.dispatcher.handle(request(attempt=1))
    # THEN it is answered with the recorded success at once, and no second job starts
    assert tokens.of("token-extract-1") == [("success", {"status": "SUCCEEDED"})]
    assert len(rt.jobs["fake"].jobs) == 1


def test_2_an_answer_throttled_after_the_sweeper_recorded_the_end_is_sent_by_a_later_sweep(
        rt: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    tokens: FakeTokens = rt.tokens
    jobs: FakeJobs = rt.jobs["fake"]
    # GIVEN two running jobs whose end events were lost; both ended
    rt.dispatcher.handle(request(task="a"))
    rt.dispatcher.handle(request(task="b"))
    jobs.states = {external: JobState("SUCCEEDED") for external in jobs.states}
    succeed, throttled = tokens.succeed, ["token-a-0"]

    def flaky(token: str, output: Any) -> None:
        if token in throttled:
            throttled.remove(token)
            raise throttle()
        succeed(token, output)

    monkeypatch.setattr(tokens, "succeed", flaky)
    # WHEN the sweeper records both ends and a's SendTaskSuccess is throttled
    report = rt.sweeper.sweep()
    # THEN the sweep goes on (b is answered), and a's end is recorded with its answer due
    assert report.completed == 2 and tokens.of("token-b-0") == [("success", {"status": "SUCCEEDED"})]
    assert job_of(rt, "a").status == "SUCCEEDED" and tokens.of("token-a-0") == []
    # WHEN a later sweep comes by THEN it delivers a's answer, once
    rt.sweeper.clock = lambda: shifted(job_of(rt, "a").ended_at or "", DELIVERY_GRACE + 1)
    assert rt.sweeper.sweep().delivered == 1
    assert tokens.of("token-a-0") == [("success", {"status": "SUCCEEDED"})]
    assert rt.sweeper.sweep().delivered == 0


def test_2_an_answer_throttled_in_complete_is_kept_due_not_lost(rt: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    tokens: FakeTokens = rt.tokens
    rt.dispatcher.handle(request())
    monkeypatch.setattr(tokens, "fail", lambda *a: (_ for _ in ()).throw(throttle()))
    # WHEN the job fails and completion's SendTaskFailure is throttled past every retry
    rt.completer.finish(job_of(rt, "extract"), JobState("FAILED", error="exit 1"), "evt-1")
    monkeypatch.undo()
    # THEN a sweep after the grace sends the failure, with the error name the Retry matches
    rt.sweeper.clock = lambda: shifted(job_of(rt, "extract").ended_at or "", DELIVERY_GRACE + 1)
    assert rt.sweeper.sweep().delivered == 1
    [(how, (error, _))] = rt.tokens.of("token-extract-0")
    assert (how, error) == ("failure", "Sluice.TaskFailed")


def test_4_a_stopped_run_starts_no_gated_task(rt: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    jobs: FakeJobs = rt.jobs["fake"]
    # GIVEN report parked at its gate on extract
    rt.dispatcher.handle(request())
    rt.dispatcher.handle(request(**GATED))
    # WHEN the execution is stopped and then extract's job ends
    monkeypatch.setattr(rt.executions, "status", lambda arn: "ABORTED")
    rt.completer.finish(job_of(rt, "extract"), JobState("SUCCEEDED"), "evt-1")
    # THEN report's job never starts, and its wait is cancelled
    assert [j.task for j in jobs.jobs.values()] == ["extract"]
    assert rt.store.waits(EXECUTION) == []
    # AND its attempt is recorded STOPPED, so a late delivery of the same request (its gate open now) starts
    # nothing either (found by test_stateful_runtime.py, seed 2)
    [attempt] = rt.store.load(EXECUTION, ["report"]).attempts_of("report", None)
    assert (attempt.status, attempt.error) == ("STOPPED", "the execution was ABORTED when its gate opened")
    rt.dispatcher.handle(request(**GATED))
    assert [j.task for j in jobs.jobs.values()] == ["extract"]


def test_4_the_sweeper_cancels_the_waits_of_a_stopped_run(rt: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    rt.dispatcher.handle(request())
    rt.dispatcher.handle(request(**GATED))
    monkeypatch.setattr(rt.executions, "status", lambda arn: "ABORTED")
    assert rt.sweeper.sweep().cancelled == 1 and rt.store.waits(EXECUTION) == []


def test_5_a_parked_request_is_heartbeated_by_every_sweep(rt: Any) -> None:
    tokens: FakeTokens = rt.tokens
    # GIVEN report parked at its gate (its state has a heartbeat)
    rt.dispatcher.handle(request())
    rt.dispatcher.handle(request(heartbeat=60, **GATED))
    # THEN parking heartbeats it once (its HeartbeatSeconds ran from the state's entry, however late it arrived)
    assert [how for token, how, _ in tokens.answers if token == "token-report-0"] == ["heartbeat"]
    # WHEN two sweeps run THEN each heartbeats the parked token (HeartbeatSeconds never fires while it waits)
    for _ in range(2):
        assert rt.sweeper.sweep().waiting == 1
    assert [how for token, how, _ in tokens.answers if token == "token-report-0"] == ["heartbeat"] * 3


def test_6_a_crash_between_taking_a_wait_and_proceeding_loses_nothing(rt: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    jobs: FakeJobs = rt.jobs["fake"]
    rt.dispatcher.handle(request())
    rt.dispatcher.handle(request(**GATED))

    # GIVEN the releaser dies right after it took report's wait
    def die(*args: Any, **kwargs: Any) -> bool:
        raise SystemExit("the completion function died")

    with monkeypatch.context() as patch:
        patch.setattr(Dispatcher, "proceed", die)
        with pytest.raises(SystemExit):
            rt.completer.finish(job_of(rt, "extract"), JobState("SUCCEEDED"), "evt-1")
    # THEN the wait is still there, claimed; a sweep within the lease leaves it to its holder
    [wait] = rt.store.waits(EXECUTION)
    assert wait.state == "CLAIMED"
    rt.sweeper.sweep()
    assert [j.task for j in jobs.jobs.values()] == ["extract"]
    # WHEN the lease has expired THEN the sweeper proceeds with it: report's one job starts, the wait is gone
    rt.dispatcher.clock = rt.sweeper.clock = lambda: shifted(wait.lease_until or "", 1)
    rt.sweeper.sweep()
    assert [j.task for j in jobs.jobs.values()] == ["extract", "report"] and rt.store.waits(EXECUTION) == []


def test_6_a_release_missed_by_its_ender_is_made_by_the_sweeper(rt: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    jobs: FakeJobs = rt.jobs["fake"]
    rt.dispatcher.handle(request())
    rt.dispatcher.handle(request(**GATED))
    # GIVEN extract's end is recorded but its ender's look for waits fails (throttled)
    with monkeypatch.context() as patch:
        patch.setattr(RunStore, "waits", lambda *a: (_ for _ in ()).throw(StoreError("throttled")))
        rt.completer.finish(job_of(rt, "extract"), JobState("SUCCEEDED"), "evt-1")
    assert [j.task for j in jobs.jobs.values()] == ["extract"]
    # WHEN the sweeper comes by THEN report starts
    rt.sweeper.sweep()
    assert [j.task for j in jobs.jobs.values()] == ["extract", "report"]


def test_7_a_failed_look_for_waits_does_not_fail_the_request_that_recorded_an_end(
        rt: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    tokens: FakeTokens = rt.tokens
    # GIVEN a gated pipeline's skipped task, and the look for waits afterwards is throttled
    monkeypatch.setattr(RunStore, "waits", lambda *a: (_ for _ in ()).throw(StoreError("throttled")))
    rt.dispatcher.handle(request("skip", "optional"))
    # THEN its token gets its SKIPPED, and no TaskFailed
    assert tokens.of("token-optional-0") == [("success", {"status": "SKIPPED"})]


class SlowJobs(FakeJobs):
    """A Glue-like service: look up by key, then start (not atomic); every start call counted."""

    def __init__(self) -> None:
        super().__init__()
        self.starts: list[str] = []
        self.during_start: Any = None

    def start(self, job: JobStart) -> JobRef:
        found = self.find(job)
        if found is not None:
            return found
        if self.during_start is not None:  # another dispatcher runs while this one is between look-up and start
            during, self.during_start = self.during_start, None
            during()
        self.starts.append(job.key)
        external = f"job-{len(self.starts)}"
        self.jobs[external], self.states[external] = job, JobState("RUNNING")
        self.by_key.setdefault(job.key, external)
        return JobRef(self.kind, external, {})


def test_8_a_retry_that_adopts_a_claim_still_being_started_starts_no_second_job(rt: Any) -> None:
    jobs = SlowJobs()
    rt.jobs_override["fake"] = jobs
    rt.__dict__.pop("job_adapters", None), rt.__dict__.pop("jobs", None), rt.__dict__.pop("dispatcher", None)
    # GIVEN the dispatcher is between Glue's look-up and its start when the state times out and its Retry arrives
    jobs.during_start = lambda: rt.dispatcher.handle(request(attempt=1))
    rt.dispatcher.handle(request(attempt=0))
    # THEN one job was started, and the attempt (adopted for its answer) is RUNNING under the retry's token
    assert len(jobs.starts) == 1
    [attempt] = rt.store.load(EXECUTION).attempts
    assert (attempt.status, attempt.token, attempt.adopted_by) == ("RUNNING", "token-extract-1", 1)


def test_14_gate_checks_read_linearly_in_the_size_of_a_foreach(rt: Any) -> None:
    # GIVEN report waits on a foreach task of n items
    def items_read(n: int) -> int:
        run = f"{EXECUTION}-{n}"
        rt.dispatcher.handle(request(**GATED | {"wait_for": ["train"], "depends_on": ["train"]}, execution_id=run))
        for index in range(n):
            rt.dispatcher.handle(request(task="train", item_index=index, token=f"t-{n}-{index}", execution_id=run))
        attempts = rt.store.load(run).attempts
        read = [0]

        def count(parsed: dict[str, Any], **_: Any) -> None:
            read[0] += parsed.get("Count", 0)

        rt.store.client.meta.events.register("after-call.dynamodb.Query", count)
        for attempt in attempts:
            rt.completer.finish(attempt, JobState("SUCCEEDED"), f"evt-{n}-{attempt.item_index}")
        rt.store.client.meta.events.unregister("after-call.dynamodb.Query", count)
        return read[0]

    # WHEN every item ends THEN the items read grow linearly with n (they grew as (n+1)^2)
    small, large = items_read(10), items_read(40)
    assert large <= 5 * small + 40, (small, large)


def test_a_lease_is_longer_than_any_function_lives() -> None:
    from infra.constructs.runtime import SPECS

    assert max(spec.timeout for spec in SPECS.values()) < LEASE_SECONDS


def test_12_a_redriven_state_attempt_is_refused_with_a_pointer_to_resume(rt: Any) -> None:
    tokens: FakeTokens = rt.tokens
    # GIVEN a task whose attempt 0 was stopped when the run was stopped
    rt.dispatcher.handle(request())
    rt.dispatcher.close(job_of(rt, "extract"), "STOPPED", "the execution is ABORTED")
    # WHEN the execution is redriven: the state re-enters with RetryCount 0 and a new token
    rt.dispatcher.handle(request(token="token-redriven"))
    # THEN it is refused at once, naming `sluice resume`, and no job starts
    [(how, (error, cause))] = tokens.of("token-redriven")
    assert (how, error) == ("failure", "Sluice.RedriveUnsupported") and "sluice resume run-1" in cause
    assert len(rt.jobs["fake"].jobs) == 1


def test_12_a_repeated_delivery_of_a_running_attempt_is_not_taken_for_a_redrive(rt: Any) -> None:
    rt.dispatcher.handle(request())
    rt.dispatcher.handle(request())
    assert rt.tokens.of("token-extract-0") == [] and len(rt.jobs["fake"].jobs) == 1
