"""The run API's routes (Powertools APIGatewayRestResolver): each parses, makes one service call, and answers.

Errors are problem details (functions/api/problems.py): 400 names the field and why, 404, 409, 413; an unexpected
failure is a 500 problem carrying the request id, never a bare 502.
"""

from __future__ import annotations

import base64
import binascii
from typing import Annotated, Any

from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response
from aws_lambda_powertools.event_handler.openapi.exceptions import RequestValidationError
from aws_lambda_powertools.event_handler.openapi.params import Body, Header, Path, Query
from aws_lambda_powertools.utilities.idempotency.exceptions import (
    IdempotencyAlreadyInProgressError,
    IdempotencyValidationError,
)

from ..observability import logger, redacted
from . import models
from .moments import body_problem
from .problems import ApiProblem, problem
from .service import api

MAX_BODY_BYTES = 64 * 1024  # the largest request body (a run's parameters); API Gateway's own limit is 10 MB
VERSION = "1.0.0"

app = APIGatewayRestResolver(enable_validation=True)

Name = Annotated[str, Path(pattern=r"^[a-z0-9][a-z0-9-]{0,63}$", description="pipeline name")]
RunId = Annotated[str, Path(min_length=3, max_length=400, description="<pipeline>:<execution name>, or its ARN")]
IdempotencyKey = Annotated[str | None, Header(alias="Idempotency-Key", pattern=models.IDEMPOTENCY_KEY,
                                              description="a repeated request with the same key returns the same "
                                              "run; the same key with another body is a 409")]


def principal() -> str:
    """Who is calling: the IAM identity API Gateway authenticated (SigV4)."""
    identity = app.current_event.request_context.identity
    return identity.user_arn or identity.caller or "unknown"


def refused(event: Any) -> dict[str, Any] | None:
    """400 for an event that is not an API Gateway proxy event, 413 for a body over MAX_BODY_BYTES, 415 for a body
    that is not JSON: checked before anything parses the event or its body (Powertools would fail on a malformed
    event, and parse a multipart body, and fail on a malformed one). None for every other request."""
    reason = malformed(event)
    if reason is not None:
        logger.error("rejected event", reason=reason, event=redacted(event))
        return _proxy_response(problem(400, "Invalid request", f"not an API Gateway proxy event: {reason}"))
    body = str(event.get("body") or "")
    types = [str(v) for k, v in (event.get("headers") or {}).items() if k.lower() == "content-type"]
    if len(body.encode()) > MAX_BODY_BYTES:
        answer = problem(413, "Request too large", f"the body is {len(body.encode()):,} bytes; at most "
                                                   f"{MAX_BODY_BYTES:,} are accepted")
    elif body and event.get("isBase64Encoded") and not _utf8(body):
        answer = problem(400, "Invalid request", "the body is not UTF-8 text: send JSON")
    elif body and types and types[0].split(";")[0].strip().lower() != "application/json":
        answer = problem(415, "Unsupported media type", f"the body is {types[0][:100]}; send JSON "
                                                        "(Content-Type: application/json)")
    elif body and (why := body_problem(base64.b64decode(body).decode() if event.get("isBase64Encoded") else body)):
        answer = problem(400, "Invalid request", why, [{"field": "body", "reason": why}])
    else:
        return None
    return _proxy_response(answer)


def malformed(event: Any) -> str | None:
    """Why `event` is not a REST API (v1) proxy event with the fields the routes read, or None when it is one.
    API Gateway always sends these; anything else invoking the function (or a test) may not."""
    if not isinstance(event, dict):
        return f"expected a JSON object, got {type(event).__name__}"
    problems = [f"{key}: missing" for key in ("httpMethod", "path", "headers", "requestContext") if key not in event]
    method, path, context = event.get("httpMethod"), event.get("path"), event.get("requestContext")
    if "httpMethod" in event and not (isinstance(method, str) and method):
        problems.append(f"httpMethod: not a method ({_kind(method)})")
    if "path" in event and not (isinstance(path, str) and path.startswith("/")):
        problems.append(f"path: not a path starting with '/' ({_kind(path)})")
    for key, multi in (("headers", False), ("multiValueHeaders", True), ("queryStringParameters", False),
                       ("multiValueQueryStringParameters", True), ("pathParameters", False),
                       ("stageVariables", False)):
        if not _strings(event.get(key), multi):
            problems.append(f"{key}: not null or an object of {'string lists' if multi else 'strings'}")
    if "requestContext" in event and not (
            isinstance(context, dict) and isinstance(context.get("requestId"), str)
            and isinstance(context.get("identity"), dict)
            and all(isinstance(context["identity"].get(k), str | None) for k in ("userArn", "caller"))):
        problems.append("requestContext: not an object with a requestId and an identity")
    if not isinstance(event.get("body"), str | None):
        problems.append(f"body: not null or a string ({_kind(event.get('body'))})")
    if not isinstance(event.get("isBase64Encoded"), bool | None):
        problems.append(f"isBase64Encoded: not a boolean ({_kind(event.get('isBase64Encoded'))})")
    return "; ".join(problems[:5]) or None


def _strings(value: Any, multi: bool) -> bool:
    if value is None:
        return True
    return isinstance(value, dict) and all(
        isinstance(k, str) and (isinstance(v, list) and all(isinstance(s, str) for s in v) if multi
                                else isinstance(v, str)) for k, v in value.items())


def _kind(value: Any) -> str:
    return "missing" if value is None else f"a {type(value).__name__}"


