"""The dispatcher on moto's DynamoDB, with a fake job service and fake task tokens (GIVEN / WHEN / THEN)."""

from __future__ import annotations

from typing import Any

import pytest

from functions.adapters.clock import shifted
from functions.adapters.jobs.base import JobError, JobState
from functions.adapters.run_store import RunStore
from functions.runtime.records import Attempt
from tests.support.runtime import EXECUTION, FakeJobs, FakeTokens, count_writes, moto_runtime, request


@pytest.fixture
def rt() -> Any:
    with moto_runtime() as runtime:
        yield runtime


def fakes(rt: Any) -> tuple[FakeJobs, FakeTokens]:
    return rt.jobs["fake"], rt.tokens


def end_job(rt: Any, task: str, status: str = "SUCCEEDED", item_index: int | None = None, **state: Any) -> None:
    """The job service reports the end of the task's running job (as the completion event would)."""
    attempt = next(a for a in rt.store.load(EXECUTION).attempts_of(task, item_index) if not a.ended)
    rt.completer.finish(attempt, JobState(status, **state), event_id=f"evt-{task}-{attempt.retry}")


def test_run_starts_one_job_and_records_the_attempt(rt: Any) -> None:
    # GIVEN a task whose config has templates
    jobs, tokens = fakes(rt)
    req = request(config={"path": "s3://lake/{{ ds }}/{{ params.table }}", "run": "{{ run_id }}"},
                  params={"table": "orders"})
    # WHEN it is dispatched
    rt.dispatcher.handle(req)
    # THEN one job runs with the rendered config, the attempt is RUNNING with its id, and no answer is sent yet
    assert [j.config for j in jobs.jobs.values()] == [{"path": "s3://lake/2026-11-27/orders", "run": "run-1"}]
    [attempt] = rt.store.load(EXECUTION).attempts
    assert (attempt.status, attempt.external_id, attempt.token) == ("RUNNING", "job-0", req.task_token)
    assert [h["status"] for h in attempt.history] == ["STARTING", "RUNNING"]
    assert tokens.answers == []


def test_the_happy_path_costs_four_writes_per_attempt(rt: Any) -> None:
    # GIVEN a counter on the run store's client
    writes = count_writes(rt.store.client)
    # WHEN a task is dispatched and its job succeeds
    rt.dispatcher.handle(request())
    end_job(rt, "extract")
    # THEN claim, running, end (with the answer due) and delivered are the only writes
    assert writes == ["PutItem", "UpdateItem", "UpdateItem", "UpdateItem"]


def test_a_duplicate_delivery_starts_no_second_job(rt: Any) -> None:
    jobs, _ = fakes(rt)
    # WHEN the same state attempt is delivered twice
    rt.dispatcher.handle(request())
    rt.dispatcher.handle(request())
    # THEN there is one job and one attempt
    assert len(jobs.jobs) == 1
    assert len(rt.store.load(EXECUTION).attempts) == 1


