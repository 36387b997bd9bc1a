"""Scenario files read with the pipeline validator's machinery: every problem says file:line, the path inside the
file, and what would be valid (a did-you-mean for a misspelt key)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path as FsPath
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from sluice.spec.errors import problems_from
from sluice.spec.problems import Path, Problem
from sluice.spec.wording import merged
from sluice.spec.yaml_source import load_yaml

EXAMPLE = "e.g. tasks: {load_warehouse: {fail: 2}}"
FIELD_HINTS = {
    "fail": "a number of attempts that fail (0 or more), or 'always'",
    "delay": "seconds each attempt takes, 0 to 86400",
    "exit_code": "the exit code a failed attempt reports, 1 to 255",
    "command": "a command line, or a list of arguments",
    "error": "the error text a failed attempt reports",
}


class ScenarioError(ValueError):
    """Bad scripting input: the message says where and why (one line per problem)."""

    def __init__(self, found: str | list[Problem]) -> None:
        self.problems = found if isinstance(found, list) else []
        super().__init__(found if isinstance(found, str) else "\n".join(str(p) for p in found))


class Entry(BaseModel):
    model_config = ConfigDict(extra="forbid")

    fail: Annotated[int, Field(ge=0)] | Literal["always"] = 0
    delay: Annotated[float, Field(ge=0, le=86_400)] = 0.0
    error: str | None = None
    exit_code: Annotated[int, Field(ge=1, le=255)] = 1
    command: list[str] | str | None = None


class ScenarioFile(BaseModel):
    model_config = ConfigDict(extra="forbid")

    tasks: dict[str, Entry] = Field(default_factory=dict)


@dataclass(frozen=True)
class Origin:
    """Where a scripted name was given: a file's line, or a command-line flag (file is then the flag)."""

    file: str
    path: Path = ()
    line: int | None = None

    def problem(self, message: str, hint: str | None = None) -> Problem:
        return Problem(self.file, self.path, message, line=self.line, hint=hint)


def read_scenario(path: str | FsPath) -> tuple[dict[str, Entry], dict[str, Origin]]:
    """The entries of a scenario file by task name, and where each was written; ScenarioError with every problem."""
    file = str(path)
    try:
        text = FsPath(path).read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise ScenarioError([Problem(file, (), "file is not UTF-8 text")]) from None
    except OSError as exc:
        raise ScenarioError([Problem(file, (), f"cannot read the scenario: {exc.strerror or exc}")]) from None
    doc, problems = load_yaml(text, file, kind="scenario")
    if doc is None:
        raise ScenarioError([_with_example(p) for p in problems])
    if not isinstance(doc.data, dict):
        raise ScenarioError([*problems, Problem(file, (), "a scenario file is a mapping with 'tasks'",
                                                line=doc.line_of(()), hint=EXAMPLE)])
    parsed = None
    try:
        parsed = ScenarioFile.model_validate(doc.data)
    except ValidationError as exc:
        problems.extend(_hinted(p) for p in _merged(problems_from(exc, ScenarioFile, doc, file)))
    if parsed is not None and not parsed.tasks:
        problems.append(Problem(file, ("tasks",) if "tasks" in doc.data else (), "the scenario scripts no task",
                                line=doc.line_of(("tasks",)), hint=f"add one under 'tasks', {EXAMPLE}"))
    if problems or parsed is None:
        raise ScenarioError(sorted(problems, key=lambda p: (p.line or 0, str(p.path))))
    origins = {name: Origin(file, ("tasks", name), doc.line_of(("tasks", name))) for name in parsed.tasks}
    return parsed.tasks, origins


def _merged(problems: list[Problem]) -> list[Problem]:
    """The alternatives of one union (`fail: -1` is neither a count >= 0 nor 'always') as one problem."""
    by_path: dict[Path, Problem] = {}
    for problem in problems:
        first = by_path.get(problem.path)
        if first is None:
            by_path[problem.path] = problem
            continue
        by_path[problem.path] = Problem(first.file, first.path, merged([first.message, problem.message]), first.line,
                                        first.hint or problem.hint)
    return list(by_path.values())


def _hinted(problem: Problem) -> Problem:
    field = problem.path[-1] if len(problem.path) == 3 and problem.path[0] == "tasks" else None
    if problem.hint is None and isinstance(field, str) and field in FIELD_HINTS:
        return Problem(problem.file, problem.path, problem.message, problem.line, FIELD_HINTS[field])
    if problem.hint is None and problem.path == ("tasks",):
        return Problem(problem.file, problem.path, problem.message, problem.line, f"task name: script, {EXAMPLE}")
    return problem


def _with_example(problem: Problem) -> Problem:
    if "is empty" in problem.message:
        return Problem(problem.file, problem.path, "the scenario file is empty: it scripts no task",
                       problem.line, f"add tasks to script, {EXAMPLE}")
    return problem
