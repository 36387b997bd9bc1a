"""The local HTTP bridge (API Gateway stand-in) and the run API client, over real loopback sockets."""

from __future__ import annotations

import base64
import datetime
import json
import urllib.request
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response
from aws_lambda_powertools.utilities.parser.models import APIGatewayProxyEventModel
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from sluice.api_client import ApiClient, ApiError, endpoint_from_stack_outputs
from sluice.local.http_bridge import MAX_BODY_BYTES, BridgeServer, proxy_event, serve

PRINCIPAL = "arn:aws:iam::123456789012:user/alice"
PROBLEM = "application/problem+json"

app = APIGatewayRestResolver()


@app.get("/runs/<run_id>")
def get_run(run_id: str) -> dict[str, Any]:
    event = app.current_event
    return {"run_id": run_id, "tags": event.multi_value_query_string_parameters.get("tag"),
            "limit": event.query_string_parameters.get("limit"),
            "idempotency_key": event.headers.get("Idempotency-Key"),
            "caller": event.request_context.identity.user_arn, "proxy": event.path_parameters.get("proxy")}


@app.post("/runs")
def start_run() -> Response[str]:
    body = app.current_event.json_body
    if "pipeline" not in body:
        return Response(422, PROBLEM, json.dumps({
            "type": "https://sluice.dev/problems/invalid-request", "title": "Invalid request", "status": 422,
            "detail": "the run request is invalid", "errors": [{"field": "pipeline", "reason": "is required"}]}))
    return Response(201, "application/json", json.dumps({"pipeline": body["pipeline"], "params": body.get("params")}),
                    headers={"Location": "/runs/r-1", "X-Multi": ["a", "b"]})


@app.get("/boom")
def boom() -> dict[str, Any]:
    raise RuntimeError("kaboom")


@app.get("/binary")
def binary() -> Response[bytes]:
    return Response(200, "application/octet-stream", b"\x00\xffsluice")


class Recorder:
    """The handler under test, remembering the events it was called with."""

    def __init__(self) -> None:
        self.events: list[dict[str, Any]] = []

    def __call__(self, event: dict[str, Any], context: Any) -> dict[str, Any]:
        self.events.append(event)
        assert context.get_remaining_time_in_millis() > 0 and context.invoked_function_arn.startswith("arn:aws:")
        return app.resolve(event, context)


@pytest.fixture
def handler() -> Recorder:
    return Recorder()


@pytest.fixture
def server(handler: Recorder) -> Iterator[BridgeServer]:
    with serve(handler, principal=PRINCIPAL) as running:
        yield running


@pytest.fixture
def client(server: BridgeServer) -> ApiClient:
    return ApiClient(server.url, sign=False)


def test_get_carries_path_params_multi_value_query_headers_and_principal(client: ApiClient, handler: Recorder) -> None:
    # GIVEN the bridge in front of a Powertools REST resolver
    # WHEN a run is read with a repeated query parameter and an Idempotency-Key header
    response = client.get("/runs/r-42", query={"tag": ["a", "b"], "limit": 5}, headers={"Idempotency-Key": "k-1"})
    # THEN the route gets its path parameter, every query value, the header, and the caller as IAM would give it
    assert response.status == 200
    assert response.body_json == {"run_id": "r-42", "tags": ["a", "b"], "limit": "5", "idempotency_key": "k-1",
                                  "caller": PRINCIPAL, "proxy": "runs/r-42"}
    # AND the event is the one a `/{proxy+}` resource on a stage receives
    event = handler.events[0]
    assert (event["resource"], event["requestContext"]["path"]) == ("/{proxy+}", "/local/runs/r-42")
    assert event["queryStringParameters"] == {"tag": "b", "limit": "5"}


def test_post_json_body_status_and_multi_value_response_headers(client: ApiClient) -> None:
    # GIVEN the bridge WHEN a run is started with a JSON body
    response = client.post("/runs", json_body={"pipeline": "daily", "params": {"day": "2024-01-02"}})
    # THEN the handler's status, JSON and headers (each value of a multi-value one) come back
    assert response.status == 201
    assert response.body_json == {"pipeline": "daily", "params": {"day": "2024-01-02"}}
    assert response.headers["location"] == "/runs/r-1"
    assert response.headers["x-multi"] == "a, b"


