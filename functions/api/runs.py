"""The run API's operations on runs: start, list, show, cancel, resume. Ports come in; nothing here builds a client."""

from __future__ import annotations

import base64
import binascii
import json
import re
import uuid
from dataclasses import dataclass
from typing import Any, cast

from sluice.contract import config_hash
from sluice.graph import Dag
from sluice.run_request import RunRequestError, logical_date, resolve_params
from sluice.spec import Pipeline

from ..adapters.clock import Clock, iso_utc, utc_now
from ..adapters.run_store import RunStore
from ..adapters.runs import RunRecords
from ..adapters.starts import NotSameRunError, Starts, execution_name
from ..dispatch.service import Dispatcher
from ..observability import logger
from ..runtime.records import shown_status
from . import models
from .catalog import Catalog
from .moments import moment
from .problems import BadRequest, Conflict, NotFound

CANCELLED = "Sluice.Cancelled"  # the execution's error when a run is cancelled through the API
_NAME = re.compile(r"^[A-Za-z0-9_.-]{1,80}$")
_PIPELINE = re.compile(r"^[a-z0-9][a-z0-9-]{0,63}$")


@dataclass(frozen=True)
class RunRef:
    pipeline: str
    name: str
    arn: str

    @property
    def id(self) -> str:
        return f"{self.pipeline}:{self.name}"


