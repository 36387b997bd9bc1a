"""Malformed events to every function: each is logged as rejected and leaves the run store exactly as it was.

Every handler (dispatch, complete, record, sweep, api) gets payloads no AWS service sends it: not an object at all
(null, a list, a string, a number), objects missing fields or holding the wrong types, other services' events,
~1 MB strings, and the documented events of tests/events (or the dispatcher's request, or an API Gateway proxy event)
with one or two required fields removed or retyped. They come from hypothesis (random JSON, derandomized) and from
a hand-picked list. For each, the handler:

- answers without raising: `{"result": "rejected: ..."}` (complete, record, sweep) or a 400 problem (api). The
  dispatcher alone raises, on purpose: its pydantic ValidationError fails the Step Functions state, visibly;
- logs one "rejected event" line at ERROR with the reason;
- writes nothing: the run store table, scanned before and after, is the same. It holds a running attempt of every
  job kind and a run record, which the broken events name, so a handler that took one would change them.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pydantic
import pytest
from aws_lambda_powertools.utilities.parser.models import EventBridgeModel
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import BaseModel

from functions.adapters.clock import utc_now
from functions.api import service
from functions.api.catalog import Catalog
from functions.events import models
from sluice.contract import DispatchRequest
from sluice.local.http_bridge import LocalLambdaContext, proxy_event
from sluice.local.runner import LambdaContext
from tests.support.pipelines import examples
from tests.support.runtime import TABLE, FakeJobs, client, installed, logged, moto_runtime, request, waiting_execution

EVENTS = Path(__file__).resolve().parents[1] / "events"
KINDS = ("glue", "emr", "emr_serverless", "ecs", "lambda", "pipeline")
JOB = "job-0"  # the external id of each kind's seeded job (FakeJobs numbers its jobs from 0)
MACHINE = "arn:aws:states:eu-west-1:123456789012:stateMachine:sluice-orders-daily"
RUN = "arn:aws:states:eu-west-1:123456789012:execution:sluice-orders-daily:scheduled-20250314T080000Z"
WHO = "arn:aws:iam::123456789012:user/ana"
MB = "x" * (1024 * 1024)
FUZZ = settings(max_examples=50, deadline=None, derandomize=True, database=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                                       HealthCheck.data_too_large])
MODELS: dict[str, type[BaseModel]] = {  # by source: the model the functions validate each documented event with
    "aws.glue": models.GlueJobStateChange, "aws.emr": models.EmrStepStatusChange,
    "aws.emr-serverless": models.EmrServerlessJobRunStateChange, "aws.ecs": models.EcsTaskStateChange,
    "lambda": EventBridgeModel, "aws.states": models.SfnExecutionStatusChange}  # lambda: refused from any bus
JOB_ID_FIELD = {"glue": "jobRunId", "emr": "stepId", "emr_serverless": "jobRunId", "ecs": "taskArn",
                "pipeline": "executionArn"}
KIND_OF = {"aws.glue": "glue", "aws.emr": "emr", "aws.emr-serverless": "emr_serverless", "aws.ecs": "ecs",
           "lambda": "lambda", "aws.states": "pipeline"}


# --- the events, aimed at the seeded records --------------------------------------------------------------------

def documented(name: str) -> dict[str, Any]:
    """A documented event naming the seeded records: the kind's running job, or the recorded run."""
    event: dict[str, Any] = json.loads((EVENTS / f"{name}.json").read_text())
    if "source" not in event:  # Lambda's invocation record, delivered to `complete` as the destination
        event["timestamp"] = utc_now()
        event["requestContext"]["requestId"] = JOB
        return event
    event["time"] = utc_now()
    detail = event["detail"]
    if event["source"] == "aws.states":
        detail.update(executionArn=RUN, stateMachineArn=MACHINE, name=RUN.rsplit(":", 1)[-1])
    elif event["source"] == "lambda":
        detail["requestContext"]["requestId"] = JOB
    else:
        detail[JOB_ID_FIELD[KIND_OF[event["source"]]]] = JOB
    return event


