"""Asynchronous Lambda invocations (InvocationType Event); the result comes back through the function's
destinations as an EventBridge event that names the invoke's request id.

Lambda offers no idempotency token and no way to find an invocation afterwards: the dispatcher's claim in the
run store is what keeps a key from invoking twice. The payload is sent as given, without keys of Sluice's own.
"""

from __future__ import annotations

import json
from typing import Any

from .base import JobRef, JobStart, JobState
from .errors import translated


class LambdaAdapter:
    kind = "lambda"

    def __init__(self, client: Any) -> None:
        self.client = client

    def start(self, job: JobStart) -> JobRef:
        function = job.config["function"]
        payload = json.dumps(job.config.get("payload", {}), separators=(",", ":")).encode()
        with translated(f"Lambda: invoke function '{function}' asynchronously"):
            response = self.client.invoke(FunctionName=function, InvocationType="Event", Payload=payload)
        # The destination event's requestContext.requestId is this invoke's request id.
        return JobRef(self.kind, response["ResponseMetadata"]["RequestId"], {"function": function})

    def find(self, job: JobStart) -> JobRef | None:
        """Always None: an asynchronous invocation cannot be looked up (the dispatcher's claim guards it)."""
        return None

    def describe(self, ref: JobRef) -> JobState:
        """Always RUNNING: Lambda has no API to ask about an asynchronous invocation. Its end arrives as an event,
        or the task's timeout ends the attempt."""
        return JobState("RUNNING")

    def stop(self, ref: JobRef, reason: str) -> None:
        """Nothing to do: an invocation cannot be stopped; it runs to its end or the function's timeout."""
