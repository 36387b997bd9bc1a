"""Scenario files are reported as pipeline files are: file:line, the path inside, and what would be valid."""

from __future__ import annotations

from pathlib import Path

import pytest

from sluice.local.scenario import ALWAYS, Scenario, ScenarioError
from sluice.spec import load_text

PIPELINE, _ = load_text("name: demo\ntasks:\n  extract: {glue: {job: j}}\n"
                        "  load: {depends_on: extract, glue: {job: k}}\n")
assert PIPELINE is not None


def problems(tmp_path: Path, text: str) -> list[str]:
    """GIVEN a scenario file with `text` WHEN it is read (and checked against the demo pipeline) THEN its problems."""
    file = tmp_path / "s.yaml"
    file.write_text(text)
    with pytest.raises(ScenarioError) as caught:
        Scenario.from_file(file).check(PIPELINE, {"demo": PIPELINE})
    assert caught.value.problems, "every scenario error carries its problems"
    return [str(p).replace(f"{file}:", "s.yaml:") for p in caught.value.problems]


@pytest.mark.parametrize(("text", "expected"), [
    ("tasks:\n  extract: {fial: 2}\n",
     "s.yaml:2: tasks.extract.fial: error: unknown key 'fial' (did you mean 'fail'?)"),
    ("tasks:\n  extract:\n    delay: 2\n    eror: boom\n",
     "s.yaml:4: tasks.extract.eror: error: unknown key 'eror' (did you mean 'error'?)"),
    ("tasks:\n  extract: {fail: -1}\n",
     "s.yaml:2: tasks.extract.fail: error: expected at least 0 or 'always', not -1 "
     "(a number of attempts that fail (0 or more), or 'always')"),
    ("tasks:\n  extract: {exit_code: 0}\n",
     "s.yaml:2: tasks.extract.exit_code: error: expected at least 1, not 0 "
     "(the exit code a failed attempt reports, 1 to 255)"),
    ("tasks:\n  extract: fail\n", "s.yaml:2: tasks.extract: error: expected a mapping, not a string"),
    ("- extract\n", "s.yaml:1: error: a scenario file is a mapping with 'tasks' "
                    "(e.g. tasks: {load_warehouse: {fail: 2}})"),
    ("task:\n  extract: {fail: 1}\n", "s.yaml:1: task: error: unknown key 'task' (did you mean 'tasks'?)"),
    ("tasks:\n  extract: {fail: 1}\n  exract: {fail: 1}\n",
     "s.yaml:3: tasks.exract: error: pipeline 'demo' has no task 'exract' (did you mean 'extract'?)"),
    ("tasks:\n  other.extract: {fail: 1}\n",
     "s.yaml:2: tasks.other.extract: error: no pipeline 'other' in this run (pipelines: demo)"),
])
def test_a_bad_scenario_names_the_line_the_path_and_what_is_valid(tmp_path: Path, text: str, expected: str) -> None:
    assert problems(tmp_path, text) == [expected]


@pytest.mark.parametrize("text", ["", "# only a comment\n", "tasks: {}\n"])
def test_an_empty_scenario_is_refused_with_a_clear_message(tmp_path: Path, text: str) -> None:
    [message] = problems(tmp_path, text)
    assert "scripts no task" in message and "e.g. tasks: {load_warehouse: {fail: 2}}" in message


def test_every_problem_of_a_file_is_reported_at_once(tmp_path: Path) -> None:
    found = problems(tmp_path, "tasks:\n  extract: {fial: 2}\n  load: {delay: -3}\n")
    assert [line.split(": ")[0:2] for line in found] == [["s.yaml:2", "tasks.extract.fial"],
                                                         ["s.yaml:3", "tasks.load.delay"]]


def test_a_task_name_given_by_flag_is_checked_with_a_did_you_mean() -> None:
    # GIVEN --fail with a misspelt task WHEN checked THEN the flag is named, with the closest task
    scenario = Scenario.empty().with_flags([("lod", "")], [])
    with pytest.raises(ScenarioError, match=r"^--fail lod: error: pipeline 'demo' has no task 'lod' "
                                            r"\(did you mean 'load'\?\)$"):
        scenario.check(PIPELINE, {"demo": PIPELINE})


def test_on_a_server_a_bare_task_name_is_looked_for_in_every_pipeline(tmp_path: Path) -> None:
    file = tmp_path / "s.yaml"
    file.write_text("tasks:\n  lod: {fail: always}\n")
    with pytest.raises(ScenarioError, match=r"s.yaml:2: tasks.lod: error: no served pipeline has a task 'lod' "
                                            r"\(did you mean 'load'\?\)"):
        Scenario.from_file(file).check(None, {"demo": PIPELINE})


def test_a_good_scenario_reads_as_before(tmp_path: Path) -> None:
    file = tmp_path / "s.yaml"
    file.write_text("tasks:\n  load: {fail: always, error: read-only, exit_code: 3}\n  extract: {delay: 0.5}\n")
    scenario = Scenario.from_file(file)
    scenario.check(PIPELINE, {"demo": PIPELINE})
    assert scenario.scripts["load"].fail == ALWAYS and scenario.scripts["load"].exit_code == 3
    assert scenario.scripts["extract"].delay == 0.5