NAMES = sorted(path.stem for path in EVENTS.glob("*.json") if not path.stem.startswith("lambda_record_"))
JOB_EVENTS = {name: documented(name) for name in NAMES}  # every one of them is a job's event to `complete`
RECORDS = [documented(f"lambda_record_{end}") for end in ("success", "failure")]
EXECUTION_EVENTS = {name: event for name, event in JOB_EVENTS.items() if event["source"] == "aws.states"}
DISPATCH = request(kind="glue", task="glue").model_dump(mode="json")  # the seeded glue attempt's own request
DEADLINE = {"deadline": {"pipeline": "orders-daily", "at": "2025-03-14T09:00:00Z", "within": 86400}}
SCHEDULED = {"version": "0", "id": "53dc4d37-cffa-4f76-80c9-8b7d4a4d2eaa", "detail-type": "Scheduled Event",
             "source": "aws.events", "account": "123456789012", "time": "2025-03-14T08:00:00Z",
             "region": "eu-west-1", "resources": ["arn:aws:events:eu-west-1:123456789012:rule/sluice-dev-sweep"],
             "detail": {}}


def proxy(method: str, path: str, body: Any = None, **headers: str) -> dict[str, Any]:
    data = b"" if body is None else json.dumps(body).encode()
    return proxy_event(method, path, {}, {"Content-Type": "application/json", **headers}, data, principal=WHO)


PROXIES = [proxy("GET", "/pipelines"), proxy("GET", "/runs/orders-daily:scheduled-20250314T080000Z"),
           proxy("POST", "/pipelines/daily-sales-etl/runs", {"params": {}}, **{"Idempotency-Key": "k-1"}),
           proxy("POST", f"/runs/{RUN}/cancel", {"reason": "malformed"})]


def required(model: type[BaseModel], prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    """The paths of the fields the model requires, nested models' included, as they appear in the event."""
    paths = []
    for name, field in model.model_fields.items():
        if field.is_required():
            path = (*prefix, field.alias or name)
            paths.append(path)
            if isinstance(field.annotation, type) and issubclass(field.annotation, BaseModel):
                paths += required(field.annotation, path)
    return paths


# Dispatch: any required field removed; any field the contract types (all but `items` and `item`, which are Any)
# retyped; an unknown field added (the contract forbids extra fields).
Paths = list[tuple[str, ...]]
DISPATCH_REQUIRED: Paths = [(name,) for name, field in DispatchRequest.model_fields.items() if field.is_required()]
DISPATCH_TYPED: Paths = [(name,) for name, field in DispatchRequest.model_fields.items() if field.annotation is not Any]
# The API: what API Gateway always sends, and every field the resolver reads, with its type.
PROXY_REQUIRED: Paths = [("httpMethod",), ("path",), ("headers",), ("requestContext",), ("requestContext", "requestId"),
                  ("requestContext", "identity")]
PROXY_TYPED: Paths = [*PROXY_REQUIRED, ("multiValueHeaders",), ("queryStringParameters",),
               ("multiValueQueryStringParameters",), ("pathParameters",), ("stageVariables",), ("body",),
               ("isBase64Encoded",), ("requestContext", "identity", "userArn")]
DEADLINE_FIELDS: Paths = [("deadline",), ("deadline", "pipeline"), ("deadline", "at"), ("deadline", "within")]

SCALARS = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text()
JSON = st.recursive(SCALARS, lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner,
                                                                                        max_size=4), max_leaves=16)
# No field of any of these events takes this: a non-empty list of things that are not strings. (A field typed
# `str` takes no list; a list of strings takes no number, null or object; pydantic coerces none of them.)
NOT_STRINGS = st.lists(st.none() | st.booleans() | st.integers() | st.lists(st.none(), max_size=2)
                       | st.dictionaries(st.text(max_size=4), st.none(), max_size=2), min_size=1, max_size=3)