class Runs:
    def __init__(self, catalog: Catalog, starts: Starts, runs: RunRecords, store: RunStore, dispatcher: Dispatcher,
                 *, clock: Clock = utc_now) -> None:
        self.catalog, self.starts, self.runs, self.store, self.dispatcher = catalog, starts, runs, store, dispatcher
        self.clock = clock

    # ---- ids ---------------------------------------------------------------------------------------------------

    def ref(self, text: str) -> RunRef:
        """A run id (<pipeline>:<execution name>) or an execution ARN of a Sluice pipeline."""
        if text.startswith("arn:"):
            machine_prefix = self.starts.prefix.replace(":stateMachine:", ":execution:", 1)
            rest = text[len(machine_prefix):] if text.startswith(machine_prefix) else ""
            pipeline, _, name = rest.partition(":")
        else:
            pipeline, _, name = text.partition(":")
        if not _PIPELINE.match(pipeline) or not _NAME.match(name):
            raise BadRequest(f"'{text[:200]}' is not a run id: expected <pipeline>:<execution name> or the execution "
                             "ARN of a Sluice pipeline", errors=[{"field": "id", "reason": "malformed"}])
        return RunRef(pipeline, name, self.starts.execution_arn(pipeline, name))

    # ---- start ---------------------------------------------------------------------------------------------------

    def start(self, pipeline_name: str, body: models.StartRun, *, principal: str,
              idempotency_key: str | None) -> models.RunStarted:
        pipeline = self.catalog.get(pipeline_name)
        run_input = self._input(pipeline_name, body, principal)
        if idempotency_key:  # the same key names the same execution: Step Functions itself refuses a second run
            name = execution_name("api", pipeline.name, idempotency_key)
        else:
            name = f"api-{self.clock()[:19].replace(':', '').replace('-', '')}-{uuid.uuid4().hex[:12]}"
        return self._start(pipeline.name, name, run_input)

    def reused(self, pipeline_name: str, body: models.StartRun, *, principal: str, idempotency_key: str) -> Conflict:
        """The 409 for an Idempotency-Key used before with another body, naming what differs from that run."""
        name = execution_name("api", pipeline_name, idempotency_key)
        described = self.starts.describe(self.starts.execution_arn(pipeline_name, name))
        first = json.loads(described.get("input") or "{}") if described else None
        return _reused(f"{pipeline_name}:{name}", first, self._input(pipeline_name, body, principal))

    def _input(self, pipeline_name: str, body: models.StartRun, principal: str) -> dict[str, Any]:
        """The run input a start request asks for (its params checked against the pipeline's types)."""
        pipeline = self.catalog.get(pipeline_name)
        try:
            params = resolve_params(pipeline, body.params)
        except RunRequestError as exc:
            raise BadRequest(f"the parameters do not fit '{pipeline.name}'",
                             errors=[{"field": f, "reason": r} for f, r in exc.problems]) from None
        run_input: dict[str, Any] = {"params": params, "trigger": {"type": "api", "by": principal}}
        if body.reason:
            run_input["trigger"]["reason"] = body.reason
        if body.logical_date is not None:
            moment(body.logical_date, "logical_date")  # in range: backfills and listings compute with it
            run_input["logical_date"] = logical_date(body.logical_date)
        return run_input

    def _start(self, pipeline: str, name: str, run_input: dict[str, Any], *,
               any_input: bool = False) -> models.RunStarted:
        """Start the named run; with `any_input`, a run of that name is the answer whatever it was started with."""
        try:
            started = self.starts.start(pipeline, name, run_input)
        except NotSameRunError as exc:
            if not any_input:
                raise _reused(f"{pipeline}:{name}", exc.existing.run_input, run_input) from None
            started = exc.existing
        run_input = started.run_input or run_input
        ref = RunRef(pipeline, name, started.execution_arn)
        logger.info("run started" if started.created else "run found (repeated start)", run=ref.id)
        return models.RunStarted(
            id=ref.id, pipeline=pipeline, run_id=name, execution_arn=ref.arn, status="RUNNING",
            current_status=None if started.created else self.current_status(ref.arn),
            logical_date=run_input.get("logical_date"), trigger=run_input["trigger"], created=started.created,
            params=run_input.get("params", {}), resume_of=run_input.get("resume_of"),
            links=models.Links(console=console(ref.arn), self=f"/runs/{ref.id}"))

    # ---- read ----------------------------------------------------------------------------------------------------

    def page(self, pipeline: str, *, status: str | None, since: str | None, until: str | None, limit: int,
             token: str | None) -> models.RunPage:
        self.catalog.get(pipeline)
        bounds = {}
        for field, value, default in (("since", since, "0"), ("until", until, "9999")):
            bound = iso_utc(moment(value, field))[:19] if value else default
            # A date alone means the whole day: until 2026-11-03 includes runs started that afternoon.
            bounds[field] = f"{bound[:10]}T23:59:59.999" if field == "until" and value and len(value) == 10 \
                else bound
        items, after = self.runs.page(pipeline, since=bounds["since"], until=bounds["until"], status=status,
                                      limit=limit, after=_untoken(token))
        return models.RunPage(runs=[self._summary(item) for item in items],
                              next_token=_token(after) if after else None)

    def show(self, run_id: str) -> models.RunDetail:
        ref = self.ref(run_id)
        items = self.store.items(ref.arn)  # one query: the run item and its tasks' records
        item = next((RunRecords.parsed(i) for i in items if i["sk"] == "RUN"), None)
        if item is None or "status" not in item:
            described = self.starts.describe(ref.arn)
            if described is None:
                raise NotFound(f"no run {ref.id}")
            item = (item or {}) | _from_execution(described, ref)
        view = self.store.view(ref.arn, items)
        pipeline = self.catalog.all().get(ref.pipeline)  # None: the pipeline is gone; its run is still shown
        tasks = []
        for name in _task_order(pipeline, list(view.ledger.tasks)):
            record = view.ledger.tasks.get(name)
            attempts = [models.Attempt(
                retry=a.retry, item=a.item_index, item_value=a.item_label, status=a.status, kind=a.kind,
                external_id=a.external_id, started_at=a.started_at or None, ended_at=a.ended_at,
                duration_s=a.duration_s, error=a.error, exit_code=a.exit_code, log_location=a.log_location,
                resumed_from=a.resumed_from, usage=a.usage)
                for a in sorted(view.attempts, key=lambda a: (a.item_index or 0, a.retry)) if a.task == name]
            status = shown_status(record.status if record else None, [a for a in view.attempts if a.task == name],
                                  run_ended=item.get("status") not in (None, "RUNNING", "PENDING_REDRIVE"))
            tasks.append(models.TaskView(name=name, status=status, error=record.error if record else None,
                                         cause=record.cause if record else None, attempts=attempts))
        given = item.get("params") or {}
        same_config = pipeline is not None and item.get("config_hash") in (None, config_hash(pipeline))
        defaults = {k: v for k, v in pipeline.param_defaults().items() if k not in given} \
            if pipeline is not None and same_config else {}
        summary = self._summary(item | {"pipeline": ref.pipeline, "run_id": ref.name, "execution_arn": ref.arn})
        return models.RunDetail(
            **summary.model_dump(), params=given, param_defaults=defaults, error=item.get("error"),
            cause=item.get("cause"),
            config_hash=item.get("config_hash"), resume_of=item.get("resume_of"), resumed_by=item.get("resumed_by"),
            cancelled=item.get("cancelled"), tasks=tasks, cost=item.get("cost"),
            links=models.Links(console=console(ref.arn), self=f"/runs/{ref.id}"))

    # ---- change --------------------------------------------------------------------------------------------------

    def cancel(self, run_id: str, body: models.Cancel, *, principal: str) -> models.Cancelled:
        ref = self.ref(run_id)
        described = self.starts.describe(ref.arn)
        if described is None:
            raise NotFound(f"no run {ref.id}")
        if described["status"] != "RUNNING":
            raise Conflict(f"run {ref.id} is {self.ended_status(ref, described)}: only a running run can be "
                           "cancelled")
        cause = f"cancelled by {principal}: {body.reason}"
        self.starts.stop(ref.arn, CANCELLED, cause)
        self.runs.annotate(ref.arn, cancelled={"by": principal, "reason": body.reason, "at": self.clock()})
        stopped = self._stop_jobs(ref, cause)
        logger.info("run cancelled", run=ref.id, by=principal, jobs_stopped=stopped)
        return models.Cancelled(id=ref.id, status="ABORTED", cancelled_by=principal, reason=body.reason,
                                jobs_stopped=stopped)

    def resume(self, run_id: str, body: models.Resume, *, principal: str) -> models.RunStarted:
        ref = self.ref(run_id)
        described = self.starts.describe(ref.arn)
        if described is None:
            raise NotFound(f"no run {ref.id}")
        status = described["status"] if described["status"] == "RUNNING" else self.ended_status(ref, described)
        if status == "RUNNING":
            raise Conflict(f"run {ref.id} is still running: cancel it first, or wait for its end")
        if status == "SUCCEEDED":
            raise Conflict(f"run {ref.id} succeeded: there is nothing to resume (start a new run instead)")
        # An execution stopped outside the API (the console) leaves its jobs running until the sweeper's round,
        # 15 minutes on: stop them now, or the resumed run would run a second job for the same task.
        stopped = self._stop_jobs(ref, f"stopped by {principal} to resume run {ref.id}: its execution is {status}")
        if stopped:
            logger.info("stopped the jobs of the run resumed", run=ref.id, jobs_stopped=stopped)
        original = json.loads(described.get("input") or "{}")
        trigger: dict[str, Any] = {"type": "resume", "of": ref.id, "by": principal}
        if body.reason:
            trigger["reason"] = body.reason
        run_input = {"params": original.get("params", {}), "trigger": trigger, "resume_of": ref.arn,
                     "logical_date": original.get("logical_date") or _iso(described["startDate"])}
        if original.get("event") is not None:
            run_input["event"] = original["event"]
        # One resumed run per original: resuming again returns it (resume the resumed run to go on from there).
        started = self._start(ref.pipeline, execution_name("resume", ref.arn), run_input, any_input=True)
        self.runs.annotate(ref.arn, resumed_by=started.id)
        return started

    def current_status(self, arn: str) -> models.RunStatus | None:
        """The run's status now, in the word `show` uses (a repeated start's answer adds it to the first one's)."""
        described = self.starts.describe(arn)
        if described is None:
            status = self.runs.statuses([arn]).get(arn)
        else:
            status = described["status"] if described["status"] == "RUNNING" else \
                self.ended_status(RunRef("", "", arn), described)
        return cast("models.RunStatus | None", status)

    def ended_status(self, ref: RunRef, described: dict[str, Any]) -> str:
        """An ended run's status in the word `show` uses: the recorded one (the record function's, from the end
        event), else Step Functions'. They differ where the interpreter is not Step Functions: moto ends a stopped
        execution FAILED once its waiting tasks are answered, and local mode records the ABORTED AWS would send."""
        recorded = self.runs.statuses([ref.arn]).get(ref.arn)
        return recorded if recorded not in (None, "RUNNING") else str(described["status"])

    def _stop_jobs(self, ref: RunRef, cause: str) -> int:
        """Stop the jobs of the run's unfinished attempts (child runs included), closing each STOPPED; how many."""
        stopped = 0
        for attempt in self.store.load(ref.arn).attempts:
            if not attempt.ended:
                self.dispatcher.close(attempt, "STOPPED", cause)
                stopped += 1
        return stopped

    def _summary(self, item: dict[str, Any]) -> models.RunSummary:
        cost = item.get("cost")
        pipeline, name = item["pipeline"], item["run_id"]
        return models.RunSummary(
            id=f"{pipeline}:{name}", pipeline=pipeline, run_id=name, execution_arn=item["execution_arn"],
            status=item.get("status"), logical_date=item.get("logical_date"), started_at=item.get("started_at"),
            ended_at=item.get("ended_at"), trigger=item.get("trigger"),
            cost_usd=cost.get("total_usd") if isinstance(cost, dict) else None)


