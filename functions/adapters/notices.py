"""Sluice's own EventBridge events (source "sluice"), for incident and chat tools: a run ended."""

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

    def run_ended(self, event: ExecutionEvent, pipeline: str) -> bool:
        """Announce a run's end once it is recorded. False when EventBridge refused it (after botocore's retries):
        the run record stands, and the refusal is logged for the alarm on the function's errors to catch."""
        if event.status not in RUN_ENDED:
            return False
        detail = {"pipeline": pipeline, "run_id": event.name, "status": event.status,
                  "execution_arn": event.execution_arn, "started_at": event.start_date,
                  "ended_at": event.stop_date or event.time, "error": event.error,
                  "cause": (event.cause or "")[:CAUSE_LIMIT] or None}
        entry = {"Source": SOURCE, "DetailType": RUN_ENDED[event.status], "Detail": json.dumps(detail),
                 "EventBusName": self.bus, "Resources": [event.execution_arn]}
        try:
            response = self.client.put_events(Entries=[entry])
        except (ClientError, BotoCoreError) as exc:
            logger.error("could not announce the run's end", pipeline=pipeline, run_id=event.name, error=str(exc))
            return False
        if response.get("FailedEntryCount"):
            logger.error("EventBridge refused the run's end", pipeline=pipeline, run_id=event.name,
                         entries=response.get("Entries"))
            return False
        return True
