"""The CLI's side of the run API: JSON over HTTPS, SigV4-signed for a deployed API, unsigned for `sluice local serve`.

Only the standard library moves bytes; botocore (from the `runtime` extra) is imported only to sign.
"""

from __future__ import annotations

import ipaddress
import json
import re
import urllib.error
import urllib.request
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlencode, urlsplit

RUN_API_URL_OUTPUT = "RunApiUrl"  # the CloudFormation output the infra exports the run API's URL as
_ACCEPT = "application/json, application/problem+json"
_USER_AGENT = "sluice-cli"
_EXECUTE_API_HOST = re.compile(r"^[a-z0-9]+\.execute-api\.([a-z0-9-]+)\.amazonaws\.com(\.cn)?$")

Query = Mapping[str, str | int | Sequence[str]]


@dataclass(frozen=True)
class ApiResponse:
    status: int
    headers: dict[str, str]  # lower-cased names; a repeated header's values joined with ", "
    body_json: Any  # None for an empty body


class ApiError(Exception):
    """A run API call that did not succeed: `status` None when no HTTP response came back at all."""

    def __init__(self, status: int | None, problem: dict[str, Any] | None = None, *, message: str | None = None,
                 method: str = "", url: str = "", body: str = "") -> None:
        self.status, self.problem, self.method, self.url, self.body = status, problem or {}, method, url, body
        super().__init__(message or _describe(status, self.problem, method, url, body))


def _describe(status: int | None, problem: dict[str, Any], method: str, url: str, body: str) -> str:
    title = problem.get("title") or problem.get("message")  # "message": what API Gateway's own errors carry
    parts = [str(title)] if title else []
    if problem.get("detail"):
        parts.append(str(problem["detail"]))
    errors = problem.get("errors")
    if isinstance(errors, list) and errors:
        parts.append("; ".join(f"{e.get('field', '?')}: {e.get('reason', '?')}" if isinstance(e, dict) else str(e)
                               for e in errors))
    if not parts:
        parts.append(body.strip()[:500] or "(empty body)")
    text = ": ".join(parts)
    return " ".join(f"{text} (HTTP {status} from {method} {url})".split())  # one line, whatever the server sent


class ApiClient:
    """A client for the run API at `base_url` (the stage URL, e.g. the stack's RunApiUrl output)."""

    def __init__(self, base_url: str, *, sign: bool, region: str | None = None, session: Any = None,
                 timeout: float = 30) -> None:
        split = urlsplit(base_url)
        if split.scheme not in ("http", "https") or not split.hostname:
            raise ValueError(f"not an http(s) URL: {base_url!r}")
        self.base_url, self.sign, self.timeout = base_url.rstrip("/"), sign, timeout
        self.loopback = _is_loopback(split.hostname)
        self._session = session
        self.region = region
        if sign:
            if self._session is None:
                import boto3

                self._session = boto3.Session(region_name=region)
            match = _EXECUTE_API_HOST.match(split.hostname)
            self.region = region or (match.group(1) if match else None) or self._session.region_name
            if not self.region:
                raise ValueError("signing needs a region: pass one, or set AWS_REGION / a profile region")
        # A proxy from HTTP(S)_PROXY must not see loopback traffic; a deployed API goes the way other traffic does.
        handlers = [urllib.request.ProxyHandler({})] if self.loopback else []
        self._opener = urllib.request.build_opener(*handlers)

    def get(self, path: str, *, query: Query | None = None, headers: Mapping[str, str] | None = None) -> ApiResponse:
        return self.request("GET", path, query=query, headers=headers)

    def post(self, path: str, *, json_body: Any = None, query: Query | None = None,
             headers: Mapping[str, str] | None = None) -> ApiResponse:
        return self.request("POST", path, query=query, json_body=json_body, headers=headers)

    def request(self, method: str, path: str, *, query: Query | None = None, json_body: Any = None,
                headers: Mapping[str, str] | None = None) -> ApiResponse:
        """Send one request; the decoded JSON answer of a 2xx, else `ApiError`."""
        method = method.upper()
        url = self.base_url + "/" + quote(path.lstrip("/"), safe="/%:@!$&'()*+,;=-._~")
        if query:
            pairs = [(k, v) for k, values in query.items()
                     for v in ([values] if isinstance(values, str | int) else values)]
            url += "?" + urlencode(pairs)
        data = None if json_body is None else json.dumps(json_body).encode("utf-8")
        sent = {"Accept": _ACCEPT, "User-Agent": _USER_AGENT}
        if data is not None:
            sent["Content-Type"] = "application/json"
        sent.update(headers or {})
        if self.sign:
            sent = self._signed(method, url, sent, data)
        request = urllib.request.Request(url, data=data, headers=sent, method=method)
        try:
            with self._opener.open(request, timeout=self.timeout) as response:
                return _answer(response.status, response.headers, response.read(), method, url)
        except urllib.error.HTTPError as error:
            with error:
                raw = error.read()
            return _answer(error.code, error.headers, raw, method, url)
        except (urllib.error.URLError, OSError) as error:
            reason = getattr(error, "reason", error)
            hint = "; is `sluice local serve` running?" if self.loopback else ""
            raise ApiError(None, message=f"cannot reach the run API at {url}: {reason}{hint}", method=method,
                           url=url) from error

    def _signed(self, method: str, url: str, headers: dict[str, str], data: bytes | None) -> dict[str, str]:
        from botocore.auth import SigV4Auth
        from botocore.awsrequest import AWSRequest

        credentials = self._session.get_credentials()
        if credentials is None:
            raise ApiError(None, message="no AWS credentials found to sign the run API request "
                                         "(set AWS_PROFILE or run `aws sso login`)", method=method, url=url)
        signed = AWSRequest(method=method, url=url, data=data or b"", headers=headers)
        # Frozen: a refreshing credential must not change between the signature and the token header.
        SigV4Auth(credentials.get_frozen_credentials(), "execute-api", self.region).add_auth(signed)
        return dict(signed.headers.items())


def _answer(status: int, headers: Any, raw: bytes, method: str, url: str) -> ApiResponse:
    names: dict[str, str] = {}
    for name, value in headers.items():
        key = name.lower()
        names[key] = f"{names[key]}, {value}" if key in names else value
    text = raw.decode("utf-8", errors="replace")
    try:
        decoded = json.loads(text) if text.strip() else None
        parsed = True
    except ValueError:
        decoded, parsed = None, False
    if not 200 <= status < 300:
        raise ApiError(status, decoded if isinstance(decoded, dict) else None, method=method, url=url, body=text)
    if not parsed:
        raise ApiError(status, message=f"the run API answered {method} {url} with HTTP {status} but not JSON: "
                                       f"{' '.join(text[:200].split())}", method=method, url=url, body=text)
    return ApiResponse(status, names, decoded)


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def endpoint_from_stack_outputs(outputs: list[dict[str, Any]]) -> str:
    """The run API URL among a CloudFormation stack's outputs (`describe_stacks()["Stacks"][0]["Outputs"]`)."""
    for output in outputs:
        if output.get("OutputKey") == RUN_API_URL_OUTPUT and output.get("OutputValue"):
            return str(output["OutputValue"])
    present = ", ".join(sorted(str(o.get("OutputKey")) for o in outputs)) or "none"
    raise LookupError(f"the stack has no {RUN_API_URL_OUTPUT} output (its outputs: {present}); "
                      "is it a Sluice stack deployed with the run API?")
