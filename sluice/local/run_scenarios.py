"""Scenarios named per run on `sluice local serve`: `sluice trigger PIPELINE --scenario NAME` (or `resume`) sends
the header below, and the run it starts is scripted by `<scenarios dir>/NAME.yaml` instead of the server's
scenario. A child run inherits its parent's. The header is local mode's alone: the CLI refuses `--scenario`
against a deployed API, and the deployed API does not read it."""

from __future__ import annotations

import json
import re
import threading
from pathlib import Path
from typing import Any

from sluice.spec import Pipeline
from sluice.spec.problems import did_you_mean

from .scenario import Scenario, ScenarioError

HEADER = "X-Sluice-Scenario"
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$")


class RunScenarios:
    """Which scenario scripts each execution: the one named by the request that started it, its parent's, or the
    server's own."""

    def __init__(self, directory: Path, default: Scenario, pipelines: dict[str, Pipeline]) -> None:
        self.directory, self.default, self.pipelines = directory, default, pipelines
        self._by_execution: dict[str, Scenario] = {}
        self._asked = threading.local()  # the scenario the request being handled in this thread named
        self._lock = threading.Lock()

    def named(self, name: str) -> Scenario:
        """`<directory>/NAME.yaml` (or .yml), read and checked now: an edit between a run and its resume counts."""
        stem = name.removesuffix(".yaml").removesuffix(".yml")
        if not _NAME.match(stem):
            raise ScenarioError(f"{HEADER}: {name!r} is not a scenario name (letters, digits, '_', '.', '-')")
        for suffix in (".yaml", ".yml"):
            path = self.directory / f"{stem}{suffix}"
            if path.is_file():
                scenario = Scenario.from_file(path)
                scenario.check(None, self.pipelines)
                return scenario
        known = sorted(p.stem for p in self.directory.glob("*.y*ml")) if self.directory.is_dir() else []
        hint = did_you_mean(stem, known) or f"scenarios there: {', '.join(known) or 'none'}"
        raise ScenarioError(f"{HEADER}: no scenario '{stem}' in {self.directory}/ ({hint})")

    def asking(self, scenario: Scenario | None) -> _Asking:
        """While handling one request: what it starts is scripted by `scenario` (None: as usual)."""
        return _Asking(self._asked, scenario)

    def starting(self, params: dict[str, Any]) -> None:
        """A StartExecution is about to be sent from this thread: note the new execution's scenario, if it has its
        own, now (its first job may start before the call has returned to the caller)."""
        machine, name = str(params.get("stateMachineArn") or ""), params.get("name")
        scenario = getattr(self._asked, "scenario", None) or self._parents(params.get("input"))
        if scenario is not None and name and ":stateMachine:" in machine:
            with self._lock:
                self._by_execution[machine.replace(":stateMachine:", ":execution:", 1) + f":{name}"] = scenario

    def of(self, execution_arn: str) -> Scenario:
        with self._lock:
            return self._by_execution.get(execution_arn, self.default)

    def _parents(self, run_input: str | None) -> Scenario | None:
        try:
            trigger = json.loads(run_input or "{}").get("trigger") or {}
        except (ValueError, AttributeError):
            return None
        if not isinstance(trigger, dict) or trigger.get("type") != "parent":
            return None
        parent = next((arn for arn in list(self._by_execution)
                       if arn.endswith(f":sluice-{trigger.get('pipeline')}:{trigger.get('run_id')}")), None)
        return self._by_execution.get(parent) if parent else None


class _Asking:
    def __init__(self, local: threading.local, scenario: Scenario | None) -> None:
        self.local, self.scenario = local, scenario

    def __enter__(self) -> None:
        self.local.scenario = self.scenario

    def __exit__(self, *exc: object) -> None:
        self.local.scenario = None


def header_of(event: dict[str, Any]) -> str | None:
    """The scenario a proxy event's request names, if any (header names are case-insensitive)."""
    for key, value in (event.get("headers") or {}).items():
        if key.lower() == HEADER.lower() and value:
            return str(value).strip()
    return None


def refused(detail: str) -> dict[str, Any]:
    """The run API's 400 problem for a bad scenario, as a proxy response."""
    body = {"type": "urn:sluice:problem:invalid-request", "title": "Invalid request", "status": 400,
            "detail": detail}
    return {"statusCode": 400, "headers": {"Content-Type": "application/problem+json"}, "body": json.dumps(body)}
