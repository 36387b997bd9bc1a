"""The run API's OpenAPI document: current in docs/, and honoured by the API (schemathesis against a served API).

The API is what `sluice local serve` runs (sluice/local/serve.LocalServer): the real handler behind the local HTTP
bridge, on moto with every example pipeline deployed, its runs executing as local runs do. schemathesis generates
requests from docs/openapi.json, valid and invalid, and checks every answer: never a 5xx, a documented status and
content type, and a body that matches its schema.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from functions.api.openapi import document
from sluice.local.serve import LocalServer
from tests.support.pipelines import examples

pytestmark = pytest.mark.moto
DOCUMENT = Path(__file__).resolve().parents[2] / "docs" / "openapi.json"
SCHEMA = schemathesis.openapi.from_path(str(DOCUMENT))
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]


def test_the_exported_document_is_current() -> None:
    # GIVEN the routes and models as they are WHEN their document is generated THEN it is what docs/ holds
    assert DOCUMENT.read_text() == document(), "docs/openapi.json is stale: run `make openapi`"


def test_every_operation_is_documented_with_problem_details_and_sigv4() -> None:
    spec = json.loads(DOCUMENT.read_text())
    assert spec["security"] == [{"sigv4": []}]
    for path, methods in spec["paths"].items():
        for method, operation in methods.items():
            assert "400" in operation["responses"] and "422" not in operation["responses"], (method, path)


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with LocalServer(examples(), port=0, work_dir=tmp_path_factory.mktemp("serve")) as server:
        yield server.url


@SCHEMA.parametrize()
@settings(max_examples=25, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much,
                                 HealthCheck.function_scoped_fixture])
def test_the_api_honours_its_document(case: Any, served: str) -> None:
    case.call_and_validate(base_url=served, checks=CHECKS)
