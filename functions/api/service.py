"""The run API's services, built once per container from the runtime (or installed by local mode and tests)."""

from __future__ import annotations

import datetime as dt
import hashlib
import threading
import uuid
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any
from zoneinfo import ZoneInfo

from aws_lambda_powertools.utilities.idempotency import DynamoDBPersistenceLayer, IdempotencyConfig, idempotent_function
from aws_lambda_powertools.utilities.idempotency.exceptions import IdempotencyValidationError

from sluice.contract import config_hash
from sluice.run_request import RunRequestError, resolve_params
from sluice.schedule_times import pipeline_next_times
from sluice.spec import Pipeline

from ..adapters.clock import iso_utc
from ..backfill.service import BackfillError, Backfills, plan
from ..runtime.wiring import Runtime, runtime
from . import models
from .catalog import Catalog
from .moments import day_window
from .problems import BadRequest, Conflict, NotFound
from .runs import Runs

IDEMPOTENCY_HOURS = 24  # how long a key's response is replayed; the run's name stays deterministic beyond that
NEXT_RUNS = 5


class Pipelines:
    def __init__(self, catalog: Catalog) -> None:
        self.catalog = catalog

    def list(self) -> models.PipelineList:
        return models.PipelineList(pipelines=[self._summary(p) for _, p in sorted(self.catalog.all().items())])

    def detail(self, name: str, *, now: dt.datetime | None = None) -> models.PipelineDetail:
        pipeline = self.catalog.get(name)
        after = now or dt.datetime.now(dt.UTC)
        upcoming = [models.NextRun(at=t.time.strftime("%Y-%m-%dT%H:%M:%SZ"), schedule=t.schedule,
                                   local=t.time.astimezone(ZoneInfo(pipeline.schedules[t.schedule].timezone))
                                   .isoformat()) for t in pipeline_next_times(pipeline, after, NEXT_RUNS)]
        tasks = [models.TaskSpec(name=n, kind=t.kind, depends_on=list(t.depends_on)) for n, t in pipeline.tasks.items()]
        return models.PipelineDetail(**self._summary(pipeline).model_dump(), task_list=tasks, next_runs=upcoming)

    @staticmethod
    def _summary(p: Pipeline) -> models.PipelineSummary:
        return models.PipelineSummary(
            name=p.name, description=p.description, owner=p.owner, config_hash=config_hash(p), tasks=len(p.tasks),
            params={n: models.ParamView(type=d.type, required=d.required, default=d.default,
                                        description=d.description, allowed=d.allowed) for n, d in p.params.items()},
            schedules=[models.ScheduleView(expression=s.expression, timezone=s.timezone, enabled=s.enabled)
                       for s in p.schedules])


class BackfillApi:
    def __init__(self, catalog: Catalog, backfills: Backfills, runs: Runs) -> None:
        self.catalog, self.backfills, self.runs = catalog, backfills, runs

    def start(self, name: str, body: models.Backfill, *, principal: str,
              idempotency_key: str | None) -> models.BackfillView:
        pipeline = self.catalog.get(name)
        zone = backfill_zone(pipeline)
        since, until = day_window(body.start, body.end, zone)
        try:
            params = resolve_params(pipeline, body.params) if body.params else {}
            dates = plan(pipeline, since, until, body.mode,
                         self.backfills.runs.by_logical_date(name, _day_before(since), f"{until:%Y-%m-%dT%H:%M:%S}Z"))
        except RunRequestError as exc:
            raise BadRequest("the parameters do not fit the pipeline",
                             errors=[{"field": f, "reason": r} for f, r in exc.problems]) from None
        except BackfillError as exc:
            raise BadRequest(str(exc)) from None
        except OverflowError:  # the schedule's maths went past the calendar's end: the range is too close to it
            reason = "out of range: the schedule's times around it fall outside the calendar"
            raise BadRequest(f"start/end: {reason}", errors=[{"field": "start", "reason": reason},
                                                             {"field": "end", "reason": reason}]) from None
        if body.dry_run:
            return models.BackfillView(pipeline=name, mode=body.mode, dry_run=True, max_concurrent=body.max_concurrent,
                                       status="PLANNED", dates=[_date(d) for d in dates], start=iso_utc(since),
                                       end=iso_utc(until), timezone=zone)
        key = idempotency_key or uuid.uuid4().hex
        backfill_id = hashlib.sha256(f"{name}|{key}".encode()).hexdigest()[:16]
        request: dict[str, Any] = {"start": iso_utc(since), "end": iso_utc(until), "mode": body.mode,
                                   "max_concurrent": body.max_concurrent, "params": params}
        found = self.backfills.get(backfill_id)
        if found is not None:
            _same_backfill(found, request)
        self.backfills.create(backfill_id, pipeline, dates, principal=principal, **request)
        return self.view(backfill_id)

    def view(self, backfill_id: str) -> models.BackfillView:
        item = self.backfills.get(backfill_id)
        if item is None:
            raise NotFound(f"no backfill {backfill_id}")
        names = {date: self.backfills.run_name(item, i) for i, date in enumerate(item["runs"])}
        started = {date: self.runs.starts.execution_arn(item["pipeline"], names[date])
                   for date in item["runs"][:int(item["next"])]}
        statuses = self.runs.runs.statuses(list(started.values()))  # one read per 100 runs, not one per run
        dates = []
        for entry in item["dates"]:
            view = _date(entry)
            if entry["logical_date"] in names:
                view.id = f"{item['pipeline']}:{names[entry['logical_date']]}"
                view.status = "PENDING"
                if entry["logical_date"] in started:
                    view.status = statuses.get(started[entry["logical_date"]]) or "STARTING"
                if entry["logical_date"] in item["failed"]:  # retried by run ends, a repeated POST, periodically
                    view.status, view.error = "START_FAILED", item["failed"][entry["logical_date"]]
            dates.append(view)
        done = len(item["ended"]) >= len(item["runs"])
        return models.BackfillView(id=backfill_id, pipeline=item["pipeline"], mode=item["mode"], dry_run=False,
                                   max_concurrent=int(item["max_concurrent"]), status="DONE" if done else "RUNNING",
                                   dates=dates, created_by=item["created_by"], created_at=item["created_at"],
                                   start=item.get("start"), end=item.get("end"))


