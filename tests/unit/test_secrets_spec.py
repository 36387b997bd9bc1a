"""Secrets by reference: declared under `secrets:`, used as {{ secrets.NAME }}; plain-text secrets refused."""

from __future__ import annotations

import pytest

from sluice.compile import compile_pipeline
from sluice.spec import load_text

BASE = """
name: warehouse-load
secrets:
  warehouse: {secretsmanager: prod/warehouse}
  api: {ssm: /prod/api/token}
tasks:
  load:
    glue:
      job: load-warehouse
      arguments: {db_secret: "{{ secrets.warehouse }}", api: "prefix-{{ secrets.api }}"}
"""


def test_a_secret_renders_to_its_reference_at_compile_time() -> None:
    pipeline, problems = load_text(BASE, "warehouse-load.yaml")
    assert pipeline is not None, problems
    text = str(compile_pipeline(pipeline).definition)
    assert "'--db_secret': 'prod/warehouse'" in text and "'--api': 'prefix-/prod/api/token'" in text
    assert "secrets." not in text


@pytest.mark.parametrize(("change", "where", "message"), [
    (("{{ secrets.warehouse }}", "{{ secrets.warehous }}"), "tasks.load.glue.arguments.db_secret",
     "unknown secret 'warehous'"),
    (("{secretsmanager: prod/warehouse}", "{secretsmanager: prod/warehouse, ssm: /x}"), "secrets.warehouse",
     "exactly one of"),
    (("{ssm: /prod/api/token}", "{ssm: 'not a name!'}"), "secrets.api", "not an SSM parameter name"),
    (("tasks:", "params:\n  db_password: {default: hunter2}\ntasks:"), "params.db_password.default",
     "looks like a secret"),
    (("tasks:", "schedules:\n  - {rate: 1 day, params: {api_key: abc}}\ntasks:"), "schedules.0.params.api_key",
     "looks like a secret"),
])
def test_bad_secrets_are_errors_with_a_location(change: tuple[str, str], where: str, message: str) -> None:
    pipeline, problems = load_text(BASE.replace(*change), "warehouse-load.yaml")
    assert pipeline is None
    found = [p for p in problems if message in p.message]
    assert found, [str(p) for p in problems]
    assert ".".join(str(part) for part in found[0].path) == where, str(found[0])


def test_a_secret_looking_param_without_a_default_is_fine() -> None:
    # A value given per run (API, CLI) is the caller's choice; only a value in the file is refused.
    pipeline, problems = load_text(BASE.replace("tasks:", "params:\n  auth_token: {type: string}\ntasks:"), "x.yaml")
    assert pipeline is not None, problems
