"""Run items (sk RUN): one per execution, kept by the record function from execution status events."""

from __future__ import annotations

import json
from typing import Any

from botocore.exceptions import ClientError

from sluice.run_store_schema import TTL_ATTRIBUTE

from ..events.types import ExecutionEvent
from .clock import Clock, expiry, utc_now
from .dynamo import from_item, names_in, to_item
from .run_store import StoreError, run_pk

ENDS = ("SUCCEEDED", "FAILED", "TIMED_OUT", "ABORTED")
BATCH_GET = 100  # keys in one BatchGetItem
# The legal changes of a run's status; anything else is a late or repeated event and changes nothing.
RUN_LEGAL_FROM: dict[str, tuple[str, ...]] = {"RUNNING": ("PENDING_REDRIVE",),
                                              **{end: ("RUNNING", "PENDING_REDRIVE") for end in ENDS},
                                              "PENDING_REDRIVE": ENDS}


class RunRecords:
    def __init__(self, client: Any, table: str, *, ttl_days: int = 90, clock: Clock = utc_now) -> None:
        self.client, self.table, self.ttl_days, self.clock = client, table, ttl_days, clock

    def record(self, event: ExecutionEvent, pipeline: str, config_hash: str) -> bool:
        """Apply an execution's status change. False when the stored status is already later (nothing regresses)."""
        run_input = event.input if isinstance(event.input, dict) else {}
        started = event.start_date or event.time
        facts: dict[str, Any] = {
            "pipeline": pipeline, "run_id": event.name, "execution_arn": event.execution_arn,
            "state_machine_arn": event.state_machine_arn, "started_at": started, "config_hash": config_hash,
            "params": json.dumps(run_input.get("params", {})), "logical_date": run_input.get("logical_date") or started,
            "trigger": json.dumps(run_input.get("trigger", {"type": "manual"})),
            "pipeline_pk": f"PIPELINE#{pipeline}", "pipeline_sk": f"{started}#{event.name}",
        }
        facts["logical_sk"] = f"{facts['logical_date']}#{event.name}"
        if run_input.get("resume_of"):
            facts["resume_of"] = run_input["resume_of"]
        # Facts about the run are set once, whichever event arrives first.
        sets = [f"#{name} = if_not_exists(#{name}, :{name})" for name in facts]
        values = {f":{name}": value for name, value in facts.items()}
        status_sets = ["#status = :status", "#status_pk = :status_pk", "#status_sk = :status_sk", "#updated_at = :now"]
        values |= {":status": event.status, ":status_pk": f"STATUS#{event.status}",
                   ":status_sk": f"{started}#{event.name}", ":now": self.clock()}
        if event.status in ENDS:
            status_sets += ["#ended_at = :ended", f"#{TTL_ATTRIBUTE} = :ttl"]
            values |= {":ended": event.stop_date or event.time, ":ttl": expiry(self.clock(), self.ttl_days)}
            for name in ("error", "cause", "output"):
                value = getattr(event, name)
                if value is not None:
                    status_sets.append(f"#{name} = :{name}")
                    values[f":{name}"] = (value if isinstance(value, str) else json.dumps(value))[:32_000]
        legal = {f":from{i}": s for i, s in enumerate(RUN_LEGAL_FROM[event.status])}
        try:
            self._update(event, sets + status_sets, values | legal,
                         f"attribute_not_exists(#status) OR #status IN ({', '.join(legal)})")
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") != "ConditionalCheckFailedException":
                raise StoreError(f"recording run {event.execution_arn}: {exc}") from exc
            self._update(event, sets, {f":{name}": value for name, value in facts.items()}, None)
            return False
        return True

    def annotate(self, execution_arn: str, **fields: Any) -> None:
        """Set facts about a run that the run API keeps (cancelled, resumed_by); the item may not exist yet."""
        sets = ", ".join(f"#{name} = :{name}" for name in fields)
        self.client.update_item(
            TableName=self.table, Key=to_item({"pk": run_pk(execution_arn), "sk": "RUN"}),
            UpdateExpression=f"SET {sets}",
            ExpressionAttributeNames={f"#{name}": name for name in fields},
            ExpressionAttributeValues=to_item({f":{name}": json.dumps(value) if isinstance(value, dict) else value
                                               for name, value in fields.items()}))

    def page(self, pipeline: str, *, since: str, until: str, status: str | None, limit: int,
             after: dict[str, Any] | None) -> tuple[list[dict[str, Any]], dict[str, Any] | None]:
        """One page of the pipeline's runs, newest first, started in [since, until]; and where the next begins."""
        request: dict[str, Any] = {
            "TableName": self.table, "IndexName": "by_pipeline", "ScanIndexForward": False,
            "KeyConditionExpression": "pipeline_pk = :pk AND pipeline_sk BETWEEN :since AND :until",
            "ExpressionAttributeValues": {":pk": f"PIPELINE#{pipeline}", ":since": since, ":until": f"{until}~"}}
        if status:
            request |= {"FilterExpression": "#status = :status", "ExpressionAttributeNames": {"#status": "status"}}
            request["ExpressionAttributeValues"][":status"] = status
        request["ExpressionAttributeValues"] = to_item(request["ExpressionAttributeValues"])
        found: list[dict[str, Any]] = []
        start = to_item(after) if after else None
        while True:
            response = self.client.query(**request, Limit=limit, **({"ExclusiveStartKey": start} if start else {}))
            for item in response["Items"]:
                found.append(self.parsed(from_item(item)))
                if len(found) == limit:
                    last = found[-1]
                    return found, {k: last[k] for k in ("pk", "sk", "pipeline_pk", "pipeline_sk")}
            start = response.get("LastEvaluatedKey")
            if not start:
                return found, None

    def by_logical_date(self, pipeline: str, since: str, until: str) -> list[dict[str, Any]]:
        """The pipeline's runs whose logical dates fall in [since, until], oldest date first."""
        return [self.parsed(run) for run in self._between("by_logical_date", "logical_sk", pipeline, since, until)]

    def set_cost(self, execution_arn: str, cost: dict[str, Any]) -> None:
        """Keep the run's cost on its item (recomputed, and replaced, when a redriven run ends again)."""
        self.client.update_item(
            TableName=self.table, Key=to_item({"pk": run_pk(execution_arn), "sk": "RUN"}),
            UpdateExpression="SET #cost = :cost", ConditionExpression="attribute_exists(pk)",
            ExpressionAttributeNames={"#cost": "cost"}, ExpressionAttributeValues=to_item({":cost": json.dumps(cost)}))

    def get(self, execution_arn: str) -> dict[str, Any] | None:
        found = self.client.get_item(TableName=self.table, Key=to_item({"pk": run_pk(execution_arn), "sk": "RUN"}),
                                     ConsistentRead=True).get("Item")
        if not found:
            return None
        return self.parsed(from_item(found))

    def statuses(self, execution_arns: list[str]) -> dict[str, str]:
        """The recorded status of each of these runs (absent: not recorded yet), read 100 at a time."""
        found: dict[str, str] = {}
        for start in range(0, len(execution_arns), BATCH_GET):
            keys = [to_item({"pk": run_pk(arn), "sk": "RUN"}) for arn in execution_arns[start:start + BATCH_GET]]
            request: dict[str, Any] = {self.table: {"Keys": keys, "ProjectionExpression": "pk, #status",
                                                    "ExpressionAttributeNames": {"#status": "status"}}}
            while request:
                response = self.client.batch_get_item(RequestItems=request)
                for item in response["Responses"].get(self.table, []):
                    run = from_item(item)
                    if "status" in run:
                        found[run["pk"].removeprefix("RUN#")] = run["status"]
                request = response.get("UnprocessedKeys") or {}
        return found

    @staticmethod
    def parsed(run: dict[str, Any]) -> dict[str, Any]:
        """A run item as stored, with its JSON attributes read back."""
        for name in ("params", "trigger", "cost", "cancelled"):
            if isinstance(run.get(name), str):
                run[name] = json.loads(run[name])
        return run

    def _update(self, event: ExecutionEvent, sets: list[str], values: dict[str, Any], condition: str | None) -> None:
        expression = "SET " + ", ".join(sets)
        request: dict[str, Any] = {
            "TableName": self.table, "Key": to_item({"pk": run_pk(event.execution_arn), "sk": "RUN"}),
            "UpdateExpression": expression, "ExpressionAttributeValues": to_item(values),
            "ExpressionAttributeNames": names_in(expression, condition or "")}
        if condition:
            request["ConditionExpression"] = condition
        self.client.update_item(**request)

    def started_between(self, pipeline: str, since: str, until: str) -> list[dict[str, Any]]:
        """The pipeline's runs that started in [since, until] (index by_pipeline), oldest first."""
        return self._between("by_pipeline", "pipeline_sk", pipeline, since, until)

    def _between(self, index: str, sort_key: str, pipeline: str, since: str, until: str) -> list[dict[str, Any]]:
        """A pipeline's run items on one of its indexes whose sort key lies in [since, until] (`until` a prefix)."""
        items: list[dict[str, Any]] = []
        for page in self.client.get_paginator("query").paginate(
                TableName=self.table, IndexName=index,
                KeyConditionExpression=f"pipeline_pk = :pk AND {sort_key} BETWEEN :since AND :until",
                ExpressionAttributeValues=to_item({":pk": f"PIPELINE#{pipeline}", ":since": since,
                                                   ":until": f"{until}~"})):
            items += [from_item(item) for item in page["Items"]]
        return items
