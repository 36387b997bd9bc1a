"""complete_attempt: a job's end, from its service's event (or the sweeper), recorded once and answered once."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.metrics import MetricUnit

from sluice.contract import TASK_FAILED, TASK_LOST

from ..adapters.clock import Clock, seconds_between, utc_now
from ..adapters.jobs.base import JobError, JobRef, JobState
from ..adapters.run_store import RunStore
from ..adapters.tokens import Tokens
from ..dispatch.service import Dispatcher
from ..events.types import JobEvent, function_name
from ..observability import logger, metrics
from ..runtime.context import task_output
from ..runtime.records import Attempt
from ..runtime.telemetry import measure_attempt

# Index reads lag writes, and a fast job can end before its dispatcher recorded it: an end event for an unknown
# job is retried (the Lambda's asynchronous retries) while it is this fresh; older ones belong to other tools.
RETRY_UNKNOWN_FOR = 600.0
# Kinds whose end events do not say what the job used: one describe call at the end reads it.
USAGE_BY_DESCRIBE = frozenset({"glue", "emr_serverless"})


class AttemptNotFoundYetError(Exception):
    """An end event for a job not (yet) in the run store; raised so the invocation is retried later."""


class Completer:
    def __init__(self, store: RunStore, tokens: Tokens, dispatcher: Dispatcher, *, clock: Clock = utc_now) -> None:
        self.store, self.tokens, self.dispatcher, self.clock = store, tokens, dispatcher, clock

    def on_event(self, event: JobEvent, event_id: str) -> str:
        """Apply a job state-change event; returns what happened, for the log."""
        if event.status == "RUNNING":
            return "ignored: the job has not ended"
        attempt = self.store.attempt_by_job(event.kind, event.external_id)
        if attempt is None:
            if seconds_between(event.time, self.clock()) < RETRY_UNKNOWN_FOR:
                raise AttemptNotFoundYetError(f"no attempt recorded for {event.kind} job {event.external_id} yet")
            return "ignored: not a Sluice job"
        if refused := _foreign_record(event, attempt):
            logger.warning(refused, extra={"run": attempt.run, "task": attempt.task, "request_id": event.external_id})
            metrics.add_metric(name="CompletionsRefused", unit=MetricUnit.Count, value=1)
            return refused
        state = JobState(status=event.status, error=event.error, exit_code=event.exit_code, output=event.output,
                         usage=event.usage)
        return self.finish(attempt, state, event_id)

    def finish(self, attempt: Attempt, state: JobState, event_id: str, *, lost: bool = False) -> str:
        """Record the attempt's end and answer its task token, once; then let waiting tasks through."""
        logger.set_correlation_id(attempt.run_id)
        logger.append_keys(pipeline=attempt.pipeline, task=attempt.task, retry=attempt.retry)
        status = "LOST" if lost else state.status
        output = task_output(attempt, state.output, state.exit_code) if state.status == "SUCCEEDED" else None
        usage = state.usage if state.usage is not None or lost else self._usage(attempt)
        if status == "SUCCEEDED":
            answer: dict[str, Any] = {"output": {"status": "SUCCEEDED"}}
        else:
            answer = {"error": TASK_LOST if lost else TASK_FAILED,
                      "cause": f"{attempt.kind} job {attempt.external_id}: {state.error or status}"}
        if self.store.end(attempt, status, error=state.error, exit_code=state.exit_code, output=output,
                          event_id=event_id, usage=usage, answer=answer):
            measure_attempt(attempt, status, seconds_between(attempt.started_at, self.clock()))
        else:
            current = self.store.attempt(attempt.run, attempt.sk)
            # The same event again means our first handling may have died before answering: answer again (Step
            # Functions refuses a second answer to one token). Any other event for an ended attempt is stale.
            if current is None or current.end_event != event_id:
                return f"ignored: attempt already {current.status if current else 'gone'}"
            attempt = current
        metrics.add_metric(name=f"Attempts{status.title().replace('_', '')}", unit=MetricUnit.Count, value=1)
        self.dispatcher.deliver(attempt)
        if attempt.status == "SUCCEEDED" and attempt.gated and attempt.item_index is None:
            # A foreach item's end opens no gate: its task ends when `finish` records it.
            self.dispatcher.release_safely(attempt.run, attempt.task)
        return f"attempt {status}"

    def _usage(self, attempt: Attempt) -> dict[str, Any] | None:
        """What the job used, for its run's cost, from services whose end events leave it out (Glue, EMR
        Serverless). Best effort: a failed look-up costs the figure, never the attempt's end."""
        if attempt.kind not in USAGE_BY_DESCRIBE or attempt.external_id is None:
            return None
        adapter = self.dispatcher.jobs.adapter(attempt.kind, attempt.pipeline)
        if adapter is None:
            return None
        try:
            return adapter.describe(JobRef(attempt.kind, attempt.external_id, attempt.details)).usage
        except JobError as exc:
            logger.warning("could not read the job's usage; its run's cost leaves it out", task=attempt.task,
                           external_id=attempt.external_id, reason=str(exc))
            return None


def _foreign_record(event: JobEvent, attempt: Attempt) -> str | None:
    """Why a Lambda invocation record cannot end this attempt: it names another function than the one the attempt
    invoked (a request id is no secret: `GET /runs/{id}` shows it). None when it may."""
    invoked = attempt.details.get("function") or attempt.config.get("function")
    if event.kind != "lambda" or not invoked or not event.function:
        return None
    if function_name(event.function) == function_name(invoked):
        return None
    return (f"refused: the invocation record for request {event.external_id} is from function "
            f"'{function_name(event.function)}', but the attempt invoked '{function_name(invoked)}'")
