"""dispatch_task: what a DispatchRequest asks for, applied to the run store and the job services.

Exactly-once dispatch rests on three rules: an attempt is claimed in the run store (a conditional put) before
its job is started; the job is started with a key derived from (execution, task, item, retry) that the service
deduplicates or the adapter looks up; and a later state attempt that finds an unfinished earlier one (the
dispatcher died, or Lambda's invoke failed after the job started) adopts it instead of starting another job.
"""

from __future__ import annotations

import uuid
from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from botocore.exceptions import ClientError

from sluice import template
from sluice.contract import (
    DISPATCH_FAILED,
    REDRIVE_REFUSED,
    TASK_FAILED,
    TOO_MANY_ITEMS,
    DispatchRequest,
    timeout_cause,
)

from ..adapters.clock import Clock, seconds_between, utc_now
from ..adapters.executions import Executions
from ..adapters.jobs import JobAdapters
from ..adapters.jobs.base import JobError, JobRef
from ..adapters.run_store import RunStore, StoreError, wait_key
from ..adapters.tokens import TokenGoneError, Tokens
from ..observability import logger, metrics
from ..runtime.context import render_context
from ..runtime.records import STARTING, Attempt, RunView, attempt_key, item_label
from ..runtime.telemetry import measure_attempt, measure_dispatch
from ..runtime.waits import Wait

# Errors a state machine raises itself when it stops waiting for a task's token.
_STATE_TIMEOUTS = {"States.Timeout", "States.HeartbeatTimeout"}


def scope(req: DispatchRequest) -> set[str]:
    """The tasks a request's decision reads: itself, its dependencies, and the tasks its templates read."""
    return {t for t in (req.task, *req.depends_on, *req.wait_for) if t} | template.referenced_tasks(
        [req.config, req.items])


TYPED_KINDS = frozenset({"lambda", "pipeline"})  # kinds whose rendered templates keep their types