@st.composite
def broken(draw: st.DrawFn, events: list[dict[str, Any]], removable: Callable[[dict[str, Any]], list[Any]],
           typed: Callable[[dict[str, Any]], list[Any]], extra: bool = False) -> dict[str, Any]:
    """One of `events` with 1-2 of its required fields removed, or typed fields retyped (or an unknown field
    added, when `extra`): an event that is nearly right, and wrong."""
    event: dict[str, Any] = copy.deepcopy(draw(st.sampled_from(events)))
    how = draw(st.sampled_from(["remove", "retype", "extra"] if extra else ["remove", "retype"]))
    if how == "extra":
        event[draw(st.text(min_size=1, max_size=12).filter(lambda key: key not in event))] = draw(JSON)
        return event
    paths = removable(event) if how == "remove" else typed(event)
    for path in draw(st.lists(st.sampled_from(paths), min_size=1, max_size=2, unique=True)):
        parent: Any = event
        for key in path[:-1]:
            parent = parent.get(key) if isinstance(parent, dict) else None
        if isinstance(parent, dict):  # not when an earlier change removed or retyped its parent
            if how == "remove":
                parent.pop(path[-1], None)
            else:
                parent[path[-1]] = draw(NOT_STRINGS)
    return event


def _event_fields(event: dict[str, Any]) -> list[tuple[str, ...]]:
    return required(MODELS[event["source"]])


def _record_fields(_: dict[str, Any]) -> list[tuple[str, ...]]:
    return required(models.LambdaInvocationRecord)


def _fixed(paths: list[tuple[str, ...]]) -> Callable[[dict[str, Any]], list[tuple[str, ...]]]:
    return lambda _: paths


def not_objects() -> st.SearchStrategy[Any]:
    """Anything JSON but an object: what no AWS service sends a function."""
    return JSON.filter(lambda value: not isinstance(value, dict))


def foreign_objects(*, keys: tuple[str, ...] = ()) -> st.SearchStrategy[dict[str, Any]]:
    """Random objects, some shaped like an EventBridge event with a real source and detail-type, and random rest."""
    sources = sorted({*MODELS, "aws.ec2", "aws.s3", "aws.events", "aws.scheduler"})
    types = sorted({e["detail-type"] for e in JOB_EVENTS.values()} | {"Object Created", "Scheduled Event"})
    shaped = st.fixed_dictionaries({"source": st.sampled_from(sources) | JSON,
                                    "detail-type": st.sampled_from(types) | JSON, "detail": JSON})
    keyed = st.fixed_dictionaries({key: JSON for key in keys}) if keys else st.nothing()
    return st.dictionaries(st.text(max_size=12), JSON, min_size=1, max_size=5) | shaped | keyed


# --- the world: moto, the run store with records to corrupt, the API installed -----------------------------------

@pytest.fixture(scope="module")
def rt() -> Iterator[Any]:
    with moto_runtime() as runtime, installed(runtime):
        service.use(service.Api(runtime, Catalog(pipelines=examples())))
        try:
            for kind in KINDS:  # a running attempt of every kind, each with its job "job-0"
                runtime.jobs[kind] = jobs = FakeJobs(kind=kind)
                runtime.dispatcher.handle(request(kind=kind, task=kind))
                assert list(jobs.jobs) == [JOB]
            machine, arn = waiting_execution(RUN.rsplit(":", 1)[-1])
            assert (machine, arn) == (MACHINE, RUN)
            from functions.record.handler import handler as record

            assert record(documented("sfn_execution_running"), LambdaContext())["result"].startswith("run ")
            yield runtime
        finally:
            service.use(None)


def table() -> list[dict[str, Any]]:
    """Every item of the run store, in a stable order."""
    items: list[dict[str, Any]] = []
    for page in client("dynamodb").get_paginator("scan").paginate(TableName=TABLE):
        items += page["Items"]
    return sorted(items, key=lambda item: json.dumps(item, sort_keys=True))


def rejections(caplog: pytest.LogCaptureFixture, since: int) -> list[dict[str, Any]]:
    """The "rejected event" lines logged since record `since`, as Powertools writes them to CloudWatch."""
    lines = [json.loads(line) for line in logged(caplog, since)]
    return [line for line in lines if line.get("message") == "rejected event"]