def _proxy_response(answer: Response[str]) -> dict[str, Any]:
    return {"statusCode": answer.status_code, "headers": {"Content-Type": answer.content_type},
            "body": answer.body, "isBase64Encoded": False}


def _utf8(encoded: str) -> bool:
    try:
        base64.b64decode(encoded).decode()
    except (ValueError, binascii.Error):
        return False
    return True


@app.get("/pipelines", summary="Every deployed pipeline")
def list_pipelines() -> models.PipelineList:
    return api().pipelines.list()


@app.get("/pipelines/<name>", summary="A pipeline: parameters, tasks, schedules and its next scheduled runs")
def get_pipeline(name: Name) -> models.PipelineDetail:
    return api().pipelines.detail(name)


@app.post("/pipelines/<name>/runs", summary="Start a run", responses={201: {"description": "the run started"}})
def start_run(name: Name, body: Annotated[models.StartRun, Body()],
              idempotency_key: IdempotencyKey = None) -> Response[models.RunStarted]:
    started = api().start_run(name, body, principal=principal(), idempotency_key=idempotency_key)
    return Response(status_code=201, body=started, content_type="application/json")


@app.get("/pipelines/<name>/runs", summary="A pipeline's runs, newest first")
def list_runs(name: Name,
              status: Annotated[models.RunStatus | None, Query(description="only runs with this status")] = None,
              since: Annotated[str | None, Query(max_length=40, description="started at or after")] = None,
              until: Annotated[str | None, Query(max_length=40, description="started at or before")] = None,
              limit: Annotated[int, Query(ge=1, le=100)] = 20,
              next_token: Annotated[str | None, Query(max_length=2000)] = None) -> models.RunPage:
    return api().runs.page(name, status=status, since=since, until=until, limit=limit, token=next_token)


@app.get("/runs/<run_id>", summary="A run: tasks, attempts, jobs, timings, errors, cost")
def get_run(run_id: RunId) -> models.RunDetail:
    return api().runs.show(run_id)


@app.post("/runs/<run_id>/cancel", summary="Stop a running run and its jobs",
          responses={202: {"description": "stopping"}})
def cancel_run(run_id: RunId, body: Annotated[models.Cancel, Body()]) -> Response[models.Cancelled]:
    cancelled = api().runs.cancel(run_id, body, principal=principal())
    return Response(status_code=202, body=cancelled, content_type="application/json")


@app.post("/runs/<run_id>/resume", summary="Re-run what did not succeed in an ended run",
          responses={201: {"description": "the resumed run started"}})
def resume_run(run_id: RunId, body: Annotated[models.Resume, Body()]) -> Response[models.RunStarted]:
    started = api().runs.resume(run_id, body, principal=principal())
    return Response(status_code=201, body=started, content_type="application/json")


@app.post("/pipelines/<name>/backfill", summary="Run the schedule's logical dates in a range",
          responses={202: {"description": "the backfill started"}})
def backfill(name: Name, body: Annotated[models.Backfill, Body()],
             idempotency_key: IdempotencyKey = None) -> Response[models.BackfillView]:
    view = api().backfills.start(name, body, principal=principal(), idempotency_key=idempotency_key)
    return Response(status_code=200 if view.dry_run else 202, body=view, content_type="application/json")


@app.get("/backfills/<backfill_id>", summary="A backfill: its dates and their runs")
def get_backfill(backfill_id: Annotated[str, Path(pattern=r"^[a-f0-9]{16}$")]) -> models.BackfillView:
    return api().backfills.view(backfill_id)


@app.exception_handler(ApiProblem)  # type: ignore[untyped-decorator]
def _problem(exc: ApiProblem) -> Response[str]:
    return exc.response()


@app.exception_handler(RequestValidationError)  # type: ignore[untyped-decorator]
def _invalid(exc: RequestValidationError) -> Response[str]:
    errors = [{"field": ".".join(str(part) for part in error.get("loc", ())), "reason": str(error.get("msg"))}
              for error in exc.errors()]
    detail = "; ".join(f"{e['field']}: {e['reason']}" for e in errors[:5]) or "the request is invalid"
    return problem(400, "Invalid request", detail, errors)


@app.exception_handler(IdempotencyValidationError)  # type: ignore[untyped-decorator]
def _reused_key(exc: IdempotencyValidationError) -> Response[str]:
    return problem(409, "Conflict", "this Idempotency-Key was used with a different request body")


@app.exception_handler(IdempotencyAlreadyInProgressError)  # type: ignore[untyped-decorator]
def _in_progress(exc: IdempotencyAlreadyInProgressError) -> Response[str]:
    return problem(409, "Conflict", "a request with this Idempotency-Key is in progress; repeat it in a moment")


@app.exception_handler(OverflowError)  # type: ignore[untyped-decorator]
def _out_of_range(exc: OverflowError) -> Response[str]:
    # The fields that take times are range-checked (moments.moment): this is the net under any that is not.
    logger.exception("time out of range")
    return problem(400, "Invalid request", f"a time in the request is out of range: {exc}",
                   [{"field": "request", "reason": "a time out of range"}])


@app.not_found
def _not_found(exc: Exception) -> Response[str]:
    event = app.current_event
    return problem(404, "Not found", f"no route {event.http_method} {event.path}")


@app.exception_handler(Exception)  # type: ignore[untyped-decorator]
def _unexpected(exc: Exception) -> Response[str]:
    logger.exception("unexpected error")
    request_id = app.current_event.request_context.request_id
    return problem(500, "Internal error", f"the request failed unexpectedly (request id {request_id}); it is "
                                          "logged with that id")
