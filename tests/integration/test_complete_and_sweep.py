"""Completion and reconciliation on moto's DynamoDB: duplicate, late, lost and unknown job ends."""

from __future__ import annotations

import json
from typing import Any

import pytest

from functions.adapters.jobs.base import JobState
from functions.complete.service import AttemptNotFoundYetError
from functions.events.types import JobEvent
from tests.support.runtime import EXECUTION, FakeJobs, FakeTokens, moto_runtime, request


@pytest.fixture
def rt() -> Any:
    with moto_runtime() as runtime:
        yield runtime


def started(rt: Any, task: str = "extract") -> tuple[FakeJobs, FakeTokens, str]:
    rt.dispatcher.handle(request(task=task))
    [attempt] = rt.store.load(EXECUTION).attempts_of(task, None)
    return rt.jobs["fake"], rt.tokens, attempt.external_id


def event(external_id: str, status: str, time: str = "2026-11-28T02:31:00Z", **fields: Any) -> JobEvent:
    return JobEvent(kind="fake", external_id=external_id, status=status, state=status, time=time, **fields)


def test_a_second_end_event_sends_no_second_answer(rt: Any) -> None:
    _, tokens, job = started(rt)
    rt.completer.clock = lambda: "2026-11-28T02:32:00.000Z"
    assert rt.completer.on_event(event(job, "SUCCEEDED"), "evt-1") == "attempt SUCCEEDED"
    # WHEN AWS delivers a different event for the same end, and then a late FAILED
    assert rt.completer.on_event(event(job, "SUCCEEDED"), "evt-2").startswith("ignored")
    assert rt.completer.on_event(event(job, "FAILED", error="late"), "evt-3").startswith("ignored")
    # THEN one answer was sent and the record still says SUCCEEDED
    assert tokens.of("token-extract-0") == [("success", {"status": "SUCCEEDED"})]
    [attempt] = rt.store.load(EXECUTION).attempts
    assert (attempt.status, attempt.end_event) == ("SUCCEEDED", "evt-1")
    assert attempt.duration_s is not None and attempt.duration_s >= 0


def test_a_late_running_event_does_not_regress_an_ended_attempt(rt: Any) -> None:
    _, _, job = started(rt)
    rt.completer.clock = lambda: "2026-11-28T02:32:00.000Z"
    rt.completer.on_event(event(job, "SUCCEEDED"), "evt-1")
    assert rt.completer.on_event(event(job, "RUNNING"), "evt-0").startswith("ignored")
    assert rt.store.load(EXECUTION).attempts[0].status == "SUCCEEDED"


def test_the_same_event_redelivered_answers_again(rt: Any) -> None:
    # GIVEN an end was recorded but the handler died before answering (the token is still waiting)
    _, tokens, job = started(rt)
    attempt = rt.store.load(EXECUTION).attempts[0]
    rt.store.end(attempt, "SUCCEEDED", event_id="evt-1", output={})
    # WHEN the same event is delivered again (Lambda's asynchronous retry)
    rt.completer.clock = lambda: "2026-11-28T02:32:00.000Z"
    rt.completer.on_event(event(job, "SUCCEEDED"), "evt-1")
    # THEN the token is answered
    assert tokens.of("token-extract-0") == [("success", {"status": "SUCCEEDED"})]


def test_an_answer_to_a_token_nobody_waits_for_is_not_an_error(rt: Any) -> None:
    _, tokens, job = started(rt)
    tokens.gone.add("token-extract-0")  # the state timed out meanwhile
    rt.completer.clock = lambda: "2026-11-28T02:32:00.000Z"
    assert rt.completer.on_event(event(job, "SUCCEEDED"), "evt-1") == "attempt SUCCEEDED"


def test_an_unknown_job_is_retried_while_fresh_and_ignored_when_old(rt: Any) -> None:
    rt.completer.clock = lambda: "2026-11-28T02:32:00.000Z"
    with pytest.raises(AttemptNotFoundYetError, match="job-404"):
        rt.completer.on_event(event("job-404", "SUCCEEDED"), "evt-1")
    rt.completer.clock = lambda: "2026-11-28T09:00:00.000Z"
    assert rt.completer.on_event(event("job-404", "SUCCEEDED"), "evt-1") == "ignored: not a Sluice job"


