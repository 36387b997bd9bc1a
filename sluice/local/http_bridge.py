"""API Gateway on one's own machine: a loopback HTTP server that hands each request to a Lambda handler.

It does what a REST API with a Lambda proxy integration on a `{proxy+}` resource does: builds the v1 proxy event,
calls the handler, and turns its proxy response back into HTTP. It knows no routes; the handler does the routing.
"""

from __future__ import annotations

import base64
import ipaddress
import json
import os
import socket
import sys
import threading
import time
import traceback
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

MAX_BODY_BYTES = 256 * 1024  # Sluice's request limit: run requests are small, and Lambda's own payload cap is 6 MB
LOCAL_ACCOUNT_ID = "123456789012"  # moto's default account, so ARNs agree with the locally provisioned resources
LOCAL_API_ID = "sluicelocal"
METHODS = ("DELETE", "GET", "HEAD", "OPTIONS", "PATCH", "POST", "PUT")  # what a REST API's ANY method covers
INTEGRATION_TIMEOUT_MS = 29_000  # API Gateway's default integration timeout: what the handler's context reports
READ_TIMEOUT_S = 10.0  # a client silent this long mid-request (a Content-Length past its body) gets a 400
_DRAIN_LIMIT = 16 * 1024 * 1024  # an oversize body up to this is read and dropped, so the client sees the 413
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_HOP_BY_HOP = {"connection", "content-length", "transfer-encoding", "keep-alive"}

Handler = Callable[[dict[str, Any], Any], Any]


def proxy_event(method: str, path: str, query: Mapping[str, Sequence[str]], headers: Mapping[str, str | Sequence[str]],
                body: bytes, *, stage: str = "local", source_ip: str = "127.0.0.1",
                principal: str | None = None) -> dict[str, Any]:
    """The API Gateway REST API (v1) proxy event for one request, as a `ANY /{proxy+}` resource receives it.

    `path` is the request path without the stage, still percent-encoded (as API Gateway passes it); `query` holds
    decoded values. `principal` is the caller's ARN, put where IAM authorization puts it (identity.userArn, caller).
    """
    method = method.upper()
    if method not in METHODS:
        raise ValueError(f"API Gateway REST APIs take {', '.join(METHODS)}, not {method}")
    if not path.startswith("/"):
        raise ValueError(f"the path must start with '/': {path!r}")
    multi_headers = {name: [value] if isinstance(value, str) else list(value) for name, value in headers.items()}
    # API Gateway's single-value maps keep the last value of a repeated header or parameter.
    single_headers = {name: values[-1] for name, values in multi_headers.items() if values}
    multi_query = {name: list(values) for name, values in query.items() if values}
    resource, path_parameters = ("/", None) if path == "/" else ("/{proxy+}", {"proxy": unquote(path[1:])})
    now = datetime.now(UTC)
    lowered = {name.lower(): value for name, value in single_headers.items()}
    text, encoded = _body(body)
    account = principal.split(":")[4] if principal and principal.count(":") >= 5 else None
    return {
        "resource": resource,
        "path": path,
        "httpMethod": method,
        "headers": single_headers,
        "multiValueHeaders": multi_headers,
        "queryStringParameters": {name: values[-1] for name, values in multi_query.items()} or None,
        "multiValueQueryStringParameters": multi_query or None,
        "pathParameters": path_parameters,
        "stageVariables": None,
        "requestContext": {
            "accountId": LOCAL_ACCOUNT_ID,
            "apiId": LOCAL_API_ID,
            "domainName": lowered.get("host", "127.0.0.1"),
            "domainPrefix": LOCAL_API_ID,
            "extendedRequestId": uuid.uuid4().hex[:16],
            "httpMethod": method,
            "identity": {
                "accessKey": None, "accountId": account, "apiKey": None, "apiKeyId": None, "caller": principal,
                "cognitoAuthenticationProvider": None, "cognitoAuthenticationType": None,
                "cognitoIdentityId": None, "cognitoIdentityPoolId": None, "principalOrgId": None,
                "sourceIp": source_ip, "user": principal, "userAgent": lowered.get("user-agent"),
                "userArn": principal,
            },
            "path": f"/{stage}{path}",  # the execute-api host puts the stage in front of the resource path
            "protocol": "HTTP/1.1",
            "requestId": str(uuid.uuid4()),
            "requestTime": f"{now:%d}/{_MONTHS[now.month - 1]}/{now:%Y:%H:%M:%S} +0000",
            "requestTimeEpoch": int(now.timestamp() * 1000),
            "resourceId": "local",
            "resourcePath": resource,
            "stage": stage,
        },
        "body": text,
        "isBase64Encoded": encoded,
    }