class Dispatcher:
    def __init__(self, store: RunStore, tokens: Tokens, jobs: JobAdapters, *,
                 executions: Executions | None = None, clock: Clock = utc_now) -> None:
        self.store, self.tokens, self.jobs, self.clock = store, tokens, jobs, clock
        self.executions = executions

    def handle(self, req: DispatchRequest) -> dict[str, Any]:
        """Apply one request; the result is the Lambda's return value (only finalize's is read)."""
        if req.task_token is None:
            result, ended = self._apply(req)
        else:
            try:
                result, ended = self._apply(req)
            except (StoreError, ClientError) as exc:
                # The run store or a service failed us (after botocore's own retries). A failed Lambda would end
                # the task for good; a TaskFailed answer lets the state's Retry try again, and a half-done
                # attempt (claimed, maybe started) is adopted by that retry.
                logger.exception("dispatch failed", task=req.task)
                self._answer(req, error=(TASK_FAILED, f"the dispatcher failed: {exc}"))
                return {}
        if ended and req.gated and req.task:
            self.release_safely(req.execution_id, req.task)
        return result

    def _apply(self, req: DispatchRequest) -> tuple[dict[str, Any], bool]:
        """The request applied; and whether it recorded its task's end (which may open gates)."""
        run = req.execution_id
        if req.action == "finalize":
            return self.store.load(run).ledger.outcome().model_dump(), False  # the whole run, once
        if req.action == "fail":
            self._record_failure(req)
            return {}, req.item_index is None
        if req.action == "finish":
            self._finish_foreach(req)
            return {}, True
        if not req.wait_for or self._through_gate(req):
            return {}, self.proceed(req, self.store.load(run, scope(req)))
        return {}, False

    def proceed(self, req: DispatchRequest, view: RunView) -> bool:
        """A token request whose gate is open: record a skip or a trigger-rule decision, list items, or start.
        True when it recorded the task's outcome."""
        assert req.task is not None and req.task_token is not None, f"{req.action} needs a task and a token"
        if req.action == "skip":
            self.store.record_task(req.execution_id, req.task, "SKIPPED")
            self._answer(req, {"status": "SKIPPED"})
            return True
        decision = view.ledger.decide(req.depends_on, req.trigger_rule) if req.item_index is None else None
        if decision:
            self.store.record_task(req.execution_id, req.task, decision)
            self._answer(req, {"items": []} if req.action == "prepare" else {"status": decision})
            return True
        if req.action == "prepare":
            self._prepare(req, view)
        else:
            self._start(req, view)
        return False

    # ---- waits (functions/runtime/waits.py) ------------------------------------------------------------------

    def release_safely(self, run: str, ended: str) -> None:
        """`release` after this request's own work is done: a failure to look is not this request's failure (its
        job may be running); the sweeper releases whatever this missed."""
        try:
            self.release(run, ended)
        except (StoreError, ClientError):
            logger.exception("could not look for waits to release; the sweeper will", ended=ended)

    def release(self, run: str, ended: str | None = None) -> None:
        """Proceed with every wait of the run whose gated tasks have all ended (those waiting on `ended`, if given),
        each exactly once. Reads the waits and only the outcomes of the tasks they wait on."""
        waits = [w for w in self.store.waits(run) if ended is None or ended in w.waits_for]
        if not waits:
            return
        done = self.store.ended_tasks(run, {t for w in waits for t in w.waits_for})
        for wait in waits:
            if all(t in done for t in wait.waits_for) and wait.claimable(self.clock()):
                self.take(wait)

    def settle(self, wait: Wait) -> None:
        """The sweeper's backstop for one wait: release it if its condition holds or its holder died."""
        if wait.claimable(self.clock()) and not set(wait.waits_for) - self.store.ended_tasks(wait.run, wait.waits_for):
            self.take(wait)

    def take(self, wait: Wait, *, running: bool = False) -> None:
        """Claim the wait (one conditional write: exactly one taker), proceed with its request, then mark it done.
        A taker that dies leaves the claim; once its lease expires the next taker proceeds again, which is safe:
        proceeding is idempotent per (execution, task, item, retry)."""
        holder = uuid.uuid4().hex
        if not self.store.claim_wait(wait, holder, self.clock()):
            return
        request = DispatchRequest.model_validate(wait.request)
        # `running`: the taker is the state machine's own call (its execution is running by definition)
        status = "RUNNING" if running or self.executions is None else self.executions.status(wait.run)
        if status != "RUNNING":
            # Nothing starts for a stopped run: its tokens are gone with it. The attempt is recorded STOPPED, so a
            # late redelivery of the same request (its gate open now) finds it ended instead of starting the job.
            logger.info("wait cancelled: the execution is not running", task=request.task, execution=status)
            self.cancel(wait, f"the execution was {status} when its gate opened", holder)
            return
        recorded = self.proceed(request, self.store.load(wait.run, scope(request)))
        self.store.finish_wait(wait, holder)
        if recorded and request.gated and request.task:
            self.release(wait.run, request.task)

    def cancel(self, wait: Wait, reason: str, holder: str | None = None) -> None:
        """CANCELLED: nobody waits for the wait's token any more. Its attempt is recorded STOPPED before the wait
        goes, so a late delivery of the same request, finding its gate open, starts nothing (the attempt ended)."""
        request = DispatchRequest.model_validate(wait.request)
        if request.task_token and request.kind:
            self.store.never_started(self._new_attempt(request), "STOPPED", reason)
        self.store.finish_wait(wait, holder)

    def _through_gate(self, req: DispatchRequest) -> bool:
        """True when the request may proceed now; else it waits (parked) until its gated tasks end."""
        assert req.task is not None
        if not set(req.wait_for) - self.store.ended_tasks(req.execution_id, req.wait_for):
            return True
        if not self.store.park(req.execution_id, req.task, req.item_index, req.attempt, req.model_dump(mode="json")):
            return False  # a repeated delivery: the first one is parked (or claimed, or done) already
        wait = Wait(run=req.execution_id, sk=wait_key(req.task, req.item_index, req.attempt), kind="gate",
                    request=req.model_dump(mode="json"))
        # The last gated task may have ended between the first read and the park, and its ender looked before the
        # park: look again. Whoever claims the wait proceeds.
        if not set(req.wait_for) - self.store.ended_tasks(req.execution_id, req.wait_for):
            self.take(wait, running=True)
        else:
            self._beat(wait)
        return False

    def _beat(self, wait: Wait) -> None:
        """One heartbeat as the wait is parked: the state's HeartbeatSeconds ran from its entry, however late this
        request arrived, and the sweeper's next beat may be a whole interval away. A token already gone ends the
        wait (the state's retry parks its own); any other failure is the sweeper's to beat again."""
        if not wait.token:
            return
        try:
            self.tokens.heartbeat(wait.token)
        except TokenGoneError as exc:
            self.cancel(wait, f"nobody waits for its token: {exc}")
        except ClientError:
            logger.warning("could not heartbeat the parked request; the sweeper will", task=wait.request.get("task"))

    def _record_failure(self, req: DispatchRequest) -> None:
        assert req.task is not None
        error = req.error or {}
        name, cause = str(error.get("Error") or TASK_FAILED), str(error.get("Cause") or "")
        # The state gave up on its attempt (timeout, heartbeat): end whatever job is still running for it.
        view = self.store.load(req.execution_id, [req.task])
        if not cause.strip():  # Step Functions' own timeouts come without a cause: say which limit ran out
            mine = view.attempts_of(req.task, req.item_index)
            # (a definition compiled before the limits were sent: the attempt recorded its timeout)
            timeout = req.timeout or next((a.timeout for a in reversed(mine) if a.timeout), None)
            cause = timeout_cause(name, timeout, req.heartbeat) or cause
        for attempt in view.attempts_of(req.task, req.item_index):
            if not attempt.ended:
                self.close(attempt, "TIMED_OUT" if name in _STATE_TIMEOUTS else "STOPPED", f"{name}: {cause}")
        if req.item_index is not None:
            self.store.record_item_failure(req.execution_id, req.task, req.item_index, name, cause)
        else:
            self.store.record_task(req.execution_id, req.task, "FAILED", error=name, cause=cause)

    def _finish_foreach(self, req: DispatchRequest) -> None:
        assert req.task is not None
        ledger = self.store.load(req.execution_id, [req.task]).ledger
        if ledger.ended(req.task):
            return  # decided before any item ran (skipped, upstream failed)
        ledger.finish_foreach(req.task)
        record = ledger.task(req.task)
        self.store.record_task(req.execution_id, req.task, record.status, error=record.error, cause=record.cause)

    def _prepare(self, req: DispatchRequest, view: RunView) -> None:
        try:
            items = template.render(req.items, render_context(req, view.outputs, self.clock()))
        except template.TemplateError as exc:
            self._answer(req, error=(DISPATCH_FAILED, f"foreach items of '{req.task}': {exc}"))
            return
        if not isinstance(items, list):
            self._answer(req, error=(TOO_MANY_ITEMS, f"foreach items of '{req.task}' are not a list: {items!r:.200}"))
        elif len(items) > (req.max_items or 0):
            self._answer(req, error=(TOO_MANY_ITEMS, f"{len(items)} items, foreach.max_items is {req.max_items}"))
        else:
            self._answer(req, {"items": items})

    # ---- jobs ---------------------------------------------------------------------------------------------

    def _start(self, req: DispatchRequest, view: RunView) -> None:
        assert req.task is not None and req.task_token is not None and req.kind is not None
        for _ in range(3):  # an adoption can lose a race with the earlier job's end: look again
            attempts = view.attempts_of(req.task, req.item_index)
            if self._answered_from_record(req, view, attempts):
                return
            same = [a for a in attempts if req.attempt in (a.retry, a.adopted_by)]
            if same and all(a.ended and a.token != req.task_token for a in same):
                self._refuse_redrive(req)  # an ended attempt's number again, under another token
                return
            if same:
                return  # the same state attempt delivered twice: its job is started or being started
            if any(max(a.retry, a.adopted_by or 0) > req.attempt for a in attempts):
                return  # an older state attempt: a later one already owns this task's jobs
            unfinished = [a for a in attempts if not a.ended]
            if not unfinished:
                break
            if self._adopted(req, unfinished):
                return
            view = self.store.load(req.execution_id, scope(req))
        else:
            self._answer(req, error=(TASK_FAILED, f"task '{req.task}': an earlier attempt kept changing; retrying"))
            return
        if req.resume_of and self._resumed(req):
            return
        attempt = self._new_attempt(req)
        try:
            # Only a Lambda payload and a child's params take typed values; the job APIs take strings.
            attempt.config = template.render(attempt.config, render_context(req, view.outputs, self.clock()),
                                             text=req.kind not in TYPED_KINDS)
        except template.TemplateError as exc:
            if self.store.claim(attempt) is None:
                self._fail_attempt(attempt, DISPATCH_FAILED, f"task '{req.task}': {exc}")
            return
        if self.store.claim(attempt) is None:
            self.launch(attempt, entered_at=req.entered_at)

    def _new_attempt(self, req: DispatchRequest) -> Attempt:
        assert req.task is not None and req.task_token is not None and req.kind is not None
        return Attempt(run=req.execution_id, task=req.task, item_index=req.item_index, retry=req.attempt,
                       key=attempt_key(req.execution_id, req.task, req.item_index, req.attempt), kind=req.kind,
                       gated=req.gated, token=req.task_token, pipeline=req.pipeline, run_id=req.run_id,
                       timeout=req.timeout, config=dict(req.config or {}), started_at=self.clock(),
                       logical_date=req.logical_date,
                       item_label=None if req.item_index is None else item_label(req.item))

    def _answered_from_record(self, req: DispatchRequest, view: RunView, attempts: list[Attempt]) -> bool:
        """When the task (or foreach item) already has its outcome, answer it at once; True when so. A retry after
        a state timeout whose job then succeeded gets that success (the old token, which completion answered,
        is gone), and a stale request released from its gate gets the recorded outcome (harmless: refused)."""
        assert req.task is not None
        if any(a.status == "SUCCEEDED" for a in attempts):
            self._answer(req, {"status": "SUCCEEDED"})
            return True
        if req.item_index is None and view.ended(req.task):
            record = view.ledger.task(req.task)
            if record.status == "FAILED":
                self._refuse_redrive(req, f"task '{req.task}' already failed in this execution ({record.error}); ")
            else:
                self._answer(req, {"status": record.status})
            return True
        return False

    def _refuse_redrive(self, req: DispatchRequest, why: str = "") -> None:
        """A Step Functions redrive re-enters failed states with RetryCount 0 again: their attempt numbers would
        collide with the closed attempts of the first try, so Sluice refuses them (docs/runtime.md, "Redrive")."""
        logger.warning("refused a redriven (or stale) state attempt", task=req.task, attempt=req.attempt)
        self._answer(req, error=(REDRIVE_REFUSED, f"{why}task '{req.task}' attempt {req.attempt} was already "
                                 "tried in this execution: a Step Functions redrive is not supported (its attempt "
                                 "numbers restart); re-run what did not succeed with `sluice resume "
                                 f"{req.run_id}` (or POST /runs/{req.run_id}/resume)"))

    def _resumed(self, req: DispatchRequest) -> bool:
        """In a resumed run: when the task (or foreach item) succeeded in the original run, take that attempt over
        (its output feeds downstream templates) and answer at once; True when done so."""
        assert req.task is not None and req.task_token is not None and req.kind is not None and req.resume_of
        earlier = [a for a in self.store.load(req.resume_of, [req.task]).attempts_of(req.task, req.item_index)
                   if a.status == "SUCCEEDED"]
        if not earlier:
            return False
        copy = Attempt(run=req.execution_id, task=req.task, item_index=req.item_index, retry=req.attempt,
                       key=attempt_key(req.execution_id, req.task, req.item_index, req.attempt), kind=req.kind,
                       gated=req.gated, token=req.task_token, pipeline=req.pipeline, run_id=req.run_id,
                       logical_date=req.logical_date)
        if self.store.take_over(copy, earlier[-1]):
            metrics.add_metric(name="AttemptsTakenOver", unit=MetricUnit.Count, value=1)
            logger.info("took over a succeeded attempt of the original run", task=req.task, resume_of=req.resume_of)
            self._send(req.task_token, {"status": "SUCCEEDED"})
        return True  # else a repeated delivery took it over already, and answered

    def _adopted(self, req: DispatchRequest, unfinished: list[Attempt]) -> bool:
        """Hand an unfinished earlier attempt to this state attempt; True when one was taken over."""
        assert req.task_token is not None
        for earlier in unfinished:
            if earlier.status == STARTING or not self._timed_out(earlier, req):
                # A claim whose claimer may still be starting its job (its lease is live) is adopted for its answer
                # only: the claimer starts the job, and its end answers the token stored now. A dead claimer's
                # claim (lease expired) is adopted with a lease of the adopter's own, which then starts the job.
                now = self.clock()
                launch = earlier.status == STARTING and not self.store.lease_live(earlier, now)
                if not self.store.adopt(earlier, req.task_token, req.attempt, launch=launch, now=now):
                    return False
                logger.info("adopted an unfinished attempt", task=req.task, retry=earlier.retry, launch=launch)
                if launch:
                    self.launch(earlier)
                return True
            self.close(earlier, "TIMED_OUT", f"the state machine's attempt {earlier.retry + 1} timed out")
        return False

    def launch(self, attempt: Attempt, *, entered_at: str | None = None) -> None:
        adapter = self.jobs.adapter(attempt.kind, attempt.pipeline)
        if adapter is None:
            self._fail_attempt(attempt, DISPATCH_FAILED, f"no adapter for task kind '{attempt.kind}'")
            return
        try:
            ref = adapter.start(attempt.job())
        except JobError as exc:
            self._fail_attempt(attempt, TASK_FAILED if exc.retryable else DISPATCH_FAILED, str(exc))
            return
        if not self.store.mark_running(attempt, ref):
            # The claim was closed while its job was being started (the run cancelled or stopped, the state timed
            # out): whoever closed it looked for a job too early to find this one. Stop it: nobody waits for it.
            current = self.store.attempt(attempt.run, attempt.sk)
            if current is not None and current.ended:
                logger.warning("job started for a closed attempt; stopping it", task=attempt.task,
                               external_id=ref.external_id, status=current.status)
                try:
                    adapter.stop(ref, current.error or f"its attempt was closed {current.status}")
                except JobError as exc:
                    logger.warning("could not stop job", task=attempt.task, external_id=ref.external_id,
                                   error=str(exc))
            return
        metrics.add_metric(name="JobsStarted", unit=MetricUnit.Count, value=1)
        if entered_at is not None and attempt.retry == 0:  # a retry's state entry is the first attempt's: its
            measure_dispatch(attempt, seconds_between(entered_at, self.clock()))  # wait would count as latency
        logger.info("job started", task=attempt.task, kind=attempt.kind, external_id=ref.external_id)

    def _timed_out(self, attempt: Attempt, req: DispatchRequest) -> bool:
        limit = attempt.timeout or req.timeout
        return limit is not None and seconds_between(attempt.started_at, self.clock()) >= limit

    def close(self, attempt: Attempt, status: str, reason: str) -> None:
        """End an attempt the state machine no longer waits for, and stop its job."""
        if not self.store.end(attempt, status, error=reason):
            return
        measure_attempt(attempt, status, seconds_between(attempt.started_at, self.clock()))
        adapter = self.jobs.adapter(attempt.kind, attempt.pipeline)
        if adapter is None:
            return
        try:
            # A claim whose start was never recorded may still have started its job: look it up by its key.
            ref = (JobRef(attempt.kind, attempt.external_id, attempt.details) if attempt.external_id
                   else adapter.find(attempt.job()))
            if ref is not None:
                adapter.stop(ref, reason)
        except JobError as exc:
            logger.warning("could not stop job", task=attempt.task, external_id=attempt.external_id, error=str(exc))

    def _fail_attempt(self, attempt: Attempt, error: str, cause: str) -> None:
        if self.store.end(attempt, "FAILED", error=f"{error}: {cause}", answer={"error": error, "cause": cause}):
            self.deliver(attempt)

    def deliver(self, attempt: Attempt) -> bool:
        """Send an ended attempt's recorded answer to its token, then mark it delivered. A send that fails (a
        throttle) leaves it due, in the `active` index: the sweeper sends it again. True when delivered."""
        answer = attempt.answer or {"output": {"status": attempt.status}}
        try:
            if "error" in answer:
                self.tokens.fail(attempt.token, str(answer["error"]), str(answer.get("cause") or ""))
            else:
                self.tokens.succeed(attempt.token, answer.get("output") or {})
        except TokenGoneError as exc:
            logger.info("nobody waits for this answer any more", task=attempt.task, reason=str(exc))
        except ClientError:
            logger.exception("answer not delivered; the sweeper sends it again", task=attempt.task)
            return False
        try:
            self.store.delivered(attempt)
        except StoreError:  # the answer went: the sweeper's next send is refused, and then it is marked delivered
            logger.exception("could not mark the answer delivered", task=attempt.task)
        return True

    def _answer(self, req: DispatchRequest, output: dict[str, Any] | None = None,
                error: tuple[str, str] | None = None) -> None:
        assert req.task_token is not None
        self._send(req.task_token, output, error)

    def _send(self, token: str, output: dict[str, Any] | None = None, error: tuple[str, str] | None = None) -> None:
        try:
            if error:
                self.tokens.fail(token, *error)
            else:
                self.tokens.succeed(token, output or {})
        except TokenGoneError as exc:
            logger.info("nobody waits for this answer any more", reason=str(exc))
