"""Which scenario scripts an execution on `sluice local serve`: its request's, its parent's, or the server's."""

from __future__ import annotations

import json
from pathlib import Path

from sluice.local.run_scenarios import RunScenarios
from sluice.local.scenario import Scenario, Script

MACHINE = "arn:aws:states:eu-west-1:123456789012:stateMachine:sluice-"
EXECUTION = "arn:aws:states:eu-west-1:123456789012:execution:sluice-"


def test_a_run_named_with_a_scenario_and_its_child_runs_use_it_and_other_runs_the_servers(tmp_path: Path) -> None:
    # GIVEN a server scenario, and a request that names a scenario of its own
    server, own = Scenario({"a": Script(delay=1)}), Scenario({"a": Script(fail=1)})
    runs = RunScenarios(tmp_path, server, {})
    # WHEN the request starts a run, that run starts a child run, and another request starts a run
    with runs.asking(own):
        runs.starting({"stateMachineArn": f"{MACHINE}parent", "name": "api-1", "input": "{}"})
    child_input = json.dumps({"trigger": {"type": "parent", "pipeline": "parent", "run_id": "api-1", "task": "t"}})
    runs.starting({"stateMachineArn": f"{MACHINE}child", "name": "key-1", "input": child_input})
    with runs.asking(None):
        runs.starting({"stateMachineArn": f"{MACHINE}parent", "name": "api-2", "input": "{}"})
    # THEN the run and its child are scripted by the request's scenario, the other run by the server's
    assert runs.of(f"{EXECUTION}parent:api-1") is own and runs.of(f"{EXECUTION}child:key-1") is own
    assert runs.of(f"{EXECUTION}parent:api-2") is server