def test_problem_details_become_an_api_error_with_a_one_line_message(client: ApiClient) -> None:
    # GIVEN the bridge WHEN a request the API rejects with problem details is sent
    with pytest.raises(ApiError) as caught:
        client.post("/runs", json_body={"params": {}})
    # THEN ApiError carries the status and problem, and reads as one line naming the field and why
    assert caught.value.status == 422 and caught.value.problem["title"] == "Invalid request"
    message = str(caught.value)
    assert message.startswith("Invalid request: the run request is invalid: pipeline: is required (HTTP 422")
    assert "\n" not in message


def test_a_non_problem_error_body_still_makes_a_readable_api_error(client: ApiClient) -> None:
    # GIVEN the bridge WHEN a path no route matches is requested
    with pytest.raises(ApiError) as caught:
        client.get("/nowhere")
    # THEN Powertools' own 404 body ({"message": ...}) gives the message
    assert caught.value.status == 404 and str(caught.value).startswith("Not found (HTTP 404 from GET")


@pytest.mark.parametrize(("limit", "size", "status"), [(64, 64, 422), (64, 65, 413), (MAX_BODY_BYTES, None, 413)])
def test_bodies_over_the_limit_get_413_without_calling_the_handler(limit: int, size: int | None, status: int) -> None:
    # GIVEN a bridge with a body limit (the default one in the last case)
    handler = Recorder()
    with serve(handler, max_body_bytes=limit) as running:
        client = ApiClient(running.url, sign=False)
        # WHEN a JSON body exactly at the limit, or one byte over it, is posted
        overhead = len(json.dumps({"x": ""}))
        with pytest.raises(ApiError) as caught:
            client.post("/runs", json_body={"x": "y" * ((size or limit + 1) - overhead)})
    # THEN at the limit the handler answers (422: no pipeline); over it the bridge answers 413 problem details alone
    assert caught.value.status == status
    if status == 413:
        assert handler.events == []
        assert caught.value.problem["status"] == 413 and caught.value.problem["title"] == "Content Too Large"
        assert set(caught.value.problem) == {"type", "title", "status", "detail"}
    else:
        assert len(handler.events) == 1


def test_a_handler_exception_is_a_502_and_the_server_keeps_serving(client: ApiClient,
                                                                    capsys: pytest.CaptureFixture[str]) -> None:
    # GIVEN the bridge WHEN a route raises
    with pytest.raises(ApiError) as caught:
        client.get("/boom")
    # THEN the client gets 502 problem details, the traceback goes to stderr
    assert caught.value.status == 502 and "RuntimeError: kaboom" in caught.value.problem["detail"]
    assert "RuntimeError: kaboom" in capsys.readouterr().err
    # AND the next request is served
    assert client.get("/runs/r-1").status == 200


@pytest.mark.parametrize("access_log", [False, True])
def test_requests_are_logged_only_when_asked(access_log: bool, capsys: pytest.CaptureFixture[str]) -> None:
    # GIVEN a bridge with or without access logging WHEN a request is served
    with serve(Recorder(), access_log=access_log) as running:
        ApiClient(running.url, sign=False).get("/runs/r-1")
    # THEN stderr has an access line only when asked for
    err = capsys.readouterr().err
    assert ('"GET /runs/r-1 HTTP/1.1" 200' in err) is access_log


def test_a_base64_response_body_is_sent_decoded(server: BridgeServer) -> None:
    # GIVEN the bridge WHEN a route returns bytes (Powertools base64-encodes them, isBase64Encoded true)
    with urllib.request.urlopen(f"{server.url}/binary", timeout=5) as response:
        # THEN the HTTP body is the bytes themselves
        assert response.read() == b"\x00\xffsluice"


@pytest.mark.parametrize("host", ["0.0.0.0", "::", "192.168.1.10", "example.com"])
def test_only_loopback_addresses_can_be_bound(host: str) -> None:
    # GIVEN a non-loopback address WHEN the bridge is asked to bind it THEN it refuses, saying why
    with pytest.raises(ValueError, match="loopback"):
        serve(Recorder(), host=host)


def test_a_refused_connection_to_a_loopback_url_suggests_local_serve() -> None:
    # GIVEN a bridge that has stopped (its port is free again)
    server = serve(Recorder())
    url = server.url
    server.shutdown()
    # WHEN the client calls it THEN ApiError names the URL and suggests `sluice local serve`
    with pytest.raises(ApiError, match="sluice local serve") as caught:
        ApiClient(url, sign=False).get("/runs/r-1")
    assert caught.value.status is None and url in str(caught.value)


