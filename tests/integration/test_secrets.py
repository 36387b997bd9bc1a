"""No secret value anywhere Sluice writes: a secret planted in Secrets Manager and SSM, referred to by a pipeline,
never appears in the compiled definition, the synthesized templates, the execution's input and history, the run
store or the functions' logs. The job receives the reference, which it resolves with its own role."""

from __future__ import annotations

import datetime as dt
import json
import time
from pathlib import Path
from typing import Any

import pytest

from functions.adapters.jobs.base import JobState
from sluice.compile import compile_pipeline
from sluice.spec import load_text
from tests.support.runtime import TABLE, client, moto_runtime, routed_to_handlers

PLANTED = "hunter2-PLANTED-7f3a9c"
SPEC = """
name: warehouse-load
secrets:
  warehouse: {secretsmanager: prod/warehouse}
  api: {ssm: /prod/api/token}
params:
  table: {default: sales}
tasks:
  load:
    glue:
      job: load-warehouse
      arguments: {db_secret: "{{ secrets.warehouse }}", table: "{{ params.table }}"}
  notify:
    depends_on: [load]
    lambda:
      function: notify
      payload: {token_parameter: "{{ secrets.api }}", rows: 10}
"""


def pipeline() -> Any:
    found, problems = load_text(SPEC, "warehouse-load.yaml")
    assert found is not None, problems
    return found


@pytest.mark.moto
def test_a_run_that_uses_secrets_writes_only_their_references(capfd: pytest.CaptureFixture[str]) -> None:
    with moto_runtime(fake_tokens=False) as rt:
        # GIVEN the secret values exist where the pipeline says
        client("secretsmanager").create_secret(Name="prod/warehouse", SecretString=PLANTED)
        client("ssm").put_parameter(Name="/prod/api/token", Value=PLANTED, Type="SecureString")
        fake = rt.jobs["fake"]
        rt.jobs.update({"glue": fake, "lambda": fake})
        definition = json.dumps(compile_pipeline(pipeline()).definition)
        role = client("iam").create_role(RoleName="sfn", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
        fn = client("lambda").create_function(FunctionName="sluice-dispatch", Runtime="python3.12", Role=role,
                                              Handler="h", Code={"ZipFile": b"x"})["FunctionArn"]
        sfn = client("stepfunctions")
        machine = sfn.create_state_machine(name="sluice-warehouse-load", roleArn=role,
                                           definition=definition.replace("${DispatchFunctionArn}", fn))
        # WHEN a run goes through (every job succeeds)
        with routed_to_handlers(rt):
            arn = sfn.start_execution(stateMachineArn=machine["stateMachineArn"], name="run-1",
                                      input=json.dumps({"params": {"table": "orders"}}))["executionArn"]
            deadline = time.monotonic() + 60
            while sfn.describe_execution(executionArn=arn)["status"] == "RUNNING":
                assert time.monotonic() < deadline
                for external, state in list(fake.states.items()):
                    if state.status == "RUNNING":
                        fake.states[external] = JobState("SUCCEEDED", output={"ok": True})
                rt.sweeper.after_seconds = 0
                rt.sweeper.sweep()
                time.sleep(0.02)
        assert sfn.describe_execution(executionArn=arn)["status"] == "SUCCEEDED"
        history = sfn.get_execution_history(executionArn=arn, includeExecutionData=True)["events"]
        items = client("dynamodb").scan(TableName=TABLE)["Items"]
        # THEN the jobs got the references ...
        configs = {job.task: job.config for job in fake.jobs.values()}
        assert configs["load"]["arguments"]["--db_secret"] == "prod/warehouse"
        assert configs["notify"]["payload"]["token_parameter"] == "/prod/api/token"
        # ... and the value is nowhere Sluice wrote
        logs = capfd.readouterr()
        for where, text in {"definition": definition, "history": json.dumps(history, default=str),
                            "run store": json.dumps(items), "logs": logs.out + logs.err}.items():
            assert PLANTED not in text, f"the secret's value leaked into the {where}"
        assert "prod/warehouse" in json.dumps(items)  # the reference is recorded, for audit


@pytest.mark.synth
def test_the_synthesized_templates_hold_references_only(tmp_path: Path) -> None:
    from infra.app import build_app, default_assets
    from infra.config import load_env

    config = load_env("dev")
    built = build_app({"warehouse-load": pipeline()}, config, assets=default_assets(config.architecture),
                      outdir=str(tmp_path), now=dt.datetime(2026, 11, 29, tzinfo=dt.UTC))
    built.app.synth()
    templates = "".join(p.read_text() for p in tmp_path.glob("*.template.json"))
    assert "prod/warehouse" in templates and PLANTED not in templates
