"""Errors the run API answers with, as RFC 9457 problem details (application/problem+json)."""

from __future__ import annotations

import json
from typing import Any

from aws_lambda_powertools.event_handler import Response

CONTENT_TYPE = "application/problem+json"
TYPE_BASE = "urn:sluice:problem:"  # + the title as a slug (docs/api.md lists them)


class ApiProblem(Exception):
    status = 500
    title = "Internal error"

    def __init__(self, detail: str, *, errors: list[dict[str, str]] | None = None) -> None:
        super().__init__(detail)
        self.detail, self.errors = detail, errors or []

    def response(self) -> Response[str]:
        return problem(self.status, self.title, self.detail, self.errors)


class BadRequest(ApiProblem):
    status, title = 400, "Invalid request"


class NotFound(ApiProblem):
    status, title = 404, "Not found"


class Conflict(ApiProblem):
    status, title = 409, "Conflict"


class TooLarge(ApiProblem):
    status, title = 413, "Request too large"


def problem(status: int, title: str, detail: str, errors: list[dict[str, str]] | None = None) -> Response[str]:
    body: dict[str, Any] = {"type": TYPE_BASE + title.lower().replace(" ", "-"), "title": title, "status": status,
                            "detail": detail}
    if errors:
        body["errors"] = errors
    return Response(status_code=status, content_type=CONTENT_TYPE, body=json.dumps(body))
