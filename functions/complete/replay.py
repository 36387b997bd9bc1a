"""Replay a Sluice dead-letter queue: `python -m functions.complete.replay QUEUE_URL [--limit N]`.

Each message is an event that failed every retry: Lambda's record of a failed asynchronous invocation (its
requestPayload is the event, requestContext.functionArn the function) or an event a rule could not deliver (the
body is the event, the TARGET_ARN attribute the function). Each is invoked again, synchronously, on its function;
a message is deleted only once that invocation succeeded, so a failed replay stays in the queue.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable
from typing import Any

import boto3

Deliver = Callable[[str, Any], None]  # (function ARN or name, event); raises when the invocation failed


class ReplayError(Exception):
    """A message whose function could not be told, or whose invocation failed again."""


def origin(message: dict[str, Any]) -> tuple[str, Any]:
    """(function, event) of a dead-lettered message."""
    body = json.loads(message["Body"])
    if isinstance(body, dict) and "requestContext" in body and "requestPayload" in body:
        return str(body["requestContext"]["functionArn"]).removesuffix(":$LATEST"), body["requestPayload"]
    target = message.get("MessageAttributes", {}).get("TARGET_ARN", {}).get("StringValue")
    if not target:
        raise ReplayError(f"message {message['MessageId']}: neither a Lambda invocation record nor an "
                          "EventBridge dead letter (no TARGET_ARN attribute): cannot tell which function it was for")
    return str(target), body


def replay(queue_url: str, deliver: Deliver, *, sqs: Any, limit: int = 1000) -> dict[str, int]:
    """Redeliver up to `limit` messages; returns how many were replayed and how many failed (and stay)."""
    done = {"replayed": 0, "failed": 0}
    while done["replayed"] + done["failed"] < limit:
        messages = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=0,
                                       MessageAttributeNames=["All"], VisibilityTimeout=60).get("Messages", [])
        if not messages:
            break
        for message in messages:
            try:
                deliver(*origin(message))
            except Exception as exc:  # one bad message must not stop the others; it stays queued
                print(f"kept {message['MessageId']}: {exc}")
                done["failed"] += 1
                continue
            sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])
            done["replayed"] += 1
    return done


def invoke_with(lambda_client: Any) -> Deliver:
    """Deliver by invoking the function synchronously: a function error is a failed replay."""
    def deliver(function: str, event: Any) -> None:
        response = lambda_client.invoke(FunctionName=function, InvocationType="RequestResponse",
                                        Payload=json.dumps(event).encode())
        if response.get("FunctionError"):
            raise ReplayError(f"{function} failed again: {response['Payload'].read().decode()[:500]}")
    return deliver


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("queue_url")
    parser.add_argument("--limit", type=int, default=1000)
    args = parser.parse_args(argv)
    done = replay(args.queue_url, invoke_with(boto3.client("lambda")), sqs=boto3.client("sqs"), limit=args.limit)
    print(json.dumps(done))
    return 0 if done["failed"] == 0 else 1


if __name__ == "__main__":
    raise SystemExit(main())