def _body(body: bytes) -> tuple[str | None, bool]:
    if not body:
        return None, False
    try:
        return body.decode("utf-8"), False
    except UnicodeDecodeError:
        return base64.b64encode(body).decode("ascii"), True


@dataclass
class LocalLambdaContext:
    """The part of Lambda's context object that handlers and Powertools read."""

    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    function_name: str = "sluice-run-api"
    memory_limit_in_mb: int = 256
    invoked_function_arn: str = field(default_factory=lambda: "arn:aws:lambda:{}:{}:function:sluice-run-api".format(
        os.environ.get("AWS_DEFAULT_REGION", "us-east-1"), LOCAL_ACCOUNT_ID))
    deadline: float = field(default_factory=lambda: time.monotonic() + INTEGRATION_TIMEOUT_MS / 1000)

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self.deadline - time.monotonic()) * 1000))


def problem(status: int, detail: str) -> bytes:
    """An RFC 9457 problem-details body for a status whose meaning is just its HTTP reason phrase."""
    title = "Content Too Large" if status == 413 else HTTPStatus(status).phrase  # RFC 9110's name; 3.11 has the old
    return json.dumps({"type": "about:blank", "title": title, "status": status, "detail": detail}).encode()


class BridgeServer:
    """The running bridge: `start_in_thread()` or `serve_forever()`, then `shutdown()`; or use it in a `with`."""

    def __init__(self, handler: Handler, *, host: str, port: int, max_body_bytes: int, access_log: bool,
                 principal: str | None, stage: str, read_timeout: float = READ_TIMEOUT_S) -> None:
        _require_loopback(host)
        self.handler, self.max_body_bytes, self.access_log = handler, max_body_bytes, access_log
        self.read_timeout = read_timeout
        self.principal, self.stage = principal, stage
        self._httpd = _HTTPServer((host, port), _RequestHandler, bridge=self)
        bound = str(self._httpd.server_address[0])
        if not ipaddress.ip_address(bound).is_loopback:  # "localhost" may resolve to anything
            self._httpd.server_close()
            raise ValueError(f"{host} resolved to {bound}, which is not a loopback address")
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        host, port = self._httpd.server_address[:2]
        host = str(host)
        return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"

    def start_in_thread(self) -> BridgeServer:
        # A short poll interval: shutdown() waits up to one interval, and tests start and stop many servers.
        self._thread = threading.Thread(target=self._httpd.serve_forever, args=(0.05,), name="sluice-http-bridge",
                                        daemon=True)
        self._thread.start()
        return self

    def serve_forever(self) -> None:
        self._httpd.serve_forever()

    def shutdown(self) -> None:
        if self._thread is not None:  # BaseServer.shutdown() waits for a serve_forever loop: only stop a running one
            self._httpd.shutdown()
            self._thread.join()
            self._thread = None
        self._httpd.server_close()

    def __enter__(self) -> BridgeServer:
        return self.start_in_thread() if self._thread is None else self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 trace: TracebackType | None) -> None:
        self.shutdown()


def serve(handler: Handler, *, host: str = "127.0.0.1", port: int = 0, max_body_bytes: int = MAX_BODY_BYTES,
          access_log: bool = False, principal: str | None = None, stage: str = "local",
          read_timeout: float = READ_TIMEOUT_S) -> BridgeServer:
    """Bind a bridge to `handler` on a loopback address (port 0: any free one); it serves once started.
    A request whose head or body does not arrive within `read_timeout` seconds is answered 400 (or dropped)."""
    return BridgeServer(handler, host=host, port=port, max_body_bytes=max_body_bytes, access_log=access_log,
                        principal=principal, stage=stage, read_timeout=read_timeout)


def _require_loopback(host: str) -> None:
    try:
        loopback = host == "localhost" or ipaddress.ip_address(host).is_loopback
    except ValueError:
        loopback = False
    if not loopback:
        raise ValueError(f"the local API only binds loopback addresses (127.0.0.1, ::1, localhost), not {host!r}: "
                         "it has no authentication")


class _HTTPServer(ThreadingHTTPServer):
    def __init__(self, address: tuple[str, int], handler: type[BaseHTTPRequestHandler], *,
                 bridge: BridgeServer) -> None:
        if ":" in address[0]:
            self.address_family = socket.AF_INET6
        self.bridge = bridge
        super().__init__(address, handler)

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client that hangs up mid-response is not worth a traceback; anything else is.
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


