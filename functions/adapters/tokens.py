"""Answers to waiting Task states (SendTaskSuccess / SendTaskFailure / SendTaskHeartbeat)."""

from __future__ import annotations

import json
from typing import Any

from botocore.exceptions import ClientError

# The state is no longer waiting for this token: answered already, timed out, or its execution ended.
_GONE = {"TaskTimedOut", "TaskDoesNotExist", "InvalidToken"}


class TokenGoneError(Exception):
    """The token was answered before, or its state timed out or ended: nobody is waiting for this answer."""


class Tokens:
    def __init__(self, client: Any) -> None:
        self.client = client

    def succeed(self, token: str, output: Any) -> None:
        self._send("send_task_success", taskToken=token, output=json.dumps(output, default=str)[:256_000])

    def fail(self, token: str, error: str, cause: str) -> None:
        self._send("send_task_failure", taskToken=token, error=error[:256], cause=cause[:32_768])

    def heartbeat(self, token: str) -> None:
        self._send("send_task_heartbeat", taskToken=token)

    def _send(self, operation: str, **kwargs: Any) -> None:
        try:
            getattr(self.client, operation)(**kwargs)
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in _GONE:
                raise TokenGoneError(f"{operation}: {exc.response['Error'].get('Message', exc)}") from exc
            raise