class Calls:
    """Calls a handler with a bad event and holds it to the three promises above."""

    def __init__(self, rt: Any, caplog: pytest.LogCaptureFixture) -> None:
        self.rt, self.caplog = rt, caplog
        self.before = table()
        assert len(self.before) > len(KINDS), "the run store should hold the seeded records"

    def _logged_and_unchanged(self, since: int, event: Any) -> None:
        lines = rejections(self.caplog, since)
        assert len(lines) == 1 and lines[0]["level"] == "ERROR" and lines[0]["reason"], (_short(event), lines)
        assert table() == self.before, f"the run store changed for {_short(event)}"

    def rejected(self, handler: Callable[[Any, Any], Any], event: Any) -> str:
        """complete, record, sweep: a rejection returned, logged, and nothing written."""
        since = len(self.caplog.records)
        result = handler(copy.deepcopy(event), LambdaContext())
        assert isinstance(result, dict) and str(result.get("result", "")).startswith("rejected: "), \
            (_short(event), result)
        self._logged_and_unchanged(since, event)
        return str(result["result"])

    def dispatched(self, event: Any) -> str:
        """dispatch: the ValidationError raised (it fails the state), logged, and nothing written."""
        from functions.dispatch.handler import handler

        since = len(self.caplog.records)
        with pytest.raises(pydantic.ValidationError) as raised:
            handler(copy.deepcopy(event), LambdaContext())
        self._logged_and_unchanged(since, event)
        return str(raised.value)

    def answered(self, event: Any) -> dict[str, Any]:
        """api: a 400 problem for an event that is not a proxy event, logged, and nothing written."""
        from functions.api.handler import handler

        since = len(self.caplog.records)
        response = handler(copy.deepcopy(event), LocalLambdaContext())
        assert response["statusCode"] == 400, (_short(event), response)
        assert response["headers"]["Content-Type"] == "application/problem+json"
        problem = json.loads(response["body"])
        assert problem["status"] == 400 and problem["detail"].startswith("not an API Gateway proxy event: ")
        self._logged_and_unchanged(since, event)
        return dict(problem)


def _short(event: Any) -> str:
    text = json.dumps(event, default=str)
    return text if len(text) < 300 else text[:300] + "..."


@pytest.fixture
def calls(rt: Any, caplog: pytest.LogCaptureFixture) -> Calls:
    caplog.set_level("INFO")
    return Calls(rt, caplog)


# --- generated: hypothesis --------------------------------------------------------------------------------------

@FUZZ
@given(event=not_objects() | foreign_objects(keys=("detail",))
       | broken(list(JOB_EVENTS.values()), _event_fields, _event_fields)
       | broken(RECORDS, _record_fields, _record_fields))
def test_complete_rejects_generated_malformed_events(calls: Calls, event: Any) -> None:
    from functions.complete.handler import handler

    calls.rejected(handler, event)


@FUZZ
@given(event=not_objects() | foreign_objects(keys=("detail",))
       | broken(list(EXECUTION_EVENTS.values()), _event_fields, _event_fields)
       | st.sampled_from([e for e in JOB_EVENTS.values() if e["source"] != "aws.states"]))  # a job's, not a run's
def test_record_rejects_generated_malformed_events(calls: Calls, event: Any) -> None:
    from functions.record.handler import handler

    calls.rejected(handler, event)


def scheduled(event: dict[str, Any]) -> bool:
    return (event.get("source"), event.get("detail-type")) == (SCHEDULED["source"], SCHEDULED["detail-type"])


@FUZZ
@given(event=not_objects() | foreign_objects(keys=("deadline",)).filter(lambda e: bool(e) and not scheduled(e))
       | broken([DEADLINE], _fixed(DEADLINE_FIELDS[1:]), _fixed(DEADLINE_FIELDS))  # without it all, {}: a sweep
       | broken([SCHEDULED], _fixed([("source",), ("detail-type",)]), _fixed([("source",), ("detail-type",)])))
def test_sweep_rejects_generated_malformed_events(calls: Calls, event: Any) -> None:
    from functions.sweep.handler import handler

    calls.rejected(handler, event)


@FUZZ
@given(event=not_objects() | foreign_objects(keys=("action", "pipeline", "run_id"))
       | broken([DISPATCH], _fixed(DISPATCH_REQUIRED), _fixed(DISPATCH_TYPED), extra=True))
def test_dispatch_raises_on_generated_malformed_requests_and_records_nothing(calls: Calls, event: Any) -> None:
    calls.dispatched(event)


@FUZZ
@given(event=not_objects() | foreign_objects(keys=("httpMethod", "path", "headers", "requestContext"))
       | broken(PROXIES, _fixed(PROXY_REQUIRED), _fixed(PROXY_TYPED)))
