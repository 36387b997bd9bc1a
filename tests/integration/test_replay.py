"""Replaying the dead-letter queue (functions/complete/replay.py) on moto: each message goes back to its function's
handler, and is deleted only once that succeeded."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from functions.complete import replay
from tests.support.runtime import EXECUTION, FakeJobs, LambdaContext, client, installed, moto_runtime, request

EVENTS = Path(__file__).resolve().parents[1] / "events"
COMPLETE = "arn:aws:lambda:eu-west-1:123456789012:function:sluice-dev-complete"


def glue_end(job: str, time: str) -> dict[str, Any]:
    event: dict[str, Any] = json.loads((EVENTS / "glue_job_succeeded.json").read_text())
    event["detail"]["jobRunId"], event["time"] = job, time
    return event


def failed_invocation(event: dict[str, Any]) -> str:
    """Lambda's record of an asynchronous invocation of complete that failed every retry (its on-failure queue)."""
    return json.dumps({"version": "1.0", "timestamp": "2025-03-14T08:30:00.000Z",
                       "requestContext": {"requestId": "r-1", "functionArn": f"{COMPLETE}:$LATEST",
                                          "condition": "RetriesExhausted", "approximateInvokeCount": 3},
                       "requestPayload": event, "responseContext": {"statusCode": 200, "functionError": "Unhandled"},
                       "responsePayload": {"errorType": "AttemptNotFoundYetError"}})


def test_replay_redelivers_each_dead_letter_and_deletes_only_what_succeeded() -> None:
    from functions.complete.handler import handler

    with moto_runtime() as rt, installed(rt):
        # GIVEN a running Glue attempt whose end event, and another for a job no attempt names, were dead-lettered
        rt.jobs["glue"] = jobs = FakeJobs(kind="glue")
        rt.dispatcher.handle(request(kind="glue"))
        now = rt.completer.clock()
        sqs = client("sqs")
        queue = sqs.create_queue(QueueName="sluice-dev-dead-letters")["QueueUrl"]
        sqs.send_message(QueueUrl=queue, MessageBody=failed_invocation(glue_end(next(iter(jobs.jobs)), now)))
        sqs.send_message(QueueUrl=queue, MessageBody=json.dumps(glue_end("job-404", now)), MessageAttributes={
            "TARGET_ARN": {"DataType": "String", "StringValue": COMPLETE}})  # as a rule's dead letter
        delivered: list[str] = []

        def deliver(function: str, event: Any) -> None:
            delivered.append(function)
            handler(event, LambdaContext())  # raises for the unknown job: still not recorded

        # WHEN the queue is replayed
        done = replay.replay(queue, deliver, sqs=sqs)
        # THEN both went back to complete; the known job's end is recorded and its message deleted, the other stays
        assert delivered == [COMPLETE, COMPLETE] and done == {"replayed": 1, "failed": 1}
        [attempt] = rt.store.load(EXECUTION).attempts
        assert attempt.status == "SUCCEEDED"
        counts = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=[
            "ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"])["Attributes"]
        assert sum(int(n) for n in counts.values()) == 1  # the failed one, back once its visibility timeout ends


def test_a_message_for_no_known_function_is_kept_and_named() -> None:
    with moto_runtime():
        sqs = client("sqs")
        queue = sqs.create_queue(QueueName="dl")["QueueUrl"]
        sqs.send_message(QueueUrl=queue, MessageBody=json.dumps({"source": "aws.glue"}))
        assert replay.replay(queue, lambda *_: None, sqs=sqs) == {"replayed": 0, "failed": 1}