def _reused(run_id: str, first: dict[str, Any] | None, wanted: dict[str, Any]) -> Conflict:
    """409: the key's run `run_id` was started with input `first`; this request wants `wanted`."""
    if first is None:  # the first request has not started its run (yet): nothing to compare with
        return Conflict("this Idempotency-Key was used for another request, with a different body")
    before, after = first.get("params") or {}, wanted.get("params") or {}
    fields = [f"body.params.{k}" for k in sorted(set(before) | set(after)) if before.get(k, ...) != after.get(k, ...)]
    if first.get("logical_date") != wanted.get("logical_date"):
        fields.append("body.logical_date")
    if (first.get("trigger") or {}).get("reason") != wanted["trigger"].get("reason"):
        fields.append("body.reason")
    return Conflict(f"this Idempotency-Key was used for another request (run {run_id}), with a different "
                    f"{', '.join(fields) or 'body'}: use a new key for a new run",
                    errors=[{"field": f, "reason": "differs from the request that first used this key"}
                            for f in fields])


def _task_order(pipeline: Pipeline | None, recorded: list[str]) -> list[str]:
    """The pipeline's tasks in DAG order (ties by declaration order), then any recorded task it no longer has."""
    order = Dag.of(pipeline).topological_order() if pipeline is not None else []
    return order + [name for name in recorded if name not in order]


