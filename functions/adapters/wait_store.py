"""The run store's waits (functions/runtime/waits.py): each transition is one conditional write.

A wait item: pk RUN#<execution arn>, sk WAIT#<task>#<item or ->#<retry>, the parked request, its state and
lease, and the `active` index attributes (active_pk = ACTIVE#<shard>, active_sk = WAIT#<parked at>) so the
sweeper sees every wait, parked or claimed, until it is done or cancelled.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from typing import Any

from sluice.run_store_schema import TTL_ATTRIBUTE

from ..runtime.records import item_part
from ..runtime.waits import CLAIMED, PARKED, Wait, lease_until
from .clock import Clock, expiry
from .dynamo import to_item


def run_pk(execution_id: str) -> str:
    return f"RUN#{execution_id}"


def wait_key(task: str, item_index: int | None, retry: int) -> str:
    """The sort key of a parked request: one per task, foreach item and state attempt."""
    return f"WAIT#{task}#{item_part(item_index)}#{retry:04d}"


class WaitWrites:
    """Mixed into RunStore: it provides the client, the table, the clock and the conditional-write helper."""

    client: Any
    table: str
    ttl_days: int
    shards: int
    clock: Clock
    _conditionally: Callable[..., Any]
    _query_run: Callable[..., Any]

    def park(self, run: str, task: str, item_index: int | None, retry: int, request: dict[str, Any],
             kind: str = "gate") -> bool:
        """Hold a request until its condition holds (False: this state attempt's request is parked already; a
        retry, after the state timed out waiting, parks its own)."""
        now, sk = self.clock(), wait_key(task, item_index, retry)
        shard = int(hashlib.sha256(f"{run}|{sk}".encode()).hexdigest()[:8], 16) % self.shards
        item = {"pk": run_pk(run), "sk": sk, "kind": kind, "state": PARKED, "request": json.dumps(request),
                "at": now, "active_pk": f"ACTIVE#{shard}", "active_sk": f"WAIT#{now}",
                TTL_ATTRIBUTE: expiry(now, self.ttl_days)}
        return bool(self._conditionally(f"parking {sk} of {run}", self.client.put_item, Item=to_item(item),
                                        ConditionExpression="attribute_not_exists(pk)"))

    def waits(self, run: str) -> list[Wait]:
        """The run's waits, parked or claimed (consistent)."""
        return [self.wait_of(item) for item in self._query_run(run, "WAIT#")]

    def claim_wait(self, wait: Wait, holder: str, now: str | None = None) -> bool:
        """PARKED (or CLAIMED with an expired lease) -> CLAIMED by `holder`: exactly one caller gets True, and
        only that one proceeds with the request. The wait stays until `finish_wait`, so a holder that dies
        leaves a claim the sweeper (or the next release) takes over once its lease expires."""
        now = now or self.clock()
        ok = self._conditionally(
            f"claiming {wait.sk} of {wait.run}", self.client.update_item,
            Key=to_item({"pk": run_pk(wait.run), "sk": wait.sk}),
            UpdateExpression="SET #state = :claimed, lease_until = :until, holder = :holder",
            ConditionExpression="#state = :parked OR (#state = :claimed AND lease_until <= :now)",
            ExpressionAttributeNames={"#state": "state"},
            ExpressionAttributeValues=to_item({":claimed": CLAIMED, ":parked": PARKED, ":now": now,
                                               ":until": lease_until(now), ":holder": holder}))
        if ok:
            wait.state, wait.lease_until, wait.holder = CLAIMED, lease_until(now), holder
        return bool(ok)

    def finish_wait(self, wait: Wait, holder: str | None = None) -> bool:
        """DONE (the holder proceeded) or CANCELLED (`holder` None: its execution ended): the item goes."""
        condition = {"ConditionExpression": "holder = :holder",
                     "ExpressionAttributeValues": to_item({":holder": holder})} if holder else {
                         "ConditionExpression": "attribute_exists(pk)"}
        return bool(self._conditionally(f"finishing {wait.sk} of {wait.run}", self.client.delete_item,
                                        Key=to_item({"pk": run_pk(wait.run), "sk": wait.sk}), **condition))

    @staticmethod
    def wait_of(item: dict[str, Any]) -> Wait:
        run = str(item["pk"]).removeprefix("RUN#")
        return Wait(run=run, sk=item["sk"], kind=str(item.get("kind", "gate")), request=json.loads(item["request"]),
                    state=str(item.get("state", PARKED)), parked_at=str(item.get("at", "")),
                    lease_until=item.get("lease_until"), holder=item.get("holder"))