class _RequestHandler(BaseHTTPRequestHandler):
    server: _HTTPServer

    def setup(self) -> None:
        super().setup()
        self.connection.settimeout(self.server.bridge.read_timeout)  # no read (head or body) blocks for ever

    def _serve(self) -> None:
        bridge = self.server.bridge
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            return self._send(HTTPStatus.LENGTH_REQUIRED, problem(411, "send the body with a Content-Length"))
        text = (self.headers.get("Content-Length") or "0").strip()
        if not text.isascii() or not text.lstrip("-").isdigit():
            return self._refuse(f"the Content-Length header is not a number of bytes: {text[:40]!r}")
        length = int(text)
        if length < 0:
            return self._refuse(f"the Content-Length header is negative ({length}): send the body's size in bytes")
        if length > bridge.max_body_bytes:
            if length <= _DRAIN_LIMIT:
                self._read(length)
            return self._send(HTTPStatus.REQUEST_ENTITY_TOO_LARGE, problem(
                413, f"the request body is {length} bytes; the API accepts at most {bridge.max_body_bytes}"))
        body = self._read(length) if length else b""
        if len(body) < length:
            return self._refuse(f"the body ended after {len(body)} of the {length} bytes its Content-Length "
                                f"announced (nothing more came for {bridge.read_timeout:g} s)")
        target = urlsplit(self.path)
        headers: dict[str, list[str]] = {}
        for name, value in self.headers.items():
            headers.setdefault(name, []).append(value)
        event = proxy_event(self.command, target.path or "/", parse_qs(target.query, keep_blank_values=True),
                            headers, body, stage=bridge.stage, source_ip=self.client_address[0],
                            principal=bridge.principal)
        try:
            status, out_headers, out_body = _proxy_response(bridge.handler(event, LocalLambdaContext()))
        except Exception as error:
            # API Gateway answers a failed or malformed invocation with 502; locally, the traceback says why.
            print(f"sluice local API: {self.command} {self.path} failed:", file=sys.stderr)
            traceback.print_exc(file=sys.stderr)
            return self._send(HTTPStatus.BAD_GATEWAY, problem(
                502, f"the API handler failed: {type(error).__name__}: {error}"))
        self._send(status, out_body, out_headers)

    def _read(self, length: int) -> bytes:
        """Up to `length` bytes of the body: fewer when the client stops sending for longer than the timeout."""
        body = b""
        try:
            while len(body) < length:
                chunk = self.rfile.read1(length - len(body))
                if not chunk:
                    break
                body += chunk
        except TimeoutError:
            pass
        return body

    def _refuse(self, detail: str) -> None:
        self.close_connection = True  # what follows on this connection cannot be told from the bad request's body
        self._send(HTTPStatus.BAD_REQUEST, problem(400, detail))

    do_DELETE = do_GET = do_HEAD = do_OPTIONS = do_PATCH = do_POST = do_PUT = _serve

    def _not_allowed(self) -> None:
        # Outside what a REST API's ANY method covers: refused as a client error, never a server one.
        self._send(HTTPStatus.METHOD_NOT_ALLOWED, problem(405, f"method {self.command} is not supported"),
                   [("Content-Type", "application/problem+json"), ("Allow", ", ".join(METHODS))])

    def __getattr__(self, name: str) -> Any:
        # http.server answers a method without a do_<METHOD> with 501 (a server error): TRACE, QUERY, ...
        if name.startswith("do_"):
            return self._not_allowed
        raise AttributeError(name)

    def _send(self, status: int, body: bytes, headers: Sequence[tuple[str, str]] | None = None) -> None:
        self.send_response(status)
        for name, value in headers if headers is not None else [("Content-Type", "application/problem+json")]:
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        if self.server.bridge.access_log:
            super().log_message(format, *args)


def _proxy_response(result: Any) -> tuple[int, list[tuple[str, str]], bytes]:
    """Status, headers and body of a Lambda proxy response; ValueError for one API Gateway would call malformed."""
    if not isinstance(result, dict) or not isinstance(result.get("statusCode"), int):
        raise ValueError(f"malformed Lambda proxy response (no integer statusCode): {str(result)[:200]}")
    body = result.get("body") or ""
    if not isinstance(body, str):
        raise ValueError(f"malformed Lambda proxy response: body is a {type(body).__name__}, not a string")
    raw = base64.b64decode(body) if result.get("isBase64Encoded") else body.encode("utf-8")
    # As API Gateway does: both maps are merged, and multiValueHeaders wins for a name that is in both.
    multi = {name: [str(v) for v in values] for name, values in (result.get("multiValueHeaders") or {}).items()}
    taken = {name.lower() for name in multi}
    single = {name: [str(value)] for name, value in (result.get("headers") or {}).items() if name.lower() not in taken}
    headers = [(name, value) for name, values in {**single, **multi}.items() for value in values
               if name.lower() not in _HOP_BY_HOP]
    return result["statusCode"], headers, raw