def test_api_answers_400_to_generated_malformed_proxy_events(calls: Calls, event: Any) -> None:
    calls.answered(event)


# --- hand-picked --------------------------------------------------------------------------------------------------

def without(event: dict[str, Any], *path: str) -> dict[str, Any]:
    changed = copy.deepcopy(event)
    parent = changed
    for key in path[:-1]:
        parent = parent[key]
    del parent[path[-1]]
    return changed


def having(event: dict[str, Any], path: tuple[str, ...], value: Any) -> dict[str, Any]:
    changed = copy.deepcopy(event)
    parent = changed
    for key in path[:-1]:
        parent = parent[key]
    parent[path[-1]] = value
    return changed


def case(label: str, event: Any) -> Any:
    return pytest.param(event, id=label)


NOT_OBJECTS = [case("null", None), case("empty list", []), case("list of an event", [JOB_EVENTS["glue_job_failed"]]),
               case("empty string", ""), case("JSON text", json.dumps(JOB_EVENTS["glue_job_failed"])),
               case("zero", 0), case("float", 1.5), case("true", True), case("1 MB string", MB)]
EC2 = {"version": "0", "id": "7bf73129-1428-4cd3-a780-95db273d1602", "source": "aws.ec2",
       "detail-type": "EC2 Instance State-change Notification", "account": "123456789012",
       "time": "2025-03-14T08:00:00Z", "region": "eu-west-1", "resources": [],
       "detail": {"instance-id": "i-0123456789abcdef0", "state": "terminated"}}
GLUE = JOB_EVENTS["glue_job_failed"]
SFN = EXECUTION_EVENTS["sfn_execution_succeeded"]
FOREIGN = [case("empty object", {}), case("EC2 event", EC2), case("EC2 event with 1 MB detail", having(EC2, ("detail",),
                                                                                                        {"blob": MB}))]


@pytest.mark.parametrize("event", [
    *NOT_OBJECTS, *FOREIGN,
    case("Glue crawler detail-type", having(GLUE, ("detail-type",), "Glue Crawler State Change")),
    case("unknown source", having(GLUE, ("source",), "aws.glue.jobs")),
    case("detail-type a number", having(GLUE, ("detail-type",), 7)),
    case("detail a list", having(GLUE, ("detail",), [])), case("detail null", having(GLUE, ("detail",), None)),
    case("no detail", without(GLUE, "detail")), case("no jobRunId", without(GLUE, "detail", "jobRunId")),
    case("no state", without(GLUE, "detail", "state")),
    case("jobRunId a number", having(GLUE, ("detail", "jobRunId"), 0)),
    case("state an object", having(GLUE, ("detail", "state"), {"name": "FAILED"})),
    case("time not a time", having(GLUE, ("time",), "yesterday")),
    case("ECS exitCode a word", having(JOB_EVENTS["ecs_task_stopped_ok"], ("detail", "containers"),
                                       [{"exitCode": "zero"}])),
    case("Lambda result from a bus", JOB_EVENTS["lambda_destination_success"]),
    case("Lambda record without requestId", without(RECORDS[0], "requestContext", "requestId")),
    case("Lambda record with a timestamp not a time", having(RECORDS[1], ("timestamp",), "soon")),
    case("child run status unknown", having(SFN, ("detail", "status"), "DONE")),
    case("no jobRunId and 1 MB message", having(without(GLUE, "detail", "jobRunId"), ("detail", "message"), MB)),
])
def test_complete_rejects_hand_picked_malformed_events(calls: Calls, event: Any) -> None:
    from functions.complete.handler import handler

    calls.rejected(handler, event)


