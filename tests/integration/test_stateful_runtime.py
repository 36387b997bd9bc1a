"""The runtime as a state machine (issue 15): hypothesis drives the real Dispatcher, Completer and Sweeper over the
real RunStore on moto's DynamoDB, with Step Functions and two job services faked in memory (tests/support/faults.py),
and checks the runtime's promises after every step.

The pipeline: `extract` (a Glue-like job service: look the key up, then start) and `report` (a service that
deduplicates by key, like EMR Serverless' clientToken), gated on extract (`wait_for`, HeartbeatSeconds 1800).
Rules deliver dispatch requests (first, duplicate, after a Retry, after a failed Lambda invoke), end jobs, deliver,
repeat, reorder or lose their end events, let time pass in sweep intervals (each followed by a sweep; a Task state
times out when its TimeoutSeconds or HeartbeatSeconds runs out, and its Retry sends the next attempt), stop the
execution, and arm a fault at the Nth DynamoDB, Step Functions or job service call from now, or at the next call of
one operation (`arm_at`: delete_item, send_task_success, lookup.start, ...; faults.OPERATIONS): a throttle, a crash
(the Lambda dying) before or after the call, or an interleaving (another dispatch runs right there: the state's
Lambda invoke "failed" and its retry arrives while the first dispatcher still runs).

Invariants (the names say which one a failure broke; a message tagged "#N:" is its variant N, the issue scenario
it stands for):
  (a) at most one job per (execution, task, item, attempt key);
  (b) after a clean sweep, no attempt the sweeper looked at is still open while its job has ended;
  (c) after a clean sweep, every token a RUNNING execution waits on (whose request was delivered) has a live
      record: an open attempt, a parked request, or an end whose event is still being delivered;
  (d) no job starts for an execution that is not RUNNING, and none of a stopped execution runs after the sweep
      that saw it;
  (e) every delivered gated request is parked, claimed or answered;
  (f) no task state whose last request reached the dispatcher fails for good while its task's recorded outcome
      is SUCCEEDED;
  (g) with a sweep every interval, no state fails for want of a heartbeat.

Run:  /work/main/.venv/bin/python -m pytest tests/integration/test_stateful_runtime.py -q
Profiles: "default" (bounded, well under 2 minutes) unless SLUICE_STATEFUL=slow or `--hypothesis-profile=slow`
(many more examples and steps). Seeds: `--hypothesis-seed=N` (the profiles are not derandomized). To hunt a hole
past one found already, SLUICE_STATEFUL_IGNORE=a,g (comma-separated invariant letters) skips those checks, and a
letter with a variant skips only that message: SLUICE_STATEFUL_IGNORE=g,c#1 still checks (c)'s other messages.
SLUICE_STATEFUL_STATS=1 prints examples, steps and steps per minute.
"""

from __future__ import annotations

import itertools
import os
import time
from collections import Counter
from dataclasses import dataclass
from typing import Any

import boto3
from botocore.exceptions import ClientError
from hypothesis import HealthCheck, Phase, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule, run_state_machine_as_test
from moto import mock_aws

from functions.adapters.clock import shifted
from functions.adapters.executions import Executions
from functions.adapters.jobs import JobAdapters
from functions.adapters.run_store import RunStore, StoreError, wait_key
from functions.adapters.tokens import Tokens
from functions.complete.service import AttemptNotFoundYetError, Completer
from functions.dispatch.service import Dispatcher
from functions.events.types import JobEvent
from functions.observability import logger
from functions.sweep.service import Sweeper
from sluice.contract import LAMBDA_ERRORS, RETRYABLE_ERRORS, DispatchRequest
from sluice.run_store_schema import create_table_request
from tests.support.faults import (
    KINDS,
    OPERATIONS,
    Crash,
    DedupeAdapter,
    FakeJobService,
    FakeStates,
    Faults,
    FaultyClient,
    LookupAdapter,
    TaskState,
)

