"""Who may end a task through `complete`: a Lambda task only by Lambda's own destination record (never an event
on a bus, which anyone with events:PutEvents can send), and execution events only for Sluice's child runs."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from functions.adapters.clock import utc_now
from tests.support.runtime import (
    EXECUTION,
    FakeJobs,
    LambdaContext,
    installed,
    logged,
    moto_runtime,
    request,
    running_job,
)

EVENTS = Path(__file__).resolve().parents[1] / "events"


def load(name: str) -> dict[str, Any]:
    event: dict[str, Any] = json.loads((EVENTS / f"{name}.json").read_text())
    return event


@pytest.fixture
def rt() -> Any:
    with moto_runtime() as runtime, installed(runtime):
        yield runtime


def test_a_forged_lambda_result_on_a_bus_is_refused_logged_and_changes_nothing(
        rt: Any, caplog: pytest.LogCaptureFixture) -> None:
    from functions.complete.handler import handler

    # GIVEN a running Lambda task, and its request id (GET /runs/{id} shows it)
    request_id = running_job(rt, "lambda")
    # WHEN someone with events:PutEvents sends a "destination result" for it on the default bus
    forged = load("lambda_destination_success")
    forged["time"] = utc_now()
    forged["detail"]["requestContext"]["requestId"] = request_id
    forged["detail"]["responsePayload"] = {"path": "s3://attacker/evil"}
    result = handler(forged, LambdaContext())
    # THEN it is refused with a logged reason, the attempt still runs and nobody answered its token
    assert result["result"].startswith("rejected: ")
    assert "only from Lambda" in result["result"]
    [attempt] = rt.store.load(EXECUTION).attempts
    assert (attempt.status, attempt.output) == ("RUNNING", None)
    assert rt.tokens.of("token-extract-0") == []
    [line] = [json.loads(text) for text in logged(caplog) if '"rejected event"' in text]
    assert "source 'lambda'" in line["reason"] and line["level"] == "ERROR"


@pytest.mark.parametrize(("name", "status", "answer"), [("lambda_record_success", "SUCCEEDED", "success"),
                                                       ("lambda_record_failure", "FAILED", "failure")])
def test_lambdas_own_destination_record_ends_the_task(rt: Any, name: str, status: str, answer: str) -> None:
    from functions.complete.handler import handler

    # GIVEN a running Lambda task
    request_id = running_job(rt, "lambda")
    # WHEN Lambda delivers its asynchronous invocation's record straight to `complete` (the destination)
    record = load(name)
    record["requestContext"]["requestId"] = request_id
    record["timestamp"] = utc_now()
    assert handler(record, LambdaContext()) == {"result": f"attempt {status}"}
    # THEN the attempt ended with the record's outcome, once, even when the record is delivered again
    assert handler(record, LambdaContext()) == {"result": f"attempt {status}"}
    [attempt] = rt.store.load(EXECUTION).attempts
    [(how, _)] = rt.tokens.of("token-extract-0")
    assert (attempt.status, how) == (status, answer)
    if status == "SUCCEEDED":
        assert attempt.output == record["responsePayload"]
    assert attempt.end_event == f"lambda:{request_id}:{record['timestamp']}"


def test_a_record_from_another_function_does_not_end_the_task(rt: Any, caplog: pytest.LogCaptureFixture) -> None:
    from functions.complete.handler import handler

    # GIVEN a running Lambda task of function orders-enrich (its request id is no secret)
    jobs = rt.jobs["lambda"] = FakeJobs(kind="lambda")
    rt.dispatcher.handle(request(kind="lambda", config={"function": "orders-enrich"}))
    request_id, invoked = next(iter(jobs.jobs)), "orders-enrich"
    # WHEN an invocation record with its request id arrives from another function (one whose destination is
    # `complete` too, e.g. a function someone else may invoke)
    record = load("lambda_record_success")
    record["requestContext"] |= {"requestId": request_id,
                                 "functionArn": "arn:aws:lambda:eu-west-1:123456789012:function:other:$LATEST"}
    record["timestamp"] = utc_now()
    result = handler(record, LambdaContext())
    # THEN it is refused and logged, and the attempt still runs with nobody answering its token; the record of the
    # function itself (any form of its name) still ends it
    assert result["result"].startswith("refused: ") and "'other'" in result["result"] and f"'{invoked}'" in result[
        "result"]
    [attempt] = rt.store.load(EXECUTION).attempts
    assert (attempt.status, attempt.output) == ("RUNNING", None)
    assert rt.tokens.of("token-extract-0") == []
    assert any("refused: the invocation record" in text for text in logged(caplog))
    record["requestContext"]["functionArn"] = "arn:aws:lambda:eu-west-1:123456789012:function:orders-enrich:$LATEST"
    assert handler(record, LambdaContext()) == {"result": "attempt SUCCEEDED"}


@pytest.mark.parametrize(("reference", "name"), [
    ("f", "f"), ("f:live", "f"), ("123456789012:function:f", "f"), ("123456789012:function:f:3", "f"),
    ("arn:aws:lambda:eu-west-1:123456789012:function:f", "f"),
    ("arn:aws:lambda:eu-west-1:123456789012:function:f:$LATEST", "f")])
def test_a_function_is_named_the_same_in_every_form_lambda_takes(reference: str, name: str) -> None:
    from functions.events.types import function_name

    assert function_name(reference) == name