@pytest.mark.parametrize("event", [
    *NOT_OBJECTS, *FOREIGN, case("a job's event", GLUE),
    case("state machine detail-type", having(SFN, ("detail-type",), "Step Functions State Machine Status Change")),
    case("unknown source", having(SFN, ("source",), "aws.sfn")),
    case("no executionArn", without(SFN, "detail", "executionArn")),
    case("no status", without(SFN, "detail", "status")),
    case("status a number", having(SFN, ("detail", "status"), 1)),
    case("status unknown", having(SFN, ("detail", "status"), "DONE")),
    case("startDate a word", having(SFN, ("detail", "startDate"), "noon")),
    case("stateMachineArn null", having(SFN, ("detail", "stateMachineArn"), None)),
    case("detail a string", having(SFN, ("detail",), "succeeded")),
    case("resources a string", having(SFN, ("resources",), "arn")),
    case("no name and 1 MB input", having(without(SFN, "detail", "name"), ("detail", "input"), MB)),
])
def test_record_rejects_hand_picked_malformed_events(calls: Calls, event: Any) -> None:
    from functions.record.handler import handler

    calls.rejected(handler, event)


@pytest.mark.parametrize("event", [
    *NOT_OBJECTS, *FOREIGN[1:], case("a job's event", GLUE),  # {} is an invoke with no payload: a sweep
    case("Scheduler's source", having(SCHEDULED, ("source",), "aws.scheduler")),
    case("no source", {"detail-type": "Scheduled Event"}),
    case("S3 source and 1 MB detail", {**SCHEDULED, "detail": {"blob": MB}, "source": "aws.s3"}),
    case("deadline null", {"deadline": None}), case("deadline a string", {"deadline": "orders-daily"}),
    case("deadline a list", {"deadline": []}), case("deadline empty", {"deadline": {}}),
    case("no pipeline", without(DEADLINE, "deadline", "pipeline")), case("no at", without(DEADLINE, "deadline", "at")),
    case("no within", without(DEADLINE, "deadline", "within")),
    case("pipeline not a name", having(DEADLINE, ("deadline", "pipeline"), "Orders Daily")),
    case("pipeline a number", having(DEADLINE, ("deadline", "pipeline"), 7)),
    case("at a time of day", having(DEADLINE, ("deadline", "at"), "07:30")),
    case("at without a time zone", having(DEADLINE, ("deadline", "at"), "2025-03-14T09:00:00")),
    case("at an epoch", having(DEADLINE, ("deadline", "at"), 1741942800)),
    case("within a duration text", having(DEADLINE, ("deadline", "within"), "1d")),
    case("within zero", having(DEADLINE, ("deadline", "within"), 0)),
    case("within true", having(DEADLINE, ("deadline", "within"), True)),
    case("within a float", having(DEADLINE, ("deadline", "within"), 3600.5)),
    case("pipeline 1 MB", having(DEADLINE, ("deadline", "pipeline"), MB)),
])
def test_sweep_rejects_hand_picked_malformed_events(calls: Calls, event: Any) -> None:
    from functions.sweep.handler import handler

    calls.rejected(handler, event)


@pytest.mark.parametrize("event", [
    *NOT_OBJECTS, *FOREIGN, case("unknown action", having(DISPATCH, ("action",), "launch")),
    case("no action", without(DISPATCH, "action")), case("no run_id", without(DISPATCH, "run_id")),
    case("no execution_id", without(DISPATCH, "execution_id")), case("contract v2", having(DISPATCH, ("v",), 2)),
    case("attempt a word", having(DISPATCH, ("attempt",), "zero")),
    case("params a list", having(DISPATCH, ("params",), ["region", "emea"])),
    case("unknown trigger_rule", having(DISPATCH, ("trigger_rule",), "any_success")),
    case("timeout an object", having(DISPATCH, ("timeout",), {"seconds": 60})),
    case("unknown field", {**DISPATCH, "priority": 1}),
    case("the invoke's envelope", {**DISPATCH, "Payload": DISPATCH}),
    case("unknown action and 1 MB task", having(having(DISPATCH, ("action",), "launch"), ("task",), MB)),
])
def test_dispatch_raises_on_hand_picked_malformed_requests_and_records_nothing(calls: Calls, event: Any) -> None:
    calls.dispatched(event)


GET = PROXIES[0]
START = PROXIES[2]