def console(arn: str) -> str:
    region = arn.split(":")[3]
    return f"https://{region}.console.aws.amazon.com/states/home?region={region}#/v2/executions/details/{arn}"


def _from_execution(described: dict[str, Any], ref: RunRef) -> dict[str, Any]:
    """A run the record function has not recorded yet, as Step Functions describes it."""
    run_input = json.loads(described.get("input") or "{}")
    stopped = described.get("stopDate")
    return {"status": described["status"], "started_at": _iso(described["startDate"]),
            "ended_at": _iso(stopped) if stopped else None, "params": run_input.get("params", {}),
            "logical_date": run_input.get("logical_date"), "trigger": run_input.get("trigger"),
            "resume_of": run_input.get("resume_of"), "error": described.get("error"), "cause": described.get("cause"),
            "execution_arn": ref.arn}


def _iso(value: Any) -> str:
    return iso_utc(value) if not isinstance(value, str) else value


def _token(after: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(after, sort_keys=True).encode()).decode()


def _untoken(token: str | None) -> dict[str, Any] | None:
    if not token:
        return None
    try:
        after = json.loads(base64.urlsafe_b64decode(token.encode()))
    except (ValueError, binascii.Error):
        after = None
    if not isinstance(after, dict) or set(after) != {"pk", "sk", "pipeline_pk", "pipeline_sk"} or not all(
            isinstance(v, str) for v in after.values()):
        raise BadRequest("next_token is not one this API gave out", errors=[{"field": "next_token",
                                                                            "reason": "malformed"}])
    return after