REGION = "eu-west-1"
EXECUTION = "arn:aws:states:eu-west-1:123456789012:execution:sluice-demo:run-1"
START = "2026-11-28T02:30:00.000Z"
SWEEP_AFTER = 900  # SWEEP_AFTER_SECONDS
SWEEP_EVERY = 600  # the sweep schedule
TASKS: dict[str, dict[str, Any]] = {
    "extract": {"kind": "lookup", "timeout": 3600},
    "report": {"kind": "dedupe", "timeout": 3600, "heartbeat": 1800, "wait_for": ["extract"],
               "depends_on": ["extract"]},
}
IGNORE = {name.strip() for name in os.environ.get("SLUICE_STATEFUL_IGNORE", "").split(",") if name.strip()}

settings.register_profile("slow", max_examples=2000, stateful_step_count=80, deadline=None, database=None,
                          suppress_health_check=list(HealthCheck))
# The suite's run: bounded, and without shrinking (hypothesis may spend minutes on it); the slow profile shrinks.
DEFAULT = settings(max_examples=25, stateful_step_count=30, deadline=None, database=None,
                   suppress_health_check=list(HealthCheck),
                   phases=[Phase.explicit, Phase.reuse, Phase.generate])


def _profile() -> settings:
    if os.environ.get("SLUICE_STATEFUL") == "slow" or settings.get_current_profile_name() == "slow":
        return settings.get_profile("slow")
    return DEFAULT


_tables = itertools.count()
_dynamodb: list[Any] = []  # the moto client of the running test
STATS = {"examples": 0, "steps": 0}


@dataclass
class Delivery:
    """One DispatchRequest the state machine sent; `tries` deliveries so far, `ok` if one returned normally."""

    req: DispatchRequest
    tries: int = 0
    ok: bool = False


@dataclass
class Event:
    event: JobEvent
    event_id: str
    tries: int = 0
    done: bool = False  # handled once without the Lambda failing
    lost: bool = False


class RuntimeMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.t = 0.0
        self.faults = Faults(interleave=self._interleave)
        raw = _dynamodb[0]
        self.table = f"sluice-runs-{next(_tables)}"
        raw.create_table(**create_table_request(self.table))
        self.raw = RunStore(raw, self.table, shards=1, clock=self.clock)  # the model's own reads: never faulted
        store = RunStore(FaultyClient(raw, self.faults, "dynamodb"), self.table, shards=1, clock=self.clock)
        self.sfn = FakeStates(now=lambda: self.t, retry=self._retried, failed=self._failed_for_good,
                              retryable=frozenset(RETRYABLE_ERRORS + LAMBDA_ERRORS), max_retries=3)
        sfn_client = FaultyClient(self.sfn, self.faults, "tokens")
        self.service = FakeJobService(self.faults, lambda: self.t, lambda e: self.sfn.executions.get(e, "gone"))
        jobs = JobAdapters({"lookup": LookupAdapter(self.service), "dedupe": DedupeAdapter(self.service)})
        tokens, executions = Tokens(sfn_client), Executions(sfn_client)
        # wired as functions/runtime/wiring.py wires them
        self.dispatcher = Dispatcher(store, tokens, jobs, executions=executions, clock=self.clock)
        self.completer = Completer(store, tokens, self.dispatcher, clock=self.clock)
        self.sweeper = Sweeper(store, executions, jobs, self.completer, after_seconds=SWEEP_AFTER,
                               clock=self.clock)
        self.deliveries: list[Delivery] = []
        self.by_token: dict[str, Delivery] = {}
        self.events: list[Event] = []
        self.in_flight: list[Delivery] = []
        self.violations: list[str] = []
        self.swept_clean = False
        self.log: list[str] = []
        self.sfn.executions[EXECUTION] = "RUNNING"
        for task, spec in TASKS.items():
            state = self.sfn.enter(EXECUTION, task, None, timeout=spec["timeout"], heartbeat=spec.get("heartbeat"))
            self._send(self._request(state))

    def clock(self) -> str:
        return shifted(START, self.t)

    def teardown(self) -> None:
        STATS["examples"] += 1
        _dynamodb[0].delete_table(TableName=self.table)

    # ---- the state machine's side ----------------------------------------------------------------------------

    def _request(self, state: TaskState, action: str = "run", error: dict[str, str] | None = None) -> DispatchRequest:
        spec = TASKS[state.task]
        body: dict[str, Any] = {"action": action, "pipeline": "demo", "execution_id": state.execution,
                                "run_id": "run-1", "task": state.task, "attempt": state.attempt, "started_at": START,
                                "logical_date": "2026-11-27T02:30:00Z", "gated": True,
                                "depends_on": spec.get("depends_on", [])}
        if action == "run":
            body |= {"task_token": state.token, "kind": spec["kind"], "config": {}, "timeout": spec["timeout"],
                     "heartbeat": spec.get("heartbeat"), "wait_for": spec.get("wait_for", []),
                     "entered_at": self.clock(), "item_index": state.item}
        else:
            body |= {"error": error, "item_index": state.item}
        return DispatchRequest.model_validate(body)

    def _send(self, req: DispatchRequest) -> None:
        delivery = Delivery(req)
        self.deliveries.append(delivery)
        if req.task_token:
            self.by_token[req.task_token] = delivery

    def _retried(self, state: TaskState, error: str) -> None:
        self.log.append(f"  sfn: {state.task} attempt {state.attempt - 1} failed with {error}; Retry sends attempt "
                        f"{state.attempt}")
        self._send(self._request(state))

    def _failed_for_good(self, state: TaskState, error: str, cause: str) -> None:
        self.log.append(f"  sfn: {state.task} failed for good: {error}")
        view = self.raw.load(state.execution, [state.task])
        reached = self.by_token.get(state.token)
        # (a state whose last request never reached a dispatcher has no token Sluice could answer)
        if (reached is not None and reached.ok and view.ended(state.task)
                and view.ledger.task(state.task).status == "SUCCEEDED"):
            self._violation("f", f"#1: state {state.task} failed for good ({error}) although its task SUCCEEDED "
                                 f"in the run store: a success's answer was lost", 1)
        self._send(self._request(state, "fail", {"Error": error, "Cause": cause}))

    def _violation(self, name: str, text: str, variant: int | None = None) -> None:
        """Record that invariant `name` broke; `variant` is the "#N:" the text carries (SLUICE_STATEFUL_IGNORE=c#N)."""
        assert variant is None or f"#{variant}:" in text, (variant, text)
        if name not in IGNORE and f"{name}#{variant}" not in IGNORE:
            self.violations.append(f"({name}) {text}")

    def _settle(self) -> None:
        """An execution whose states all ended, and whose `fail` requests went through, ends."""
        for execution, status in self.sfn.executions.items():
            states = [s for s in self.sfn.states if s.execution == execution]
            if status != "RUNNING" or any(s.status == "WAITING" for s in states):
                continue
            if any(not d.ok for d in self.deliveries if d.req.execution_id == execution and d.req.action == "fail"):
                continue
            self.sfn.executions[execution] = ("SUCCEEDED" if all(s.status == "SUCCEEDED" for s in states)
                                              else "FAILED")

    # ---- invocations -------------------------------------------------------------------------------------------

    def _deliver(self, delivery: Delivery) -> str:
        delivery.tries += 1
        self.in_flight.append(delivery)
        try:
            self.dispatcher.handle(delivery.req)
            delivery.ok, outcome = True, "ok"
        except Crash as exc:
            outcome = f"crashed at {exc}"
        except (StoreError, ClientError) as exc:  # a request without a token, or the failure answer itself failed
            outcome = f"failed: {type(exc).__name__}"
        finally:
            self.in_flight.pop()
        return outcome

    def _interleave(self) -> None:
        """Another invocation runs now: the retry of the state the running dispatcher serves (its Lambda invoke
        failed as far as Step Functions knows), else the oldest undelivered request."""
        if self.in_flight:
            outer = self.in_flight[0].req
            state = self.sfn.by_token.get(outer.task_token or "")
            if state is not None and self.sfn.waiting(state, outer.task_token):
                self.sfn.fail(state, "Lambda.ServiceException", "the invoke failed")
                self.log.append(f"  interleaved: {self._describe(self.deliveries[-1].req)} -> "
                                f"{self._deliver(self.deliveries[-1])}")
                return
        pending = [d for d in self.deliveries if d.tries == 0]
        if pending:
            self.log.append(f"  interleaved: {self._describe(pending[0].req)} -> {self._deliver(pending[0])}")

    @staticmethod
    def _describe(req: DispatchRequest) -> str:
        return f"{req.action} {req.task}#{req.attempt}"

    def _on_event(self, event: Event) -> str:
        event.tries += 1
        try:
            result = self.completer.on_event(event.event, event.event_id)
        except AttemptNotFoundYetError:
            return "not found yet (retried)"
        except Crash as exc:
            return f"crashed at {exc} (retried)"
        except (StoreError, ClientError) as exc:
            return f"failed: {type(exc).__name__} (retried)"
        event.done = True
        return result

    # ---- rules -------------------------------------------------------------------------------------------------

    def _pick(self, items: list[Any], i: int) -> Any:
        return items[i % len(items)]

    def _undelivered(self) -> list[Delivery]:
        return [d for d in self.deliveries if d.tries == 0]

    @precondition(lambda self: self._undelivered())
    @rule(i=st.integers(0, 3))
    def deliver(self, i: int) -> None:
        delivery = self._pick(self._undelivered(), i)
        self.log.append(f"deliver {self._describe(delivery.req)} -> {self._deliver(delivery)}")

    @precondition(lambda self: any(d.tries for d in self.deliveries))
    @rule(i=st.integers(0, 3))
    def redeliver(self, i: int) -> None:
        """The same request again: Lambda's retry, or a failed (no-token) request the state machine re-invokes."""
        delivery = self._pick([d for d in self.deliveries if d.tries], i)
        self.log.append(f"redeliver {self._describe(delivery.req)} -> {self._deliver(delivery)}")

    def _unreached(self) -> list[TaskState]:
        return [s for s in self.sfn.states if self.sfn.waiting(s) and not self.by_token[s.token].ok]

    @precondition(lambda self: self._unreached())
    @rule(i=st.integers(0, 3))
    def invoke_fails(self, i: int) -> None:
        """The Lambda invoke of a request not (successfully) delivered fails: the state retries with a new token."""
        state = self._pick(self._unreached(), i)
        self.log.append(f"invoke of {state.task}#{state.attempt} fails (Lambda.ServiceException)")
        self.sfn.fail(state, "Lambda.ServiceException", "the invoke failed")

    def _running_jobs(self) -> list[Any]:
        return [j for j in self.service.jobs.values() if j.status == "RUNNING"]

    @precondition(lambda self: self._running_jobs())
    @rule(i=st.integers(0, 3), succeeded=st.booleans())
    def job_ends(self, i: int, succeeded: bool) -> None:
        job = self._pick(self._running_jobs(), i)
        job.status = "SUCCEEDED" if succeeded else "FAILED"
        job.error = None if succeeded else "exit code 1"
        event = JobEvent(kind=job.kind, external_id=job.external_id, status=job.status, state=job.status,
                         time=self.clock(), error=job.error, exit_code=0 if succeeded else 1)
        self.events.append(Event(event, f"evt-{len(self.events)}"))
        self.log.append(f"job {job.external_id} ({job.task}#{job.retry}) ends {job.status}")

    def _pending_events(self) -> list[Event]:
        return [e for e in self.events if not e.done and not e.lost]

    @precondition(lambda self: self._pending_events())
    @rule(i=st.integers(0, 3))
    def deliver_event(self, i: int) -> None:
        event = self._pick(self._pending_events(), i)  # any pending one: events arrive in any order
        self.log.append(f"event {event.event_id} ({event.event.external_id} {event.event.status}) -> "
                        f"{self._on_event(event)}")

    @precondition(lambda self: any(e.done for e in self.events))
    @rule(i=st.integers(0, 3))
    def duplicate_event(self, i: int) -> None:
        event = self._pick([e for e in self.events if e.done], i)
        self.log.append(f"event {event.event_id} again -> {self._on_event(event)}")

    @precondition(lambda self: any(e.tries == 0 and not e.lost for e in self.events))
    @rule(i=st.integers(0, 3))
    def lose_event(self, i: int) -> None:
        """EventBridge never delivers it (an event whose handling failed is retried by Lambda instead)."""
        event = self._pick([e for e in self.events if e.tries == 0 and not e.lost], i)
        event.lost = True
        self.log.append(f"event {event.event_id} ({event.event.external_id} {event.event.status}) is lost")

    @rule(intervals=st.integers(1, 4))
    def time_passes(self, intervals: int) -> None:
        """Sweep intervals go by, a sweep after each; Task states whose timeout or heartbeat ran out time out."""
        for _ in range(intervals):
            self.t += SWEEP_EVERY
            beats_due = {id(s): self._parked(s) for s in self.sfn.states if self.sfn.waiting(s)}
            timing_out = {id(s): s.token for s in self.sfn.states if self.sfn.waiting(s)}  # a Retry changes it
            for state, error in self.sfn.time_passes():
                self.log.append(f"  {self.clock()}: {state.task} times out: {error}")
                delivery = self.by_token.get(timing_out.get(id(state), ""))
                if (error == "States.HeartbeatTimeout" and delivery is not None and delivery.ok
                        and not self.faults.fired):
                    where = "parked at its gate" if beats_due.get(id(state)) else "its job running or starting"
                    self._violation("g", f"state {state.task} failed with States.HeartbeatTimeout ({where}) "
                                         f"though the sweeper ran every {SWEEP_EVERY}s: nobody sent heartbeats")
            fired = len(self.faults.fired)
            try:
                report = self.sweeper.sweep()
                outcome = f"checked {report.checked} completed {report.completed} lost {report.lost} " \
                          f"stopped {report.stopped} errors {len(report.errors)}"
            except Crash as exc:
                outcome = f"crashed at {exc}"
            except (StoreError, ClientError) as exc:
                outcome = f"died: {type(exc).__name__}: {str(exc)[:80]}"
            self.swept_clean = len(self.faults.fired) == fired
            self.log.append(f"  sweep at {self.clock()} -> {outcome}")
        self.log.append(f"time passes: {intervals} x {SWEEP_EVERY}s")
        if self.swept_clean:
            self._after_clean_sweep()

    def _parked(self, state: TaskState) -> bool:
        sk = wait_key(state.task, state.item, state.attempt)
        return any(item["sk"] == sk for item in self.raw.items(state.execution))

    @precondition(lambda self: self.sfn.executions[EXECUTION] == "RUNNING")
    @rule()
    def stop_execution(self) -> None:
        """StopExecution: its states stop waiting; requests not yet delivered are not sent any more."""
        self.sfn.stop(EXECUTION)
        self.deliveries = [d for d in self.deliveries if d.tries or d.req.execution_id != EXECUTION]
        self.log.append("execution stopped (ABORTED)")

    @rule(port=st.sampled_from(["dynamodb", "tokens", "jobs"]), nth=st.integers(1, 10), kind=st.sampled_from(KINDS))
    def arm(self, port: str, nth: int, kind: str) -> None:
        self.faults.arm(port, nth, kind)
        self.log.append(f"arm {kind} at {port} call {nth} from now")

    @rule(at=st.sampled_from([op for ops in OPERATIONS.values() for op in ops]), kind=st.sampled_from(KINDS))
    def arm_at(self, at: str, kind: str) -> None:
        """A fault at the next call of one operation, however many calls come first (an unpark's delete_item, the
        sweep's send_task_success): a count rarely lands on one call of many."""
        self.faults.arm_at(at, kind)
        self.log.append(f"arm {kind} at the next {at}")

    # ---- invariants ------------------------------------------------------------------------------------------

    @invariant()
    def settle_and_check(self) -> None:
        STATS["steps"] += 1
        self._settle()
        self._one_job_per_attempt()
        self._no_start_for_stopped_runs()
        self._gated_requests_kept()
        if self.violations:
            raise AssertionError("\n".join(self.violations) + "\nsteps:\n" + "\n".join(self.log[-60:]))
        self.swept_clean = False

    def _one_job_per_attempt(self) -> None:
        for key, count in Counter((j.kind, j.key) for j in self.service.jobs.values()).items():
            if count > 1:
                jobs = [f"{j.external_id} ({j.task}#{j.retry})" for j in self.service.jobs.values() if j.key == key[1]]
                self._violation("a", f"#8: {count} jobs for one attempt key: {', '.join(jobs)}", 8)

    def _no_start_for_stopped_runs(self) -> None:
        for job in self.service.jobs.values():
            if job.execution_status != "RUNNING" and not getattr(job, "flagged", False):
                job.flagged = True  # type: ignore[attr-defined]
                self._violation("d", f"#4: job {job.external_id} ({job.task}#{job.retry}) was started for an "
                                     f"execution that was {job.execution_status}", 4)

    def _gated_requests_kept(self) -> None:
        for delivery in self.deliveries:
            req = delivery.req
            state = self.sfn.by_token.get(req.task_token or "")
            if not (delivery.ok and req.wait_for and state is not None and self.sfn.waiting(state, req.task_token)):
                continue
            if self._parked(state):
                continue
            view = self.raw.load(req.execution_id, [req.task or ""])
            attempts = view.attempts_of(state.task, state.item)
            if any(req.attempt in (a.retry, a.adopted_by) for a in attempts):
                continue
            if view.ended(state.task):
                continue  # (c) says what happened to it
            self._violation("e", f"#6: the gated request {self._describe(req)} is neither parked, claimed nor "
                                 f"answered: it left its gate and was lost", 6)

    def _after_clean_sweep(self) -> None:
        now = self.clock()
        for attempt in self.raw.active(shifted(now, -SWEEP_AFTER)):  # what this sweep looked at
            job = self.service.jobs.get(attempt.external_id or "")
            if (job is not None and job.status != "RUNNING"
                    and self.sfn.executions.get(attempt.run) == "RUNNING"):
                self._violation("b", f"attempt {attempt.task}#{attempt.retry} is still {attempt.status} after a "
                                     f"sweep, though its job {job.external_id} ended {job.status}")
        for job in self.service.jobs.values():
            status = self.sfn.executions.get(job.execution)
            if status == "ABORTED" and job.status == "RUNNING" and job.started < self.t - SWEEP_AFTER:
                self._violation("d", f"job {job.external_id} ({job.task}#{job.retry}) still runs after a sweep, "
                                     f"its execution ABORTED")
        self._waiting_tokens_have_records()

    def _waiting_tokens_have_records(self) -> None:
        for state in self.sfn.states:
            delivery = self.by_token.get(state.token)
            if not self.sfn.waiting(state) or delivery is None or not delivery.ok:
                continue
            if self._parked(state):
                continue
            view = self.raw.load(state.execution, [state.task])
            holders = [a for a in view.attempts_of(state.task, state.item) if a.token == state.token]
            if any(not a.ended for a in holders):
                continue
            if any(not e.lost and not e.done and e.event_id == a.end_event for a in holders for e in self.events):
                continue  # its end is recorded and its event, retried, answers again
            variant = None
            if holders:
                a = holders[0]
                if (a.end_event or "").startswith("sweep:"):
                    variant = 2
                    why = (f"#2: the sweeper recorded its attempt {a.status} but its answer never arrived, and the "
                           f"attempt has left the active index")
                else:
                    why = f"its attempt ended {a.status} (event {a.end_event}) and the answer never arrived"
            elif view.ended(state.task):
                variant = 1
                why = (f"#1: the task had already ended {view.ledger.task(state.task).status} when attempt "
                       f"{state.attempt}'s request came; nobody will answer it")
            else:
                why = "no attempt holds it and nothing is parked for it"
            self._violation("c", f"the token of {state.task}#{state.attempt} waits with nothing to answer it: {why}",
                            variant)


def test_the_runtime_keeps_its_promises_under_faults_and_interleavings() -> None:
    logger.setLevel("CRITICAL")
    with mock_aws():
        _dynamodb[:] = [boto3.client("dynamodb", region_name=REGION)]
        began, steps = time.monotonic(), STATS["steps"]
        try:
            run_state_machine_as_test(RuntimeMachine, settings=_profile())
        finally:
            if os.environ.get("SLUICE_STATEFUL_STATS"):
                minutes = (time.monotonic() - began) / 60
                done = STATS["steps"] - steps
                print(f"\nstateful: {STATS['examples']} examples, {done} steps in {minutes * 60:.1f}s: "
                      f"{done / minutes:.0f} steps/minute")
            logger.setLevel("INFO")

