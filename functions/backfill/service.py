"""Backfills: a pipeline's scheduled logical dates between two times, run at most N at a time, recorded.

A backfill is one item (pk BACKFILL#<id>) holding its dates, how many have been started (`next`), which of its
runs have ended, and the dates whose StartExecution failed (`failed`: date -> error). The first N runs start with it;
each run's end (the record function, after recording that end) starts the next date. A run is named from
(backfill, date), so a repeated start is the same run; the start comes before the conditional update that counts
it, so a crash in between is repeated, never lost, and an end is counted once (`ended`). A failed start is counted
too, and kept in `failed` until a retry starts it: every run end, a repeated POST of the backfill and
`retry_failed_starts` (periodic; it reads the BACKFILL#RETRY partition, one item per backfill with failures) retry
them. Every write refreshes the item's expiry.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from sluice.schedule_times import TooManyTimesError, pipeline_fire_times
from sluice.spec import Pipeline

from ..adapters.clock import Clock, expiry, parse, utc_now
from ..adapters.dynamo import from_item, to_item
from ..adapters.runs import RunRecords
from ..adapters.starts import NotSameRunError, Starts, execution_name
from ..observability import logger

MAX_DATES = 1000  # dates in one backfill: ask for a shorter range beyond
FAILED = frozenset({"FAILED", "TIMED_OUT", "ABORTED"})
ADVANCE_TRIES = 20
RETRY_PK = "BACKFILL#RETRY"  # sk: the id of a backfill with failed starts


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
        whatever its first attempt may not have, retries its failed starts, and returns the item."""
        now = self.clock()
        chosen = [d for d in dates if d["action"] == "run"]
        item = {"pk": f"BACKFILL#{backfill_id}", "sk": "BACKFILL", "id": backfill_id, "pipeline": pipeline.name,
                "start": start, "end": end, "mode": mode, "max_concurrent": max_concurrent,
                "created_by": principal, "created_at": now,
                "dates": json.dumps(dates), "runs": json.dumps([d["logical_date"] for d in chosen]),
                "schedules": json.dumps([s.params for s in pipeline.schedules]), "params": json.dumps(params),
                "next": min(max_concurrent, len(chosen)), "ended": [], "failed": "{}",
                "expires_at": expiry(now, self.ttl_days)}
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
        self._start_claimed(stored, range(int(stored["next"])))
        return stored, created

    def get(self, backfill_id: str) -> dict[str, Any] | None:
        found = self.client.get_item(TableName=self.table, ConsistentRead=True,
                                     Key=to_item({"pk": f"BACKFILL#{backfill_id}", "sk": "BACKFILL"})).get("Item")
        return self._parsed(from_item(found)) if found else None

    def advance(self, backfill_id: str, ended_run: str) -> str:
        """One of the backfill's runs ended: start its next date (once per ended run, however often called), and
        retry the dates whose start failed."""
        for _ in range(ADVANCE_TRIES):
            item = self.get(backfill_id)
            if item is None:
                return "no such backfill"
            if ended_run in item["ended"]:
                return f"already counted; {self._retry(item)}"
            index = int(item["next"])
            started = index < len(item["runs"])
            error = self._start(item, index) if started else None
            failed = item["failed"] | ({item["runs"][index]: error} if error else {})
            if error:
                self._mark_retry(backfill_id)  # before the failure: a crash in between leaves an empty mark
            try:
                self.client.update_item(
                    TableName=self.table, Key=to_item({"pk": item["pk"], "sk": "BACKFILL"}),
                    UpdateExpression="SET #next = :after, ended = list_append(ended, :run), failed = :failed, "
                                     "expires_at = :expires",
                    ConditionExpression="#next = :seen AND NOT contains(ended, :name)",
                    ExpressionAttributeNames={"#next": "next"},
                    ExpressionAttributeValues=to_item({":after": index + 1 if started else index, ":seen": index,
                                                       ":run": [ended_run], ":name": ended_run,
                                                       ":failed": json.dumps(failed), ":expires": self._expiry()}))
            except ClientError as exc:
                if exc.response.get("Error", {}).get("Code") != "ConditionalCheckFailedException":
                    raise
                continue
            if not started:
                outcome = "nothing left to start"
            else:
                outcome = f"{'failed to start' if error else 'started'} date {index + 1} of {len(item['runs'])}"
            item |= {"next": index + 1 if started else index, "failed": failed, "failed_json": json.dumps(failed)}
            return f"{outcome}; {self._retry(item, skip=item['runs'][index] if error else None)}"
        raise RuntimeError(f"backfill {backfill_id}: gave up advancing after {ADVANCE_TRIES} conflicting updates")

    def retry_failed_starts(self) -> dict[str, int]:
        """Retry every backfill's failed starts (the periodic path: no run end may be left to retry them);
        {backfill id: dates started} for each backfill that had some."""
        outcome: dict[str, int] = {}
        pages = self.client.get_paginator("query").paginate(
            TableName=self.table, KeyConditionExpression="pk = :pk", ConsistentRead=True,
            FilterExpression="attribute_exists(#pending)", ExpressionAttributeNames={"#pending": "pending"},
            ExpressionAttributeValues=to_item({":pk": RETRY_PK}))
        for page in pages:
            for marked in page["Items"]:
                backfill_id = from_item(marked)["sk"]
                item = self.get(backfill_id)
                if item is None or not item["failed"]:
                    self._unmark_retry(backfill_id)
                    continue
                before = set(item["failed"])
                after = self._start_claimed(item, [item["runs"].index(d) for d in before if d in item["runs"]])
                outcome[backfill_id] = len(before - set(after))
        return outcome

    def run_name(self, item: dict[str, Any], index: int) -> str:
        return execution_name("backfill", item["id"], item["runs"][index])

    def _retry(self, item: dict[str, Any], skip: str | None = None) -> str:
        dates = [d for d in item["failed"] if d != skip and d in item["runs"]]
        if not dates:
            return "no failed start to retry"
        left = self._start_claimed(item, [item["runs"].index(d) for d in dates])
        return f"retried {len(dates)} failed start(s), {len(set(dates) - set(left))} started"

    def _start_claimed(self, item: dict[str, Any], indexes: Iterable[int]) -> dict[str, str]:
        """(Re)start these claimed dates and keep which failed on the item; the failed dates after, with errors."""
        for _ in range(ADVANCE_TRIES):
            failed = dict(item["failed"])
            for index in indexes:
                error = self._start(item, index)
                if error:
                    failed[item["runs"][index]] = error
                else:
                    failed.pop(item["runs"][index], None)
            if failed == item["failed"] and failed:
                return failed
            if failed:
                self._mark_retry(item["id"])
            seen = item.get("failed_json")
            try:
                self.client.update_item(
                    TableName=self.table, Key=to_item({"pk": item["pk"], "sk": "BACKFILL"}),
                    UpdateExpression="SET failed = :failed, expires_at = :expires",
                    ConditionExpression="failed = :seen" if seen is not None else "attribute_not_exists(failed)",
                    ExpressionAttributeValues=to_item({":failed": json.dumps(failed), ":expires": self._expiry(),
                                                       ":seen": seen}))
            except ClientError as exc:
                if exc.response.get("Error", {}).get("Code") != "ConditionalCheckFailedException":
                    raise
                found = self.get(item["id"])  # another writer changed the failures: apply these to theirs
                assert found is not None
                item = found
                continue
            if not failed:
                self._unmark_retry(item["id"])
            return failed
        raise RuntimeError(f"backfill {item['id']}: gave up recording its starts after {ADVANCE_TRIES} conflicts")

    def _start(self, item: dict[str, Any], index: int) -> str | None:
        """Start the date's run (a repeated start is the same run); why it failed, or None."""
        date = item["runs"][index]
        entry = next(d for d in item["dates"] if d["logical_date"] == date)
        params = {**item["schedules"][entry["schedule"]], **item["params"]}
        run_input = {"params": params, "logical_date": date,
                     "trigger": {"type": "backfill", "backfill": item["id"], "by": item["created_by"]}}
        try:
            started = self.starts.start(item["pipeline"], self.run_name(item, index), run_input)
        except (ClientError, BotoCoreError, NotSameRunError) as exc:
            error = f"StartExecution failed at {self.clock()}: {type(exc).__name__}: {exc}"[:1000]
            logger.warning("backfill run not started; it is retried", backfill=item["id"], logical_date=date,
                           error=error)
            return error
        logger.info("backfill run started", backfill=item["id"], logical_date=date, new_run=started.created)
        return None

    # The marks are written with UpdateItem only: the record function's role may get, query and update, no more.
    def _mark_retry(self, backfill_id: str) -> None:
        self.client.update_item(TableName=self.table, Key=to_item({"pk": RETRY_PK, "sk": backfill_id}),
                                UpdateExpression="SET #pending = :yes, expires_at = :expires",
                                ExpressionAttributeNames={"#pending": "pending"},
                                ExpressionAttributeValues=to_item({":yes": True, ":expires": self._expiry()}))

    def _unmark_retry(self, backfill_id: str) -> None:
        try:  # cleared, and left to expire at once (TTL deletes it)
            self.client.update_item(TableName=self.table, Key=to_item({"pk": RETRY_PK, "sk": backfill_id}),
                                    UpdateExpression="REMOVE #pending SET expires_at = :now",
                                    ConditionExpression="attribute_exists(pk)",
                                    ExpressionAttributeNames={"#pending": "pending"},
                                    ExpressionAttributeValues=to_item({":now": expiry(self.clock(), 0)}))
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") != "ConditionalCheckFailedException":
                raise

    def _expiry(self) -> int:
        return expiry(self.clock(), self.ttl_days)

    @staticmethod
    def _parsed(item: dict[str, Any]) -> dict[str, Any]:
        for name in ("dates", "runs", "schedules", "params"):
            if isinstance(item.get(name), str):
                item[name] = json.loads(item[name])
        if isinstance(item.get("failed"), str):  # kept as read: writes of it are conditional on it unchanged
            item["failed_json"] = item["failed"]
            item["failed"] = json.loads(item["failed"])
        item["failed"] = dict(item.get("failed") or {})
        item["ended"] = list(item.get("ended") or [])
        return item
