"""Sluice's own EventBridge events (source "sluice"), for incident and chat tools: a run ended, a deadline passed."""

from __future__ import annotations

import json
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from ..events.types import ExecutionEvent
from ..observability import logger

SOURCE = "sluice"
RUN_ENDED = {"SUCCEEDED": "Sluice Run Succeeded", "FAILED": "Sluice Run Failed", "TIMED_OUT": "Sluice Run Failed",
             "ABORTED": "Sluice Run Failed"}
CAUSE_LIMIT = 4_000  # an EventBridge entry holds 256 KB; a cause can be a whole stack trace


class Notices:
    def __init__(self, client: Any, bus: str = "default") -> None:
        self.client, self.bus = client, bus

    def deadline_missed(self, pipeline: str, deadline: str, runs: list[dict[str, Any]]) -> bool:
        """Announce that no run of the pipeline had succeeded by its deadline (and which runs there were)."""
        detail = {"pipeline": pipeline, "deadline": deadline,
                  "runs": [{"run_id": r.get("run_id"), "status": r.get("status"), "started_at": r.get("started_at")}
                           for r in runs]}
        return self._put("Sluice Deadline Missed", detail, [], pipeline=pipeline, deadline=deadline)

    def run_ended(self, event: ExecutionEvent, pipeline: str) -> bool:
        """Announce a run's end once it is recorded. False when EventBridge refused it (after botocore's retries):
        the run record stands, and the refusal is logged for the alarm on the function's errors to catch."""
        if event.status not in RUN_ENDED:
            return False
        detail = {"pipeline": pipeline, "run_id": event.name, "status": event.status,
                  "execution_arn": event.execution_arn, "started_at": event.start_date,
                  "ended_at": event.stop_date or event.time, "error": event.error,
                  "cause": (event.cause or "")[:CAUSE_LIMIT] or None}
        return self._put(RUN_ENDED[event.status], detail, [event.execution_arn], pipeline=pipeline, run_id=event.name)

    def _put(self, detail_type: str, detail: dict[str, Any], resources: list[str], **about: str) -> bool:
        entry = {"Source": SOURCE, "DetailType": detail_type, "Detail": json.dumps(detail), "EventBusName": self.bus,
                 "Resources": resources}
        try:
            response = self.client.put_events(Entries=[entry])
        except (ClientError, BotoCoreError) as exc:
            logger.error(f"could not announce: {detail_type}", extra={"error": str(exc), **about})
            return False
        if response.get("FailedEntryCount"):
            logger.error(f"EventBridge refused: {detail_type}", extra={"entries": response.get("Entries"), **about})
            return False
        return True
