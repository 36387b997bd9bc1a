"""Backfills: a pipeline's scheduled logical dates between two times, run at most N at a time, recorded.

A backfill is one item (pk BACKFILL#<id>) holding its dates, how many have been started (`next`) and which of its
runs have ended. The first N runs start with it; each run's end (the record function) starts the next date. A run
is named from (backfill, date), so a repeated start is the same run; the start comes before the conditional
update that counts it, so a crash in between is repeated, never lost, and an end is counted once (`ended`).
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable
from typing import Any

from botocore.exceptions import ClientError

from sluice.schedule_times import TooManyTimesError, pipeline_fire_times
from sluice.spec import Pipeline

from ..adapters.clock import Clock, expiry, parse, utc_now
from ..adapters.dynamo import from_item, to_item
from ..adapters.runs import RunRecords
from ..adapters.starts import Starts, execution_name
from ..observability import logger

MAX_DATES = 1000  # dates in one backfill: ask for a shorter range beyond
FAILED = frozenset({"FAILED", "TIMED_OUT", "ABORTED"})
ADVANCE_TRIES = 20


class BackfillError(ValueError):
    """A backfill request that cannot be planned (no schedule, too many dates, start after end)."""


def as_logical(when: dt.datetime) -> str:
    """A scheduled time as Scheduler sends <aws.scheduler.scheduled-time>: what scheduled runs record."""
    return when.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def plan(pipeline: Pipeline, since: dt.datetime, until: dt.datetime, mode: str,
         runs: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """Each scheduled logical date in [since, until]: run it or skip it (and why), by `mode` and the runs there are."""
    if not pipeline.schedules:
        raise BackfillError(f"'{pipeline.name}' has no schedule: a backfill runs a schedule's logical dates")
    if until < since:
        raise BackfillError(f"end {until.isoformat()} is before start {since.isoformat()}")
    try:
        times = pipeline_fire_times(pipeline, since, until, limit=MAX_DATES)
    except TooManyTimesError as exc:
        raise BackfillError(str(exc)) from None
    latest: dict[dt.datetime, dict[str, Any]] = {}
    for recorded in runs:  # a date's latest run decides (a failed date re-run with success is not failed)
        try:
            when = parse(str(recorded.get("logical_date"))).astimezone(dt.UTC)
        except ValueError:
            continue
        if when not in latest or str(recorded.get("started_at", "")) > str(latest[when].get("started_at", "")):
            latest[when] = recorded
    dates = []
    for scheduled in times:
        run = latest.get(scheduled.time)
        entry = {"logical_date": as_logical(scheduled.time), "schedule": scheduled.schedule, "action": "run",
                 "reason": "requested", "status": run.get("status") if run else None,
                 "id": f"{pipeline.name}:{run['run_id']}" if run else None}
        if mode == "missing" and run is not None:
            entry |= {"action": "skip", "reason": f"has a run ({run.get('status')})"}
        elif mode == "missing":
            entry["reason"] = "no run yet"
        elif mode == "failed" and (run is None or run.get("status") not in FAILED):
            entry |= {"action": "skip", "reason": "no run yet (mode missing runs it)" if run is None
                      else f"its latest run is {run.get('status')}"}
        elif mode == "failed":
            entry["reason"] = f"its latest run {run['status'] if run else ''}".strip()
        dates.append(entry)
    return dates


class Backfills:
    def __init__(self, client: Any, table: str, starts: Starts, runs: RunRecords, *, ttl_days: int = 90,
                 clock: Clock = utc_now) -> None:
        self.client, self.table, self.starts, self.runs = client, table, starts, runs
        self.ttl_days, self.clock = ttl_days, clock

    def create(self, backfill_id: str, pipeline: Pipeline, dates: list[dict[str, Any]], *, start: str, end: str,
               mode: str, max_concurrent: int, params: dict[str, Any],
               principal: str) -> tuple[dict[str, Any], bool]:
        """Record the backfill and start its first runs; (item, created). A repeated create (same id) starts
        whatever its first attempt may not have, and returns the item as it is."""
        now = self.clock()
        chosen = [d for d in dates if d["action"] == "run"]
        item = {"pk": f"BACKFILL#{backfill_id}", "sk": "BACKFILL", "id": backfill_id, "pipeline": pipeline.name,
                "start": start, "end": end, "mode": mode, "max_concurrent": max_concurrent,
                "created_by": principal, "created_at": now,
                "dates": json.dumps(dates), "runs": json.dumps([d["logical_date"] for d in chosen]),
                "schedules": json.dumps([s.params for s in pipeline.schedules]), "params": json.dumps(params),
                "next": min(max_concurrent, len(chosen)), "ended": [], "expires_at": expiry(now, self.ttl_days)}
        created = True
        try:
            self.client.put_item(TableName=self.table, Item=to_item(item),
                                 ConditionExpression="attribute_not_exists(pk)")
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") != "ConditionalCheckFailedException":
                raise
            created = False
            found = self.get(backfill_id)
            assert found is not None
            item = found
        stored = self._parsed(item)
        for index in range(int(stored["next"])):
            self._start(stored, index)
        return stored, created

    def get(self, backfill_id: str) -> dict[str, Any] | None:
        found = self.client.get_item(TableName=self.table, ConsistentRead=True,
                                     Key=to_item({"pk": f"BACKFILL#{backfill_id}", "sk": "BACKFILL"})).get("Item")
        return self._parsed(from_item(found)) if found else None

    def advance(self, backfill_id: str, ended_run: str) -> str:
        """One of the backfill's runs ended: start its next date (once per ended run, however often called)."""
        for _ in range(ADVANCE_TRIES):
            item = self.get(backfill_id)
            if item is None:
                return "no such backfill"
            if ended_run in item["ended"]:
                return "already counted"
            index = int(item["next"])
            started = index < len(item["runs"])
            if started:
                self._start(item, index)
            try:
                self.client.update_item(
                    TableName=self.table, Key=to_item({"pk": item["pk"], "sk": "BACKFILL"}),
                    UpdateExpression="SET #next = :after, ended = list_append(ended, :run)",
                    ConditionExpression="#next = :seen AND NOT contains(ended, :name)",
                    ExpressionAttributeNames={"#next": "next"},
                    ExpressionAttributeValues=to_item({":after": index + 1 if started else index, ":seen": index,
                                                       ":run": [ended_run], ":name": ended_run}))
                return f"started date {index + 1} of {len(item['runs'])}" if started else "nothing left to start"
            except ClientError as exc:
                if exc.response.get("Error", {}).get("Code") != "ConditionalCheckFailedException":
                    raise
        raise RuntimeError(f"backfill {backfill_id}: gave up advancing after {ADVANCE_TRIES} conflicting updates")

    def run_name(self, item: dict[str, Any], index: int) -> str:
        return execution_name("backfill", item["id"], item["runs"][index])

    def _start(self, item: dict[str, Any], index: int) -> None:
        date = item["runs"][index]
        entry = next(d for d in item["dates"] if d["logical_date"] == date)
        params = {**item["schedules"][entry["schedule"]], **item["params"]}
        run_input = {"params": params, "logical_date": date,
                     "trigger": {"type": "backfill", "backfill": item["id"], "by": item["created_by"]}}
        started = self.starts.start(item["pipeline"], self.run_name(item, index), run_input)
        logger.info("backfill run started", backfill=item["id"], logical_date=date, new_run=started.created)

    @staticmethod
    def _parsed(item: dict[str, Any]) -> dict[str, Any]:
        for name in ("dates", "runs", "schedules", "params"):
            if isinstance(item.get(name), str):
                item[name] = json.loads(item[name])
        item["ended"] = list(item.get("ended") or [])
        return item