def test_the_sweeper_completes_a_job_whose_event_was_lost(rt: Any, monkeypatch: pytest.MonkeyPatch,
                                                         capsys: pytest.CaptureFixture[str]) -> None:
    jobs, tokens, job = started(rt)
    pipeline = rt.store.load(EXECUTION).attempts[0].pipeline
    monkeypatch.setattr(rt.executions, "status", lambda arn: "RUNNING")
    # GIVEN the job ended but its event never came
    jobs.states[job] = JobState("SUCCEEDED", output={"rows": 3})
    rt.sweeper.after_seconds = 0
    rt.sweeper.clock = lambda: "2099-01-01T00:00:00.000Z"
    # WHEN the sweeper runs
    report = rt.sweeper.sweep()
    # THEN the attempt is completed exactly as an event would have, and the token answered
    assert (report.checked, report.completed) == (1, 1)
    assert rt.store.load(EXECUTION).attempts[0].status == "SUCCEEDED"
    assert tokens.of("token-extract-0") == [("success", {"status": "SUCCEEDED"})]
    # AND a second sweep finds nothing left to do
    assert rt.sweeper.sweep().checked == 0
    # AND the recovery is counted once, for the attempt's pipeline (EMF on stdout)
    recovered = [json.loads(line) for line in capsys.readouterr().out.splitlines() if '"SweepRecovered"' in line]
    assert [(r["SweepRecovered"], r["pipeline"]) for r in recovered] == [([1.0], pipeline)] and pipeline


def test_the_sweeper_heartbeats_running_jobs_and_loses_forgotten_ones(rt: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    jobs, tokens, _ = started(rt, "a")
    _, _, forgotten = started(rt, "b")
    del jobs.states[forgotten]
    monkeypatch.setattr(jobs, "describe", lambda ref: _describe(jobs, ref))
    monkeypatch.setattr(rt.executions, "status", lambda arn: "RUNNING")
    rt.sweeper.after_seconds, rt.sweeper.clock = 0, lambda: "2099-01-01T00:00:00.000Z"
    report = rt.sweeper.sweep()
    assert (report.checked, report.lost) == (2, 1)
    assert ("token-a-0", "heartbeat", None) in tokens.answers
    [(how, (error, _))] = tokens.of("token-b-0")
    assert (how, error) == ("failure", "Sluice.TaskLost")


def _describe(jobs: FakeJobs, ref: Any) -> JobState:
    from functions.adapters.jobs.base import JobNotFoundError

    if ref.external_id not in jobs.states:
        raise JobNotFoundError(f"fake job {ref.external_id} not found")
    return jobs.states[ref.external_id]


def test_the_sweeper_stops_jobs_of_stopped_executions(rt: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    jobs, _, job = started(rt)
    monkeypatch.setattr(rt.executions, "status", lambda arn: "ABORTED")
    rt.sweeper.after_seconds, rt.sweeper.clock = 0, lambda: "2099-01-01T00:00:00.000Z"
    assert rt.sweeper.sweep().stopped == 1
    assert jobs.stopped == [job]
    assert rt.store.load(EXECUTION).attempts[0].status == "STOPPED"


def test_the_sweeper_reattaches_a_claim_whose_dispatcher_died(rt: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    from functions.adapters.clock import shifted
    from functions.adapters.run_store import RunStore

    # GIVEN a dispatcher that died after claiming an attempt, and no retry adopted the claim
    def crash(*args: Any, **kwargs: Any) -> bool:
        raise SystemExit("Lambda container died")

    with monkeypatch.context() as patch:
        patch.setattr(RunStore, "mark_running", crash)
        with pytest.raises(SystemExit):
            rt.dispatcher.handle(request())
    monkeypatch.setattr(rt.executions, "status", lambda arn: "RUNNING")
    rt.sweeper.after_seconds = 0
    # WHEN the sweeper runs while the claim's lease is live, nothing happens; once it has expired...
    [attempt] = rt.store.load(EXECUTION).attempts
    rt.sweeper.clock = lambda: shifted(attempt.started_at, 60)
    assert (rt.sweeper.sweep().checked, rt.store.load(EXECUTION).attempts[0].status) == (1, "STARTING")
    rt.sweeper.clock = lambda: shifted(attempt.lease_until or "", 1)
    # THEN the sweeper takes the claim over: the job the dead dispatcher had started is found by the claim's key and
    # reattached (no second job, none stopped), and the attempt is RUNNING
    assert rt.sweeper.sweep().relaunched == 1
    assert (len(rt.jobs["fake"].jobs), rt.jobs["fake"].stopped) == (1, [])
    [attempt] = rt.store.load(EXECUTION).attempts
    assert (attempt.status, attempt.external_id) == ("RUNNING", "job-0")
    # AND its end answers the claim's token
    rt.completer.finish(attempt, JobState("SUCCEEDED"), "evt-1")
    assert rt.tokens.of("token-extract-0") == [("success", {"status": "SUCCEEDED"})]


def test_step_functions_refusing_an_answer_means_nobody_waits() -> None:
    from functions.adapters.tokens import TokenGoneError, Tokens
    from tests.support.runtime import client

    with moto_runtime():
        tokens = Tokens(client("stepfunctions"))
        # GIVEN a token Step Functions does not know (answered before, or its execution is gone)
        for send in (lambda: tokens.succeed("not-a-token", {}), lambda: tokens.fail("not-a-token", "E", "c"),
                     lambda: tokens.heartbeat("not-a-token")):
            # THEN the answer raises TokenGoneError, which the services log and move on from
            with pytest.raises(TokenGoneError):
                send()