def backfill_zone(pipeline: Pipeline) -> str:
    """The time zone a backfill's date-only start and end are days of: the first enabled schedule's (the first
    schedule's when none is enabled). A pipeline whose schedules differ in zone takes the first one's days."""
    enabled = [s for s in pipeline.schedules if s.enabled] or list(pipeline.schedules)
    return enabled[0].timezone if enabled else "UTC"


def _same_backfill(item: dict[str, Any], request: dict[str, Any]) -> None:
    """409 unless `request` is the one that made the backfill `item` (its key's first use)."""
    # Backfills recorded before their range was kept have no start or end: those are not compared.
    differ = [f"body.{k}" for k, v in request.items() if k in item and item[k] != v]
    if differ:
        raise Conflict(f"this Idempotency-Key was used for another request (backfill {item['id']}), with a "
                       f"different {', '.join(differ)}: use a new key for a new backfill",
                       errors=[{"field": f, "reason": "differs from the request that first used this key"}
                               for f in differ])


def _date(entry: dict[str, Any]) -> models.BackfillDate:
    return models.BackfillDate(logical_date=entry["logical_date"], action=entry["action"], reason=entry["reason"],
                               id=entry.get("id"), status=entry.get("status"))


def _day_before(moment: dt.datetime) -> str:
    # Logical dates are stored in more than one form (with or without milliseconds): read a little wider.
    return f"{moment - dt.timedelta(days=1):%Y-%m-%dT%H:%M:%S}"


@dataclass
class Api:
    rt: Runtime
    catalog: Catalog
    _ran: threading.local = field(default_factory=threading.local, repr=False)

    @cached_property
    def runs(self) -> Runs:
        return Runs(self.catalog, self.rt.starts, self.rt.runs, self.rt.store, self.rt.dispatcher)

    @cached_property
    def pipelines(self) -> Pipelines:
        return Pipelines(self.catalog)

    @cached_property
    def backfills(self) -> BackfillApi:
        return BackfillApi(self.catalog, self.rt.backfills, self.runs)

    @cached_property
    def _idempotency(self) -> IdempotencyConfig:
        return IdempotencyConfig(event_key_jmespath="key", payload_validation_jmespath="body",
                                 expires_after_seconds=IDEMPOTENCY_HOURS * 3600)

    @cached_property
    def _start_once(self) -> Any:
        persistence = DynamoDBPersistenceLayer(
            table_name=self.rt.settings.table_name, key_attr="pk", sort_key_attr="sk",
            static_pk_value="IDEMPOTENCY#api", expiry_attr="expires_at", boto3_client=self.rt.clients("dynamodb"))

        def start(request: dict[str, Any]) -> dict[str, Any]:
            self._ran.value = True  # Powertools replays a stored response without calling this
            body = models.StartRun.model_validate(request["body"])
            return self.runs.start(request["pipeline"], body, principal=request["principal"],
                                   idempotency_key=request["idempotency_key"]).model_dump()

        return idempotent_function(data_keyword_argument="request", persistence_store=persistence,
                                   config=self._idempotency)(start)

    def register(self, context: Any) -> None:
        self._idempotency.register_lambda_context(context)

    def start_run(self, name: str, body: models.StartRun, *, principal: str,
                  idempotency_key: str | None) -> models.RunStarted:
        if idempotency_key is None:
            return self.runs.start(name, body, principal=principal, idempotency_key=None)
        request = {"key": f"{name}|{idempotency_key}", "body": body.model_dump(), "pipeline": name,
                   "principal": principal, "idempotency_key": idempotency_key}
        self._ran.value = False
        try:
            started = models.RunStarted.model_validate(self._start_once(request=request))
        except IdempotencyValidationError:
            raise self.runs.reused(name, body, principal=principal, idempotency_key=idempotency_key) from None
        if not self._ran.value:  # the first request's answer, replayed: this request started nothing
            started.created = False
            started.current_status = self.runs.current_status(started.execution_arn)  # it may have ended since
        return started


_current: Api | None = None


def api() -> Api:
    """The container's API services, from the environment (local mode and tests install their own with `use`)."""
    global _current
    if _current is None:
        rt = runtime()
        _current = Api(rt, Catalog(rt.clients("ssm"), rt.settings.catalog_path))
    return _current


def use(value: Api | None) -> None:
    global _current
    _current = value