def test_a_crash_between_start_and_record_is_adopted_by_the_retry(rt: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    jobs, tokens = fakes(rt)

    # GIVEN a dispatcher that dies after the job started, before recording it
    def crash(*args: Any, **kwargs: Any) -> bool:
        raise SystemExit("Lambda container died")

    with monkeypatch.context() as patch:
        patch.setattr(RunStore, "mark_running", crash)
        with pytest.raises(SystemExit):
            rt.dispatcher.handle(request(attempt=0))
    assert len(jobs.jobs) == 1
    # WHEN Step Functions retries the state (RetryCount 1, a new token) while the claim's lease is live
    rt.dispatcher.handle(request(attempt=1, token="token-retry"))
    # THEN the retry takes the claim's answer over but does not start the job: the claimer may still be starting it
    [attempt] = rt.store.load(EXECUTION).attempts
    assert (attempt.status, attempt.token, len(jobs.jobs)) == ("STARTING", "token-retry", 1)
    # WHEN the lease has expired (the claimer is dead) and the sweeper comes by
    rt.sweeper.clock = lambda: shifted(attempt.lease_until or "", 1)
    assert rt.sweeper.sweep().relaunched == 1
    # THEN the same job is reattached: one job, one attempt, RUNNING under the new token
    assert len(jobs.jobs) == 1
    [attempt] = rt.store.load(EXECUTION).attempts
    assert (attempt.status, attempt.token, attempt.external_id) == ("RUNNING", "token-retry", "job-0")
    # AND the job's end answers the new token
    end_job(rt, "extract")
    assert tokens.of("token-retry") == [("success", {"status": "SUCCEEDED"})]


def test_a_retry_after_the_claimers_lease_expired_starts_the_job_itself(rt: Any,
                                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    jobs, _ = fakes(rt)

    # GIVEN a dispatcher that died after claiming, before starting the job
    def crash(*args: Any, **kwargs: Any) -> Any:
        raise SystemExit("Lambda container died")

    with monkeypatch.context() as patch:
        patch.setattr(rt.jobs["fake"], "start", crash)
        with pytest.raises(SystemExit):
            rt.dispatcher.handle(request(attempt=0))
    [claim] = rt.store.load(EXECUTION).attempts
    # WHEN a retry arrives after the claim's lease expired
    rt.dispatcher.clock = lambda: shifted(claim.lease_until or "", 1)
    rt.dispatcher.handle(request(attempt=1, token="token-retry"))
    # THEN it starts the one job under its own lease and token
    [attempt] = rt.store.load(EXECUTION).attempts
    assert (attempt.status, attempt.token, len(jobs.jobs)) == ("RUNNING", "token-retry", 1)


def test_a_failed_job_is_answered_with_task_failed_and_the_retry_starts_a_new_job(rt: Any) -> None:
    jobs, tokens = fakes(rt)
    rt.dispatcher.handle(request(attempt=0))
    end_job(rt, "extract", "FAILED", error="exit code 3", exit_code=3)
    [(how, (error, cause))] = tokens.of("token-extract-0")
    assert (how, error) == ("failure", "Sluice.TaskFailed") and "exit code 3" in cause
    # WHEN the state's Retry dispatches attempt 2
    rt.dispatcher.handle(request(attempt=1))
    # THEN a second job runs under a new attempt
    assert len(jobs.jobs) == 2
    assert [a.status for a in rt.store.load(EXECUTION).attempts_of("extract", None)] == ["FAILED", "RUNNING"]


def test_a_timed_out_attempt_is_stopped_and_replaced(rt: Any) -> None:
    jobs, _ = fakes(rt)
    # GIVEN an attempt with a 1-second timeout that has run longer than that
    rt.dispatcher.handle(request(attempt=0, timeout=1))
    later = "2099-01-01T00:00:00.000Z"
    rt.dispatcher.clock = lambda: later
    # WHEN the retry for States.Timeout arrives
    rt.dispatcher.handle(request(attempt=1, timeout=1))
    # THEN the old job is stopped and recorded TIMED_OUT, and a new job runs
    assert jobs.stopped == ["job-0"]
    assert [a.status for a in rt.store.load(EXECUTION).attempts] == ["TIMED_OUT", "RUNNING"]


def test_a_state_timeout_records_which_timeout_ran_out_and_its_value(rt: Any) -> None:
    # GIVEN an attempt running under a 1-hour task timeout, and a task with a 30-minute heartbeat
    rt.dispatcher.handle(request(attempt=0, timeout=3600))
    # WHEN Step Functions gives up on it: States.Timeout, with an empty cause, as it sends it
    rt.dispatcher.handle(request("fail", "extract", timeout=3600, error={"Error": "States.Timeout", "Cause": ""}))
    rt.dispatcher.handle(request("fail", "load", heartbeat=1800,
                                 error={"Error": "States.HeartbeatTimeout", "Cause": ""}))
    # THEN the task's record and its closed attempt say which limit and how long
    view = rt.store.load(EXECUTION)
    assert view.ledger.task("extract").cause == "task timeout of 3600 s (timeout: 1h) ran out"
    [attempt] = view.attempts_of("extract", None)
    assert attempt.status == "TIMED_OUT" and attempt.error == \
        "States.Timeout: task timeout of 3600 s (timeout: 1h) ran out"
    assert view.ledger.task("load").cause == \
        "no heartbeat within the heartbeat timeout of 1800 s (heartbeat: 30m)"
    # AND a request from a definition that sent no limits takes the attempt's recorded timeout
    rt.dispatcher.handle(request(task="other", attempt=0, timeout=90))
    rt.dispatcher.handle(request("fail", "other", error={"Error": "States.Timeout", "Cause": ""}))
    assert rt.store.load(EXECUTION).ledger.task("other").cause == "task timeout of 90 s (timeout: 1m30s) ran out"


def test_a_throttled_service_fails_the_attempt_as_retryable_and_a_refusal_as_final(rt: Any) -> None:
    jobs, tokens = fakes(rt)
    jobs.refuse = [JobError("Glue refused: ConcurrentRunsExceededException", retryable=True),
                   JobError("Glue: EntityNotFoundException: job 'nope' not found", retryable=False)]
    rt.dispatcher.handle(request(attempt=0))
    rt.dispatcher.handle(request(attempt=1))
    assert [v[0] for _, v in tokens.of("token-extract-0") + tokens.of("token-extract-1")] == [
        "Sluice.TaskFailed", "Sluice.DispatchFailed"]
    attempts = rt.store.load(EXECUTION).attempts
    assert [a.status for a in attempts] == ["FAILED", "FAILED"]
    assert "EntityNotFoundException" in (attempts[1].error or "")


def test_a_bad_template_fails_dispatch_with_the_reason(rt: Any) -> None:
    _, tokens = fakes(rt)
    rt.dispatcher.handle(request(config={"path": "{{ params.missing }}"}))
    [(how, (error, cause))] = tokens.of("token-extract-0")
    assert (how, error) == ("failure", "Sluice.DispatchFailed") and "missing" in cause


def test_upstream_failure_and_trigger_rules_are_decided_from_the_store(rt: Any) -> None:
    jobs, tokens = fakes(rt)
    # GIVEN extract failed after its last attempt
    rt.dispatcher.handle(request("fail", "extract", error={"Error": "Sluice.TaskFailed", "Cause": "boom"}))
    # WHEN its dependants are dispatched
    rt.dispatcher.handle(request(task="load", depends_on=["extract"]))
    rt.dispatcher.handle(request(task="alert", depends_on=["extract"], trigger_rule="one_failed"))
    rt.dispatcher.handle(request(task="cleanup", depends_on=["load"], trigger_rule="all_done"))
    # THEN load is UPSTREAM_FAILED without a job, alert and cleanup run
    assert tokens.of("token-load-0") == [("success", {"status": "UPSTREAM_FAILED"})]
    assert sorted(j.task for j in jobs.jobs.values()) == ["alert", "cleanup"]
    outcome = rt.dispatcher.handle(request("finalize"))
    assert outcome["status"] == "FAILED" and "task 'extract' failed" in outcome["cause"]


def test_a_gated_task_waits_until_its_dependency_ends(rt: Any) -> None:
    jobs, tokens = fakes(rt)
    rt.dispatcher.handle(request(task="extract"))
    # WHEN a task gated on extract arrives first
    rt.dispatcher.handle(request(task="report", depends_on=["extract"], wait_for=["extract"],
                                 config={"input": "{{ tasks.extract.output.path }}"}))
    # THEN it is parked: no job yet
    assert [j.task for j in jobs.jobs.values()] == ["extract"]
    # WHEN extract succeeds with an output
    end_job(rt, "extract", output={"path": "s3://lake/x"})
    # THEN report starts, rendered with extract's output, and the gate is gone
    assert [j.config for j in jobs.jobs.values() if j.task == "report"] == [{"input": "s3://lake/x"}]
    assert rt.store.waits(EXECUTION) == []
    assert tokens.of("token-report-0") == []


def test_a_skip_waits_at_its_gate_and_releases_its_dependants(rt: Any) -> None:
    _, tokens = fakes(rt)
    rt.dispatcher.handle(request("skip", "optional", wait_for=["extract"]))
    assert tokens.of("token-optional-0") == []
    rt.dispatcher.handle(request("fail", "extract", error={"Error": "States.Timeout", "Cause": ""}))
    assert tokens.of("token-optional-0") == [("success", {"status": "SKIPPED"})]


def test_foreach_prepare_renders_items_and_finish_records_the_outcome(rt: Any) -> None:
    _, tokens = fakes(rt)
    rt.dispatcher.handle(request("prepare", "train", items="{{ params.regions }}", max_items=2,
                                 params={"regions": ["eu", "us"]}))
    assert tokens.of("token-train-0") == [("success", {"items": ["eu", "us"]})]
    for index in (0, 1):
        rt.dispatcher.handle(request(task="train", item="eu", item_index=index, token=f"item-{index}"))
    end_job(rt, "train", item_index=0)
    rt.dispatcher.handle(request("fail", "train", item_index=1, error={"Error": "Sluice.TaskFailed", "Cause": "x"}))
    rt.dispatcher.handle(request("finish", "train"))
    record = rt.store.load(EXECUTION).ledger.task("train")
    assert record.status == "FAILED" and "1 of 2 items failed" in (record.cause or "")


@pytest.mark.parametrize(("items", "expected"), [("{{ params.regions }}", "3 items, foreach.max_items is 2"),
                                                 ("{{ params.name }}", "are not a list")])
def test_foreach_items_out_of_bounds_fail_clearly(rt: Any, items: str, expected: str) -> None:
    _, tokens = fakes(rt)
    rt.dispatcher.handle(request("prepare", "train", items=items, max_items=2,
                                 params={"regions": [1, 2, 3], "name": "x"}))
    [(how, (error, cause))] = tokens.of("token-train-0")
    assert (how, error) == ("failure", "Sluice.TooManyItems") and expected in cause


def test_a_dependency_ending_while_the_request_parks_is_not_missed(rt: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    jobs, _ = fakes(rt)
    rt.dispatcher.handle(request(task="extract"))
    park = RunStore.park

    # GIVEN extract ends (and finds nothing parked) just after report looked at it and before report parks
    def park_late(self: RunStore, *args: Any, **kwargs: Any) -> bool:
        end_job(rt, "extract")
        return park(self, *args, **kwargs)

    monkeypatch.setattr(RunStore, "park", park_late)
    rt.dispatcher.handle(request(task="report", depends_on=["extract"], wait_for=["extract"]))
    # THEN report's second look sees extract ended and it starts at once, leaving nothing parked
    assert sorted(j.task for j in jobs.jobs.values()) == ["extract", "report"]
    assert rt.store.waits(EXECUTION) == []


def test_a_parked_request_is_taken_by_exactly_one_releaser(rt: Any) -> None:
    rt.store.park(EXECUTION, "report", None, 0, request(task="report").model_dump(mode="json"))
    assert rt.store.park(EXECUTION, "report", None, 0, {}) is False  # a repeated delivery parks nothing new
    [wait] = rt.store.waits(EXECUTION)
    assert [rt.store.claim_wait(wait, holder) for holder in ("a", "b")] == [True, False]


def test_a_retry_after_a_timeout_at_the_gate_parks_its_own_request_and_runs_one_job(rt: Any) -> None:
    # GIVEN report (gated on extract) parked, then its state timed out at the gate and retried: attempt 1 arrives
    jobs, tokens = fakes(rt)
    rt.dispatcher.handle(request(task="extract"))
    gated = {"task": "report", "depends_on": ["extract"], "wait_for": ["extract"]}
    rt.dispatcher.handle(request(**gated))
    rt.dispatcher.handle(request(attempt=1, token="token-report-1", **gated))
    # THEN the retry is parked too (it used to be taken for a repeated delivery and dropped)
    assert len(rt.store.waits(EXECUTION)) == 2
    # WHEN extract ends THEN report runs one job, owned by the retry, whose token gets the job's end
    end_job(rt, "extract")
    assert [j.task for j in jobs.jobs.values()].count("report") == 1 and rt.store.waits(EXECUTION) == []
    end_job(rt, "report")
    assert tokens.of("token-report-1") == [("success", {"status": "SUCCEEDED"})]


def test_a_retry_whose_adoption_loses_to_the_jobs_end_starts_a_new_job(rt: Any,
                                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    jobs, _ = fakes(rt)
    # GIVEN attempt 1's job is running when Step Functions retries the state (its invoke reported an error)
    rt.dispatcher.handle(request(attempt=0))
    adopt = RunStore.adopt

    # WHEN that job fails just before the retry takes the attempt over
    def adopt_late(self: RunStore, attempt: Any, token: str, retry: int, **options: Any) -> bool:
        end_job(rt, "extract", "FAILED", error="exit code 1")
        return adopt(self, attempt, token, retry, **options)

    monkeypatch.setattr(RunStore, "adopt", adopt_late)
    rt.dispatcher.handle(request(attempt=1))
    # THEN the retry looks again, finds the attempt ended, and starts a job of its own
    assert len(jobs.jobs) == 2
    assert [a.status for a in rt.store.load(EXECUTION).attempts] == ["FAILED", "RUNNING"]


def test_an_end_answers_the_token_of_the_retry_that_adopted_the_attempt_meanwhile(rt: Any) -> None:
    _, tokens = fakes(rt)
    rt.dispatcher.handle(request(attempt=0))
    # GIVEN the completer read the attempt (old token) before a retry adopted it
    stale = rt.store.load(EXECUTION).attempts[0]
    rt.dispatcher.handle(request(attempt=1, token="token-retry"))
    # WHEN the completer ends the attempt from its stale copy
    rt.completer.finish(stale, JobState("SUCCEEDED"), event_id="evt-1")
    # THEN the token answered is the adopter's, the one Step Functions waits for
    assert tokens.of("token-retry") == [("success", {"status": "SUCCEEDED"})]
    assert tokens.of("token-extract-0") == []


def test_a_repeated_delivery_of_an_adopting_retry_starts_nothing(rt: Any) -> None:
    jobs, _ = fakes(rt)
    rt.dispatcher.handle(request(attempt=0))
    rt.dispatcher.handle(request(attempt=1, token="token-retry"))  # adopts attempt 0 (still within its timeout)
    end_job(rt, "extract", "FAILED", error="exit 1")
    # WHEN retry 1 is delivered again, or a stale retry 0 request arrives
    rt.dispatcher.handle(request(attempt=1, token="token-retry"))
    rt.dispatcher.handle(request(attempt=0))
    # THEN no second job starts
    assert len(jobs.jobs) == 1


def test_a_stale_request_released_after_the_task_failed_starts_nothing(rt: Any) -> None:
    jobs, _ = fakes(rt)
    rt.dispatcher.handle(request(task="report", wait_for=["extract"], depends_on=[]))
    rt.dispatcher.handle(request("fail", "report", error={"Error": "States.Timeout", "Cause": ""}))
    rt.dispatcher.handle(request("skip", "extract"))  # extract ends: report's old request is released
    assert [j.task for j in jobs.jobs.values()] == []


def test_a_dispatch_reads_only_the_tasks_it_depends_on(rt: Any) -> None:
    # GIVEN a run where "a", "a-b" and "a_b" each have an attempt, "a" an outcome and "a_b" a failed item
    store = rt.store
    for task in ("a", "a-b", "a_b"):
        store.claim(Attempt(run=EXECUTION, task=task, item_index=None, retry=0, key=f"{len(task):032x}", kind="fake",
                            token="t"))
    store.record_task(EXECUTION, "a", "SUCCEEDED")
    store.record_item_failure(EXECUTION, "a_b", 3, "boom", None)
    # WHEN the run is read for task "a" only
    view = store.load(EXECUTION, ["a"])
    # THEN only a's items are there (names that merely start with "a" are other tasks)
    assert [a.task for a in view.attempts] == ["a"] and set(view.ledger.tasks) == {"a"}
    # AND the whole run still holds everything
    whole = store.load(EXECUTION)
    assert sorted(a.task for a in whole.attempts) == ["a", "a-b", "a_b"]
    assert whole.ledger.task("a_b").items == {3: "FAILED"}


def parked_lookups(rt: Any) -> list[str]:
    """Every query for parked requests the run store makes from now on."""
    seen: list[str] = []

    def note(params: dict[str, Any], **_: Any) -> None:
        if params.get("ExpressionAttributeValues", {}).get(":prefix") == {"S": "WAIT#"}:
            seen.append("WAIT#")

    rt.store.client.meta.events.register("before-parameter-build.dynamodb.Query", note)
    return seen


@pytest.mark.parametrize("gated", [True, False])
def test_only_a_pipeline_with_gates_looks_for_parked_requests(rt: Any, gated: bool) -> None:
    # GIVEN a pipeline with (or without) gated dependencies
    lookups = parked_lookups(rt)
    # WHEN a task is dispatched and its job ends
    rt.dispatcher.handle(request(gated=gated))
    end_job(rt, "extract")
    # THEN the end looks for parked requests to release only when there can be some (a dispatch that recorded no
    # task end does not look at all)
    assert len(lookups) == (1 if gated else 0)
    [attempt] = rt.store.load(EXECUTION).attempts
    assert attempt.status == "SUCCEEDED" and attempt.gated is gated
