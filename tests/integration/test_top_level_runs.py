"""A top-level run's end (no Sluice task started it) is no job's end: `complete` ignores it at once, with a log line,
instead of raising until it lands in the dead-letter queue; a child run's end is still retried until recorded."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from functions.adapters.clock import utc_now
from tests.support.runtime import LambdaContext, installed, logged, moto_runtime

EVENTS = Path(__file__).resolve().parents[1] / "events"


@pytest.fixture
def rt() -> Any:
    with moto_runtime() as runtime, installed(runtime):
        yield runtime


def execution_end(run_input: Any) -> dict[str, Any]:
    event: dict[str, Any] = json.loads((EVENTS / "sfn_execution_succeeded.json").read_text())
    event["time"] = utc_now()
    event["detail"]["input"] = run_input if isinstance(run_input, str) or run_input is None else json.dumps(run_input)
    return event


@pytest.mark.parametrize("run_input", [
    {"params": {}, "trigger": {"type": "schedule"}},
    {"params": {}, "trigger": {"type": "api", "by": "arn:aws:iam::123456789012:user/ana"}},
    {"params": {}},
], ids=["scheduled", "api", "no-trigger"])
def test_a_top_level_runs_end_is_ignored_at_once_with_a_log_line(rt: Any, caplog: pytest.LogCaptureFixture,
                                                                  run_input: Any) -> None:
    from functions.complete.handler import handler

    # GIVEN the end of a run no Sluice task started (a schedule's, the API's), fresh
    # WHEN it reaches `complete`
    result = handler(execution_end(run_input), LambdaContext())
    # THEN it is ignored without a raise (no retries, no dead letter) and the log says why
    assert result["result"].startswith("ignored: ")
    assert "not a child run" in result["result"]
    assert any('"ignored' in text and "not a child run" in text for text in logged(caplog))


def test_a_child_runs_end_for_an_attempt_not_recorded_yet_is_still_retried(rt: Any) -> None:
    from functions.complete.handler import handler
    from functions.complete.service import AttemptNotFoundYetError

    child = {"params": {}, "trigger": {"type": "parent", "pipeline": "demo", "run_id": "run-1", "task": "extract"}}
    with pytest.raises(AttemptNotFoundYetError):
        handler(execution_end(child), LambdaContext())