@pytest.mark.parametrize("body", [b"", b'{"a": 1}', b"\xff\xfe\x00binary"])
def test_proxy_event_validates_against_the_powertools_model(body: bytes) -> None:
    # GIVEN a request with repeated headers and query values, and an empty, text or binary body
    event = proxy_event("post", "/runs/a%2Fb", {"tag": ["a", "b"]}, {"Host": "127.0.0.1:8080", "X-Dup": ["1", "2"]},
                        body, principal=PRINCIPAL)
    # WHEN Powertools' parser model reads it THEN it is a valid API Gateway REST proxy event
    model = APIGatewayProxyEventModel.model_validate(event)
    assert model.httpMethod == "POST" and model.path == "/runs/a%2Fb"
    assert model.pathParameters == {"proxy": "runs/a/b"} and model.headers["X-Dup"] == "2"
    identity = model.requestContext.identity
    assert identity.userArn == PRINCIPAL and identity.accountId == "123456789012"
    # AND the body is text when it is UTF-8, base64 when not, None when empty
    if not body:
        assert (event["body"], event["isBase64Encoded"]) == (None, False)
    elif event["isBase64Encoded"]:
        assert base64.b64decode(event["body"]) == body
    else:
        assert event["body"] == body.decode()


def test_proxy_event_for_the_root_has_no_proxy_parameter_and_no_query_maps() -> None:
    # GIVEN a bare GET of the root WHEN its event is built THEN it is the root resource's, with null maps
    event = proxy_event("GET", "/", {}, {}, b"", principal=None)
    assert (event["resource"], event["pathParameters"], event["queryStringParameters"]) == ("/", None, None)
    assert event["multiValueQueryStringParameters"] is None and event["requestContext"]["identity"]["userArn"] is None
    APIGatewayProxyEventModel.model_validate(event)


@pytest.mark.parametrize("token", [None, "session-token"])
def test_signed_requests_carry_a_valid_sigv4_signature(token: str | None, monkeypatch: pytest.MonkeyPatch) -> None:
    # GIVEN fixed fake credentials and a fixed clock, and the bridge recording what arrives
    fixed = datetime.datetime(2024, 1, 2, 3, 4, 5)
    monkeypatch.setattr("botocore.auth.get_current_datetime", lambda *_, **__: fixed)
    credentials = Credentials("AKIDEXAMPLE", "secret", token)
    handler = Recorder()
    with serve(handler) as running:
        session = boto3.Session(aws_access_key_id="AKIDEXAMPLE", aws_secret_access_key="secret",
                                aws_session_token=token)
        client = ApiClient(running.url, sign=True, region="eu-west-1", session=session)
        # WHEN a signed POST with a query is sent
        client.post("/runs", json_body={"pipeline": "daily"}, query={"dry": "1"})
    headers = handler.events[0]["headers"]
    # THEN it carries the SigV4 headers for execute-api in the region, dated by the clock
    assert headers["Authorization"].startswith(
        "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20240102/eu-west-1/execute-api/aws4_request, SignedHeaders=")
    assert headers["X-Amz-Date"] == "20240102T030405Z"
    assert headers.get("X-Amz-Security-Token") == token
    # AND the signature matches the request as received (what API Gateway checks): nothing changed after signing
    signed_names = headers["Authorization"].split("SignedHeaders=")[1].split(",")[0].split(";")
    received = AWSRequest(method="POST", url=f"{running.url}/runs?dry=1", data=handler.events[0]["body"].encode(),
                          headers={k: v for k, v in headers.items() if k.lower() in signed_names})
    SigV4Auth(credentials, "execute-api", "eu-west-1").add_auth(received)
    assert received.headers["Authorization"] == headers["Authorization"]


def test_the_region_comes_from_an_execute_api_url() -> None:
    # GIVEN a deployed API URL WHEN a signing client is made without a region THEN it signs for the URL's region
    client = ApiClient("https://abc123.execute-api.eu-central-1.amazonaws.com/prod", sign=True)
    assert client.region == "eu-central-1"


def test_the_endpoint_is_the_run_api_url_stack_output() -> None:
    # GIVEN stack outputs WHEN the endpoint is looked up THEN RunApiUrl is chosen, else the error lists what exists
    outputs = [{"OutputKey": "Other", "OutputValue": "x"}, {"OutputKey": "RunApiUrl", "OutputValue": "https://a/p/"}]
    assert endpoint_from_stack_outputs(outputs) == "https://a/p/"
    with pytest.raises(LookupError, match=r"no RunApiUrl output \(its outputs: Other\)"):
        endpoint_from_stack_outputs(outputs[:1])
