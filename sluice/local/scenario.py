"""Scripted job outcomes for local runs: which tasks fail, how often, how long they take, what they run.

From the command line (`--fail TASK[:N]`, `--delay TASK=SECONDS`) or a scenario file:

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
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from sluice.spec import Pipeline
from sluice.spec.problems import Problem, did_you_mean

from .scenario_file import Entry, Origin, ScenarioError, read_scenario

__all__ = ["ALWAYS", "Scenario", "ScenarioError", "Script"]

ALWAYS = 10**9


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


@dataclass
class Scenario:
    """Scripts by task, keyed "TASK" (the pipeline run) or "PIPELINE.TASK" (any pipeline, children included)."""

    scripts: dict[str, Script]
    origins: dict[str, Origin] = field(default_factory=dict)  # where each name was scripted, for check()'s errors
    timed: frozenset[str] = frozenset()  # the names given a delay (`sluice simulate` keeps its default for the rest)

    @classmethod
    def empty(cls) -> Scenario:
        return cls({})

    @classmethod
    def from_file(cls, path: str | Path) -> Scenario:
        """A scenario file's scripts; ScenarioError naming file:line, the path and what is valid."""
        entries, origins = read_scenario(path)
        timed = frozenset(name for name, entry in entries.items() if "delay" in entry.model_fields_set)
        return cls({name: _script(entry) for name, entry in entries.items()}, origins, timed)

    def with_flags(self, failures: list[tuple[str, str]], delays: list[tuple[str, str]]) -> Scenario:
        """Command-line flags on top: `--fail TASK[:N]` (every attempt without N), `--delay TASK=SECONDS`."""
        scripts, origins = dict(self.scripts), dict(self.origins)
        for task, count in failures:
            origins[task] = Origin(f"--fail {task}{':' if count else ''}{count}")
            if count and not count.isdigit():
                raise ScenarioError(f"--fail {task}:{count}: N must be a whole number of attempts")
            scripts[task] = replace(scripts.get(task, Script()), fail=int(count) if count else ALWAYS)
        for task, seconds in delays:
            origins.setdefault(task, Origin(f"--delay {task}={seconds}"))
            try:
                value = float(seconds)
            except ValueError:
                raise ScenarioError(f"--delay {task}={seconds}: {seconds!r} is not a number of seconds") from None
            if not 0 <= value <= 86_400:
                raise ScenarioError(f"--delay {task}={seconds}: seconds must be between 0 and 86400")
            scripts[task] = replace(scripts.get(task, Script()), delay=value)
        return Scenario(scripts, origins, self.timed | {task for task, _ in delays})

    def check(self, root: Pipeline | None, pipelines: dict[str, Pipeline]) -> None:
        """Every scripted name is PIPELINE.TASK of one of `pipelines` (those a run can reach, or those served), or a
        bare TASK: of the run's pipeline `root`, or, with no root (`sluice local serve`), of any of them.
        ScenarioError names where each bad name was scripted, with a did-you-mean."""
        problems = [problem for name in self.scripts if (problem := self._unknown(name, root, pipelines))]
        if problems:
            raise ScenarioError(problems)

    def _unknown(self, name: str, root: Pipeline | None, pipelines: dict[str, Pipeline]) -> Problem | None:
        origin = self.origins.get(name) or Origin("scenario", ("tasks", name))
        owner, dot, task = name.rpartition(".")
        if not dot and root is None:
            every = sorted({t for p in pipelines.values() for t in p.tasks})
            if task in every:
                return None
            return origin.problem(f"no served pipeline has a task '{task}'",
                                  did_you_mean(task, every) or _listed("tasks", every))
        pipeline = pipelines.get(owner) if dot else root
        if pipeline is None:
            where = "in this run" if root is not None else "is served"
            return origin.problem(f"no pipeline '{owner}' {where}",
                                  did_you_mean(owner, pipelines) or _listed("pipelines", sorted(pipelines)))
        if task in pipeline.tasks:
            return None
        return origin.problem(f"pipeline '{pipeline.name}' has no task '{task}'",
                              did_you_mean(task, pipeline.tasks) or _listed("its tasks", list(pipeline.tasks)))

    def scripted(self, pipeline: str, task: str) -> tuple[Script | None, bool]:
        """The script of a task of the run's pipeline (PIPELINE.TASK first), and whether it gave the task a delay."""
        for name in (f"{pipeline}.{task}", task):
            if name in self.scripts:
                return self.scripts[name], name in self.timed
        return None, False

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


def _listed(what: str, names: list[str]) -> str:
    return f"{what}: {', '.join(names) or 'none'}"


def _script(entry: Entry) -> Script:
    return Script(fail=ALWAYS if entry.fail == "always" else int(entry.fail), delay=entry.delay, error=entry.error,
                  exit_code=entry.exit_code, command=_argv(entry.command) if entry.command else None)


def _argv(command: Any) -> list[str]:
    return list(command) if isinstance(command, list) else shlex.split(str(command))
