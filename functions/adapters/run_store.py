"""The run store on DynamoDB: attempts, task outcomes and gates of a run. Every status change is conditional.

Item layout (pk = RUN#<execution arn>): sk RUN (the run, see runs.py), TASK#<task> (an outcome recorded without a
job: skipped, upstream failed, failed after its last attempt, a foreach's result), TASK#<task>#ITEM#<index> (a
foreach item that failed), TASK#<task>#ATTEMPT#<item>#<retry> (one job), WAIT#<task>#<item>#<retry> (a request parked at
its gate). Everything about one task shares the sort-key prefix TASK#<task>: a dispatch reads only the tasks it
depends on, one Query each, whatever the size of the run.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator
from dataclasses import asdict
from typing import Any

from botocore.exceptions import ClientError

from sluice.run_store_schema import TTL_ATTRIBUTE

from ..runtime.records import ATTEMPT_ENDS, LEGAL_FROM, RUNNING, STARTING, Attempt, RunView, build_view, item_part
from ..runtime.waits import LEASE_SECONDS, Wait, lease_expired
from .clock import Clock, expiry, seconds_between, shifted, utc_now
from .dynamo import from_item, names_in, to_item
from .jobs.base import JobRef
from .wait_store import WaitWrites, run_pk, wait_key

__all__ = ["RunStore", "StoreError", "run_pk", "wait_key"]

_JSON_FIELDS = ("config", "output", "details", "history", "usage", "resumed_from", "answer")


class StoreError(Exception):
    """The run store refused or failed a write (not a lost condition race: those are answered as False/None)."""


def _conflict(exc: ClientError) -> bool:
    return bool(exc.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException")


class RunStore(WaitWrites):
    def __init__(self, client: Any, table: str, *, ttl_days: int = 90, shards: int = 4,
                 clock: Clock = utc_now) -> None:
        self.client, self.table, self.ttl_days, self.shards, self.clock = client, table, ttl_days, shards, clock

    # ---- attempts -------------------------------------------------------------------------------------------

    def claim(self, attempt: Attempt) -> Attempt | None:
        """Record a new attempt (STARTING) unless one with its key exists: None on success, else the existing one."""
        now = self.clock()
        attempt.started_at = attempt.started_at or now
        attempt.history = [{"status": STARTING, "at": now}]
        # The claimer's lease on starting the job: nobody else starts it until it expires (the claimer is dead).
        attempt.lease_until = shifted(now, LEASE_SECONDS)
        try:
            self.client.put_item(TableName=self.table, Item=self._attempt_item(attempt),
                                 ConditionExpression="attribute_not_exists(pk)",
                                 ReturnValuesOnConditionCheckFailure="ALL_OLD")
        except ClientError as exc:
            if _conflict(exc) and "Item" in exc.response:
                return self._attempt(from_item(exc.response["Item"]))
            raise StoreError(f"claiming attempt {attempt.sk} of {attempt.run}: {exc}") from exc
        return None

    def take_over(self, attempt: Attempt, source: Attempt) -> bool:
        """Record, in a resumed run, that `source` (an attempt that succeeded in the original run) stands for this
        attempt: SUCCEEDED at once, with its output and no job. One conditional put; False when it existed."""
        now = self.clock()
        attempt.status, attempt.started_at, attempt.ended_at, attempt.duration_s = "SUCCEEDED", now, now, 0.0
        attempt.output, attempt.config = source.output, source.config
        attempt.resumed_from = {"run": source.run, "attempt": source.sk, "external_id": source.external_id}
        attempt.history = [{"status": "SUCCEEDED", "at": now, "resumed_from": source.run}]
        return self._put_ended(attempt, f"taking over {source.sk} of {source.run}")

    def never_started(self, attempt: Attempt, status: str, reason: str) -> bool:
        """Record an attempt that ended before its job was started (its wait was cancelled: the execution ended or
        its token is gone), so a late delivery of the same request finds it ended and starts nothing. One
        conditional put; False when the attempt existed."""
        now = self.clock()
        attempt.status, attempt.started_at, attempt.ended_at, attempt.duration_s = status, now, now, 0.0
        attempt.error, attempt.history = reason, [{"status": status, "at": now}]
        return self._put_ended(attempt, f"recording {attempt.sk} of {attempt.run} {status}")

    def _put_ended(self, attempt: Attempt, what: str) -> bool:
        """Put an attempt that is already ended: outside the `active` index, with its expiry."""
        item = self._attempt_item(attempt)
        for name in ("active_pk", "active_sk"):
            item.pop(name)
        item[TTL_ATTRIBUTE] = to_item({"t": expiry(self.clock(), self.ttl_days)})["t"]
        return bool(self._conditionally(what, self.client.put_item, Item=item,
                                        ConditionExpression="attribute_not_exists(pk)"))

    def adopt(self, attempt: Attempt, token: str, retry: int, *, launch: bool = False, now: str | None = None) -> bool:
        """Hand an unfinished attempt to a later state attempt (new token) that found it; False if it moved on.
        With `launch`, the adopter also takes over starting the job: only while the claimer's lease has expired
        (the claimer is dead), and with a new lease of its own, so two dispatchers never start one attempt."""
        now = now or self.clock()
        expression = "SET #token = :token, adopted_by = :retry, history = list_append(history, :h)"
        condition = "#token = :old AND #status IN (:starting, :running)"
        values: dict[str, Any] = {":token": token, ":retry": retry, ":old": attempt.token,
                                  ":h": [{"status": f"ADOPTED by retry {retry}", "at": now}]}
        if launch:
            expression += ", lease_until = :until"
            condition += " AND (attribute_not_exists(lease_until) OR lease_until <= :now)"
            values |= {":until": shifted(now, LEASE_SECONDS), ":now": now}
        ok = self._update(attempt, expression, values, condition, {":starting": STARTING, ":running": RUNNING})
        if ok:
            attempt.token, attempt.adopted_by = token, retry
        return bool(ok)

    def take_lease(self, attempt: Attempt, now: str) -> bool:
        """Take over starting a STARTING attempt whose claimer's lease expired (the sweeper's recovery)."""
        ok = self._update(attempt, "SET lease_until = :until", {":until": shifted(now, LEASE_SECONDS), ":now": now},
                          "#status = :starting AND (attribute_not_exists(lease_until) OR lease_until <= :now)",
                          {":starting": STARTING})
        return bool(ok)

    @staticmethod
    def lease_live(attempt: Attempt, now: str) -> bool:
        return not lease_expired(attempt.lease_until, now)

    def mark_running(self, attempt: Attempt, ref: JobRef) -> bool:
        """Record the started job's id; the attempt becomes findable by that id and visible to the sweeper."""
        now = self.clock()
        values: dict[str, Any] = {
            ":running": RUNNING, ":ext": ref.external_id, ":details": json.dumps(ref.details),
            ":job": f"{ref.kind}#{ref.external_id}", ":active": self._shard(attempt), ":since": now,
            ":h": [{"status": RUNNING, "at": now}],
        }
        expression = ("SET #status = :running, external_id = :ext, #details = :details, job_key = :job, "
                      "active_pk = :active, active_sk = :since, history = list_append(history, :h)")
        if ref.log_location:
            expression += ", log_location = :log"
            values[":log"] = ref.log_location
        ok = self._update(attempt, expression, values, "#status = :starting", {":starting": STARTING})
        if ok:
            attempt.status, attempt.external_id, attempt.details = RUNNING, ref.external_id, dict(ref.details)
        return bool(ok)

    def end(self, attempt: Attempt, status: str, *, error: str | None = None, exit_code: int | None = None,
            output: Any = None, event_id: str | None = None, usage: dict[str, Any] | None = None,
            answer: dict[str, Any] | None = None) -> bool:
        """Record the attempt's end once (False when it had already ended: the later event changes nothing).

        `answer` is what its task token is to be told ({"output": ...} or {"error": ..., "cause": ...}). It is kept
        with the end, and the attempt stays in the `active` index, until `delivered`: an answer lost to a throttle
        or a crash after the end is recorded is sent again by the sweeper. Without it (nobody waits for an
        answer: a timed-out or stopped attempt) the attempt leaves the index in this same write."""
        now = self.clock()
        values: dict[str, Any] = {":end": status, ":at": now, ":h": [{"status": status, "at": now}],
                                  ":ttl": expiry(now, self.ttl_days),
                                  ":took": round(seconds_between(attempt.started_at, now), 3)}
        expression = ("SET #status = :end, ended_at = :at, duration_s = :took, history = list_append(history, :h), "
                      f"{TTL_ATTRIBUTE} = :ttl")
        for name, value in (("error", error), ("exit_code", exit_code), ("end_event", event_id)):
            if value is not None:
                expression += f", #{name} = :{name}"
                values[f":{name}"] = value[:4000] if isinstance(value, str) else value
        if output is not None:
            expression += ", #output = :output"
            values[":output"] = json.dumps(output, default=str)
        if usage:
            expression += ", #usage = :usage"
            values[":usage"] = json.dumps(usage)
        if answer is not None:
            expression += ", answer = :answer"
            values[":answer"] = json.dumps(answer, default=str)
        else:
            expression += " REMOVE active_pk, active_sk"
        legal = {f":from{i}": s for i, s in enumerate(LEGAL_FROM[status])}
        stored = self._update(attempt, expression, values, f"#status IN ({', '.join(legal)})", legal, returning=True)
        if stored:
            attempt.status, attempt.ended_at, attempt.error, attempt.output = status, now, error, output
            attempt.end_event, attempt.answer = event_id, answer
            # A retry may have adopted the attempt since the caller read it: answer the token stored now.
            attempt.token = str(stored.get("token", attempt.token))
        return bool(stored)

    def attempt(self, run: str, sk: str) -> Attempt | None:
        found = self.client.get_item(TableName=self.table, Key=to_item({"pk": run_pk(run), "sk": sk}),
                                     ConsistentRead=True).get("Item")
        return self._attempt(from_item(found)) if found else None

    def attempt_by_job(self, kind: str, external_id: str) -> Attempt | None:
        """The attempt that started a job (index reads lag writes by a moment: a miss may be retried)."""
        found = self.client.query(TableName=self.table, IndexName="by_job", KeyConditionExpression="job_key = :k",
                                  ExpressionAttributeValues=to_item({":k": f"{kind}#{external_id}"}))["Items"]
        return self.attempt(from_item(found[0])["run"], from_item(found[0])["sk"]) if found else None

    def delivered(self, attempt: Attempt) -> bool:
        """The ended attempt's answer reached its token (or nobody waits for it any more): it leaves `active`."""
        legal = {f":end{i}": s for i, s in enumerate(ATTEMPT_ENDS)}
        return bool(self._update(attempt, "REMOVE active_pk, active_sk", {},
                                 f"#status IN ({', '.join(legal)}) AND attribute_exists(active_pk)", legal))

    def live(self) -> Iterator[Attempt | Wait]:
        """Everything the sweeper looks after, across every shard: attempts STARTING or RUNNING, ended attempts
        whose answer is not yet delivered, and waits (parked or claimed)."""
        for shard in range(self.shards):
            pages = self.client.get_paginator("query").paginate(
                TableName=self.table, IndexName="active", KeyConditionExpression="active_pk = :p",
                ExpressionAttributeValues=to_item({":p": f"ACTIVE#{shard}"}))
            for page in pages:
                for item in page["Items"]:
                    found = from_item(item)
                    yield self.wait_of(found) if str(found["sk"]).startswith("WAIT#") else self._attempt(found)

    def active(self, started_before: str) -> Iterator[Attempt]:
        """Attempts still STARTING or RUNNING that began before the given time."""
        for found in self.live():
            if isinstance(found, Attempt) and not found.ended and found.started_at < started_before:
                yield found

    # ---- task outcomes ----------------------------------------------------------------------------------------

    def record_task(self, run: str, task: str, status: str, *, error: str | None = None,
                    cause: str | None = None) -> bool:
        """A task's outcome without (or after) its jobs; the first outcome stays (False when one existed)."""
        item = {"pk": run_pk(run), "sk": f"TASK#{task}", "task": task, "status": status, "at": self.clock(),
                TTL_ATTRIBUTE: expiry(self.clock(), self.ttl_days)}
        item |= {k: v[:4000] for k, v in (("error", error), ("cause", cause)) if v}
        return self._put_once(item)

    def record_item_failure(self, run: str, task: str, index: int, error: str | None, cause: str | None) -> bool:
        item = {"pk": run_pk(run), "sk": f"TASK#{task}#ITEM#{item_part(index)}", "task": task, "item_index": index,
                "status": "FAILED", "at": self.clock(), TTL_ATTRIBUTE: expiry(self.clock(), self.ttl_days)}
        item |= {k: v[:4000] for k, v in (("error", error), ("cause", cause)) if v}
        return self._put_once(item)

    def load(self, run: str, tasks: Iterable[str] | None = None) -> RunView:
        """The run, read consistently (the rules decide on it): all of it, or only what concerns `tasks`."""
        if tasks is None:
            return self.view(run, self._query_run(run))
        return self.view(run, (item for task in sorted(set(tasks)) for item in self._query_task(run, task)))

    def items(self, run: str) -> list[dict[str, Any]]:
        """Every item of the run as stored: the run record, task outcomes, attempts, parked requests."""
        return list(self._query_run(run))

    def view(self, run: str, items: Iterable[dict[str, Any]]) -> RunView:
        """Task outcomes, attempts and foreach item failures among a run's items, folded into its RunView."""
        outcomes, attempts, failures = [], [], []
        for item in items:
            parts = item["sk"].split("#", 3)
            if parts[0] != "TASK":
                continue
            if len(parts) == 2:
                outcomes.append(item)
            elif parts[2] == "ATTEMPT":
                attempts.append(self._attempt(item))
            elif parts[2] == "ITEM":
                failures.append(item)
        return build_view(run, outcomes, attempts, failures)

    def ended_tasks(self, run: str, tasks: Iterable[str]) -> set[str]:
        """Which of `tasks` have ended, reading only their outcome and their own (not foreach items') attempts:
        a gate's check costs the same whatever the size of the foreach tasks it waits on."""
        ended = set()
        for task in sorted(set(tasks)):
            items = [*self._query("pk = :pk AND sk = :sk", {":pk": run_pk(run), ":sk": f"TASK#{task}"}),
                     *self._query("pk = :pk AND begins_with(sk, :p)",
                                  {":pk": run_pk(run), ":p": f"TASK#{task}#ATTEMPT#-#"})]
            if self.view(run, items).ended(task):
                ended.add(task)
        return ended

    # ---- helpers -----------------------------------------------------------------------------------------------

    def _query_run(self, run: str, prefix: str = "") -> Iterator[dict[str, Any]]:
        condition = "pk = :pk" + (" AND begins_with(sk, :prefix)" if prefix else "")
        return self._query(condition, {":pk": run_pk(run)} | ({":prefix": prefix} if prefix else {}))

    def _query_task(self, run: str, task: str) -> Iterator[dict[str, Any]]:
        # Task names are [A-Za-z0-9_-], all sorting after '#': between these bounds lie TASK#<task> and
        # TASK#<task>#..., and no other task's items.
        return self._query("pk = :pk AND sk BETWEEN :first AND :last",
                           {":pk": run_pk(run), ":first": f"TASK#{task}", ":last": f"TASK#{task}#~"})

    def _query(self, condition: str, values: dict[str, Any]) -> Iterator[dict[str, Any]]:
        pages = self.client.get_paginator("query").paginate(
            TableName=self.table, KeyConditionExpression=condition, ConsistentRead=True,
            ExpressionAttributeValues=to_item(values))
        for page in pages:
            yield from (from_item(item) for item in page["Items"])

    def _put_once(self, item: dict[str, Any]) -> bool:
        return bool(self._conditionally(f"writing {item['sk']} of {item['pk']}", self.client.put_item,
                                        Item=to_item(item), ConditionExpression="attribute_not_exists(pk)"))

    def _update(self, attempt: Attempt, expression: str, values: dict[str, Any], condition: str,
                condition_values: dict[str, Any], *, returning: bool = False) -> Any:
        """True (or, `returning`, the item as written) when the condition held; False when it did not."""
        extra = {"ReturnValues": "ALL_NEW"} if returning else {}
        return self._conditionally(
            f"updating attempt {attempt.sk} of {attempt.run}", self.client.update_item,
            Key=to_item({"pk": run_pk(attempt.run), "sk": attempt.sk}), UpdateExpression=expression,
            ConditionExpression=condition, ExpressionAttributeNames=names_in(expression, condition),
            ExpressionAttributeValues=to_item(values | condition_values), **extra)

    def _conditionally(self, doing: str, operation: Callable[..., Any], **request: Any) -> Any:
        """A conditional write: False when its condition failed (someone else's write came first); else True, or
        the written item when ReturnValues asked for it."""
        try:
            response = operation(TableName=self.table, **request)
        except ClientError as exc:
            if _conflict(exc):
                return False
            raise StoreError(f"{doing}: {exc}") from exc
        return from_item(response["Attributes"]) if "Attributes" in response else True

    def _shard(self, attempt: Attempt) -> str:
        return f"ACTIVE#{int(attempt.key[:8], 16) % self.shards}"

    def _attempt_item(self, attempt: Attempt) -> dict[str, Any]:
        item = {k: v for k, v in asdict(attempt).items() if v is not None}
        for name in _JSON_FIELDS:
            if name in item and name != "history":
                item[name] = json.dumps(item[name], default=str)
        item |= {"pk": run_pk(attempt.run), "sk": attempt.sk, "active_pk": self._shard(attempt),
                 "active_sk": attempt.started_at}
        return to_item(item)

    @staticmethod
    def _attempt(item: dict[str, Any]) -> Attempt:
        fields: dict[str, Any] = {k: item.get(k) for k in Attempt.__dataclass_fields__
                                  if k in item or k == "item_index"}
        for name in _JSON_FIELDS:
            if isinstance(fields.get(name), str) and name != "history":
                fields[name] = json.loads(fields[name])
        for name in ("retry", "item_index", "timeout", "exit_code", "adopted_by"):
            if fields.get(name) is not None:
                fields[name] = int(fields[name])
        return Attempt(**fields)