@pytest.mark.parametrize("event", [
    *NOT_OBJECTS, *FOREIGN, case("method and path only", {"httpMethod": "GET", "path": "/pipelines"}),
    case("no httpMethod", without(GET, "httpMethod")), case("no path", without(GET, "path")),
    case("no headers", without(GET, "headers")), case("no requestContext", without(GET, "requestContext")),
    case("no identity", without(START, "requestContext", "identity")),
    case("httpMethod null", having(GET, ("httpMethod",), None)),
    case("httpMethod a list", having(GET, ("httpMethod",), ["GET"])),
    case("path relative", having(GET, ("path",), "pipelines")), case("path a number", having(GET, ("path",), 7)),
    case("headers a string", having(GET, ("headers",), "Content-Type: application/json")),
    case("a header a number", having(GET, ("headers",), {"Accept": 1})),
    case("multiValueHeaders single", having(START, ("multiValueHeaders",), {"Idempotency-Key": "k-1"})),
    case("query a list", having(GET, ("queryStringParameters",), ["limit=1"])),
    case("body an object", having(START, ("body",), {"params": {}})),
    case("isBase64Encoded a word", having(START, ("isBase64Encoded",), "no")),
    case("requestContext a string", having(START, ("requestContext",), "ctx")),
    case("requestId a number", having(START, ("requestContext", "requestId"), 1)),
    case("userArn a number", having(START, ("requestContext", "identity", "userArn"), 7)),
    case("no httpMethod and 1 MB path", having(without(GET, "httpMethod"), ("path",), "/" + MB)),
    case("no requestContext and 1 MB body", having(without(START, "requestContext"), ("body",),
                                                    json.dumps({"params": {"blob": MB}}))),
])
def test_api_answers_400_to_hand_picked_malformed_proxy_events(calls: Calls, event: Any) -> None:
    calls.answered(event)


# --- what must still work ---------------------------------------------------------------------------------------

def test_the_sweepers_own_triggers_are_still_taken(calls: Calls) -> None:
    from functions.sweep.handler import handler

    # GIVEN the schedule's event, and an invoke with no payload THEN each sweeps (the seeded attempts are fresh)
    for event in (SCHEDULED, {}):
        assert {"checked", "completed", "lost", "stopped"} <= set(handler(copy.deepcopy(event), LambdaContext()))
    # AND a deadline check is checked (the recorded run has not succeeded)
    assert handler(copy.deepcopy(DEADLINE), LambdaContext()) == {"deadline_met": False}
    assert rejections(calls.caplog, 0) == []


def test_a_fresh_end_of_an_unknown_job_still_raises_for_lambda_to_retry(calls: Calls) -> None:
    from functions.complete.handler import handler
    from functions.complete.service import AttemptNotFoundYetError

    # GIVEN a well-formed end event, sent now, of a job no attempt names (yet) THEN it raises on purpose: Lambda
    # retries it. (GLUE was stamped at import; a long suite makes it older than RETRY_UNKNOWN_FOR, so stamp it again.)
    fresh = having(having(GLUE, ("detail", "jobRunId"), "job-404"), ("time",), utc_now())
    with pytest.raises(AttemptNotFoundYetError):
        handler(fresh, LambdaContext())
    assert table() == calls.before


def test_a_huge_body_in_a_well_formed_proxy_event_is_a_413_and_starts_nothing(calls: Calls) -> None:
    from functions.api.handler import handler

    response = handler(proxy("POST", "/pipelines/daily-sales-etl/runs", {"params": {"blob": MB}}),
                       LocalLambdaContext())
    assert response["statusCode"] == 413
    assert table() == calls.before


def test_the_rejection_says_what_is_wrong(calls: Calls) -> None:
    from functions.complete.handler import handler as complete
    from functions.sweep.handler import handler as sweep

    assert "detail.jobRunId" in calls.rejected(complete, without(GLUE, "detail", "jobRunId"))
    assert "within" in calls.rejected(sweep, having(DEADLINE, ("deadline", "within"), "1d"))
    assert "got list" in calls.rejected(sweep, [])
    assert "action" in calls.dispatched(having(DISPATCH, ("action",), "launch"))
    problem = calls.answered(without(GET, "httpMethod"))
    assert "httpMethod: missing" in problem["detail"]
    # AND the dispatcher's log names the request, never what it carries
    since = len(calls.caplog.records)
    calls.dispatched(having(having(DISPATCH, ("params",), {"password": "Pl4nted"}), ("action",), "launch"))
    [line] = rejections(calls.caplog, since)
    assert line["event"]["run_id"] == "run-1" and "Pl4nted" not in json.dumps(line)
