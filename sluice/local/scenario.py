"""Scripted job outcomes for local runs: which tasks fail, how often, how long they take, what they run.

From the command line (`--fail TASK[:N]`, `--delay TASK:SECONDS`) or a scenario file:

    # scenarios/flaky-aggregate.yaml
    tasks:
      aggregate_sales: {fail: 2, error: "executor lost"}   # the first 2 attempts fail, then it succeeds
      load_warehouse: {fail: always}                       # every attempt fails
      extract_orders: {delay: 3}                           # each attempt takes 3 s
      child-pipeline.step: {delay: 1}                      # a task of a child pipeline, by PIPELINE.TASK

Counts are per item for a foreach task. A task's own `local.command` runs unless the scenario scripts it.
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from sluice.spec import Pipeline

ALWAYS = 10**9


class ScenarioError(ValueError):
    """Bad scripting input: the message says where and why."""


@dataclass(frozen=True)
class Script:
    fail: int = 0  # the first `fail` attempts fail
    delay: float = 0.0  # seconds each attempt takes
    error: str | None = None
    exit_code: int = 1
    command: list[str] | None = None
    env: dict[str, str] | None = None
    command_timeout: float | None = None

    def fails(self, attempt: int) -> bool:
        """Whether attempt number `attempt` (0 for the first) fails."""
        return attempt < self.fail


class _Entry(BaseModel):
    model_config = ConfigDict(extra="forbid")

    fail: Annotated[int, Field(ge=0)] | Literal["always"] = 0
    delay: Annotated[float, Field(ge=0, le=86_400)] = 0.0
    error: str | None = None
    exit_code: Annotated[int, Field(ge=1, le=255)] = 1
    command: list[str] | str | None = None


class _File(BaseModel):
    model_config = ConfigDict(extra="forbid")

    tasks: dict[str, _Entry] = Field(default_factory=dict)


@dataclass
class Scenario:
    """Scripts by task, keyed "TASK" (the pipeline run) or "PIPELINE.TASK" (any pipeline, children included)."""

    scripts: dict[str, Script]

    @classmethod
    def empty(cls) -> Scenario:
        return cls({})

    @classmethod
    def from_file(cls, path: str | Path) -> Scenario:
        where = str(path)
        try:
            raw = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
        except OSError as exc:
            raise ScenarioError(f"{where}: cannot read the scenario: {exc.strerror or exc}") from None
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            line = f":{mark.line + 1}" if mark is not None else ""
            raise ScenarioError(f"{where}{line}: not valid YAML: {getattr(exc, 'problem', exc)}") from None
        try:
            parsed = _File.model_validate(raw if raw is not None else {})
        except ValidationError as exc:
            first = exc.errors(include_url=False)[0]
            at = ".".join(str(part) for part in first["loc"]) or "top level"
            raise ScenarioError(f"{where}: {at}: {first['msg']}") from None
        return cls({name: _script(entry) for name, entry in parsed.tasks.items()})

    def with_flags(self, failures: list[tuple[str, str]], delays: list[tuple[str, str]]) -> Scenario:
        """Command-line flags on top: `--fail TASK[:N]` (every attempt without N), `--delay TASK:SECONDS`."""
        scripts = dict(self.scripts)
        for task, count in failures:
            if count and not count.isdigit():
                raise ScenarioError(f"--fail {task}:{count}: N must be a whole number of attempts")
            scripts[task] = replace(scripts.get(task, Script()), fail=int(count) if count else ALWAYS)
        for task, seconds in delays:
            try:
                value = float(seconds)
            except ValueError:
                raise ScenarioError(f"--delay {task}:{seconds}: {seconds!r} is not a number of seconds") from None
            if not 0 <= value <= 86_400:
                raise ScenarioError(f"--delay {task}:{seconds}: seconds must be between 0 and 86400")
            scripts[task] = replace(scripts.get(task, Script()), delay=value)
        return Scenario(scripts)

    def check(self, root: Pipeline | None, pipelines: dict[str, Pipeline]) -> None:
        """Every scripted name is PIPELINE.TASK of one of `pipelines` (those a run can reach, or those served), or a
        bare TASK: of the run's pipeline `root`, or, with no root (`sluice local serve`), of any of them."""
        where = "in this run" if root is not None else "is served"
        for name in self.scripts:
            owner, dot, task = name.rpartition(".")
            if not dot and root is None:
                if not any(task in p.tasks for p in pipelines.values()):
                    raise ScenarioError(f"scripted task '{name}': no served pipeline has a task '{task}'")
                continue
            pipeline = pipelines.get(owner) if dot else root
            if pipeline is None:
                raise ScenarioError(f"scripted task '{name}': no pipeline '{owner}' {where} "
                                    f"(pipelines: {', '.join(sorted(pipelines)) or 'none'})")
            if task not in pipeline.tasks:
                raise ScenarioError(f"scripted task '{name}': pipeline '{pipeline.name}' has no task '{task}' "
                                    f"(tasks: {', '.join(pipeline.tasks)})")

    def script(self, root: str, pipeline: Pipeline, task: str) -> Script:
        """The script for a task: the scenario's, else the task's own local command, else succeed at once."""
        found = self.scripts.get(f"{pipeline.name}.{task}") or (self.scripts.get(task) if pipeline.name == root
                                                                 else None)
        if found is not None:
            return found
        local = pipeline.tasks[task].local
        if local is None:
            return Script()
        return Script(command=_argv(local.command), env=dict(local.env),
                      command_timeout=float(local.timeout) if local.timeout else None)


def _script(entry: _Entry) -> Script:
    return Script(fail=ALWAYS if entry.fail == "always" else int(entry.fail), delay=entry.delay, error=entry.error,
                  exit_code=entry.exit_code, command=_argv(entry.command) if entry.command else None)


def _argv(command: Any) -> list[str]:
    return list(command) if isinstance(command, list) else shlex.split(str(command))
