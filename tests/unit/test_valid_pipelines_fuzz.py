"""Generated pipelines over the whole file format (tests/support/strategies.py): every valid one validates,
compiles deterministically and starts each task exactly when its dependencies end; every mutation of one, and
every enormous, deep or aliased file, is reported as problems with a location, never a traceback or a hang.

(tests/unit/test_validation_fuzz.py mutates the three example files; this one starts from random valid files.)
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sluice.cli import main
from sluice.compile import compile_pipeline
from sluice.graph import Dag
from sluice.simulate import simulate
from sluice.spec import load_text
from sluice.spec.yaml_source import MAX_FILE_BYTES
from tests.support.odd_files import HUGE, chain
from tests.support.pipelines import ROOT
from tests.support.strategies import child_doc, mutated_docs, pipeline_docs, run_params, to_yaml


def fast(max_examples: int) -> settings:
    """Reproducible in CI (derandomized, no example database) and within the suite's time budget."""
    return settings(max_examples=max_examples, deadline=None, derandomize=True, database=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


def _errors(problems: list[Any]) -> list[Any]:
    return [p for p in problems if p.severity == "error"]


def _assert_located(problems: list[Any], file: str) -> None:
    """Every problem names its file, and a line or a YAML path unless it is about the whole file."""
    whole_file = ("file is larger", "not valid YAML", "YAML nesting", "document has more than", "file is empty",
                  "a pipeline file holds", "a pipeline file is a mapping")
    for problem in problems:
        assert problem.file == file and problem.message, problem
        assert str(problem).startswith(file)
        if not problem.message.startswith(whole_file) and "exactly one YAML document" not in problem.message:
            assert problem.path or problem.line, f"no location: {problem}"


# ---- valid pipelines ------------------------------------------------------------------------------------------

@fast(120)
@given(doc=pipeline_docs(children=("child-one", "child-two")))
def test_generated_pipelines_validate_and_compile_deterministically(doc: dict[str, Any]) -> None:
    # GIVEN a random valid pipeline file
    text = to_yaml(doc)
    # WHEN it is validated THEN it has no error, and a pipeline
    pipeline, problems = load_text(text, "gen.yaml")
    assert not _errors(problems), "\n".join(map(str, problems)) + "\n" + text
    assert pipeline is not None
    # AND compiling it twice, or its file read twice, gives byte-identical definitions
    first = compile_pipeline(pipeline).to_json()
    again, _ = load_text(text, "gen.yaml")
    assert again is not None
    assert compile_pipeline(pipeline).to_json() == first == compile_pipeline(again).to_json()
    # AND every task and every dependency is in the definition's graph
    dag = Dag.of(pipeline)
    assert set(dag.nodes) == set(doc["tasks"])


def _simulable(doc: dict[str, Any]) -> dict[str, Any]:
    """The simulator knows no job outputs, and a list longer than foreach.max_items fails the run by design: every
    foreach gets a literal list within its max_items (the DAG, rules and conditions stay as generated; what the
    items are does not change when tasks start)."""
    for body in doc["tasks"].values():
        if isinstance(body.get("foreach"), dict):
            body["foreach"]["items"] = ["a", "b", "c"][:body["foreach"].get("max_items", 3)]
    return doc


@fast(80)
@given(doc=pipeline_docs().map(_simulable), data=st.data())
def test_generated_pipelines_start_every_task_exactly_when_its_dependencies_end(doc: dict[str, Any],
                                                                               data: st.DataObject) -> None:
    # GIVEN a random valid pipeline (conditions, trigger rules, foreach, retries, ...) and random job durations
    pipeline, problems = load_text(to_yaml(doc))
    assert pipeline is not None, problems
    durations = {t: data.draw(st.integers(1, 50), label=t) for t in pipeline.tasks}
    # WHEN its compiled definition is simulated with every job succeeding
    result = simulate(compile_pipeline(pipeline).definition, durations, params=run_params(doc))
    # THEN the run succeeds and each task starts (runs, or is skipped) the moment its last dependency ends: the
    # same exactness tests/unit/test_exactness.py checks for plain DAGs, here over the whole file format
    assert result.status == "SUCCEEDED", (result.error, result.cause)
    for task, body in pipeline.tasks.items():
        assert result.started[task] == max((result.ended[d] for d in body.depends_on), default=0), task


# ---- mutated pipelines ----------------------------------------------------------------------------------------

@fast(150)
@given(doc=mutated_docs())
def test_mutated_pipelines_give_located_problems_never_an_exception(doc: dict[str, Any]) -> None:
    # GIVEN a valid pipeline with wrong types, unknown keys, cycles, huge or unicode names, deep nesting, ...
    text = to_yaml(doc)
    # WHEN it is validated THEN it returns problems that each say where, or a valid pipeline
    pipeline, problems = load_text(text, "fuzz.yaml")
    assert (pipeline is None) == bool(_errors(problems))
    _assert_located(problems, "fuzz.yaml")
    if pipeline is not None:
        compile_pipeline(pipeline, check_budget=False)  # whatever validates also compiles


def test_validate_cli_reports_every_file_of_a_generated_directory(tmp_path: Path) -> None:
    # GIVEN a directory of generated valid pipelines (with the children they start) and mutated ones
    files: dict[str, bool] = {}

    @fast(40)
    @given(valid=pipeline_docs(children=("child-one",), max_tasks=4), broken=mutated_docs(max_tasks=4))
    def collect(valid: dict[str, Any], broken: dict[str, Any]) -> None:
        i = len(files)
        valid["name"] = f"valid-{i}"
        (tmp_path / f"valid-{i}.yaml").write_text(to_yaml(valid), encoding="utf-8")
        (tmp_path / f"broken-{i}.yaml").write_text(to_yaml(broken), encoding="utf-8")
        files[f"valid-{i}"], files[f"broken-{i}"] = True, False

    collect()
    (tmp_path / "child-one.yaml").write_text(to_yaml(child_doc("child-one")))
    # WHEN `sluice validate --json` reads it
    result = CliRunner().invoke(main, ["validate", str(tmp_path), "--json"])
    # THEN it exits 2 (some files are broken), not with an exception, and reports problems with locations
    assert result.exit_code == 2 and isinstance(result.exception, SystemExit), result.output
    report = json.loads(result.output)
    for problem in report["problems"]:
        assert Path(problem["file"]).parent == tmp_path and problem["message"]
    # AND every generated valid file is a valid pipeline, with no problem of its own
    valid = {name for name, ok in files.items() if ok}
    assert valid <= set(report["pipelines"])
    assert not [p for p in report["problems"] if Path(p["file"]).stem in valid and p["severity"] == "error"]
    # AND the plain form prints one `file:line: path: error: ...` line per problem, no traceback
    plain = CliRunner().invoke(main, ["validate", str(tmp_path)])
    assert plain.exit_code == 2 and "Traceback" not in plain.output
    assert sum(": error: " in line for line in plain.output.splitlines()) == sum(
        p["severity"] == "error" for p in report["problems"])


# ---- enormous, deep and aliased files -------------------------------------------------------------------------

@pytest.mark.parametrize("text", list(HUGE.values()), ids=list(HUGE))
def test_enormous_deep_and_odd_files_give_problems_never_an_exception(text: str, tmp_path: Path) -> None:
    # GIVEN an enormous, deeply nested or otherwise odd file WHEN validated THEN problems (or a pipeline) come
    # back, never an exception (how long each takes: bench/validate.py)
    pipeline, problems = load_text(text, "odd.yaml")
    assert (pipeline is None) == bool(_errors(problems))
    _assert_located(problems, "odd.yaml")
    if len(text.encode()) > MAX_FILE_BYTES:
        assert [p.message for p in problems] == [f"file is larger than {MAX_FILE_BYTES:,} bytes"]


def test_validate_cli_process_never_prints_a_traceback_on_odd_files(tmp_path: Path) -> None:
    # GIVEN every odd file above in one directory, plus one that is not UTF-8
    for i, text in enumerate(HUGE.values()):
        (tmp_path / f"odd-{i}.yaml").write_text(text, encoding="utf-8", errors="surrogatepass")
    (tmp_path / "latin1.yaml").write_bytes("name: caf\xe9\n".encode("latin-1"))
    # WHEN the real command runs over it THEN it ends in time with exit 2 and only problem lines
    result = subprocess.run([sys.executable, "-c", "from sluice.cli import main; main()", "validate",
                             str(tmp_path)], capture_output=True,
                            text=True, timeout=120, cwd=ROOT)
    assert result.returncode == 2, result.stderr[-2000:]
    assert "Traceback" not in result.stderr + result.stdout
    for line in result.stderr.splitlines():
        assert line.startswith(str(tmp_path)), line[:300]


@pytest.mark.parametrize("text", ["name: x\ntasks: {t: {lambda: {function: \"f\x00\"}}}\n", "\x01name: x\n",
                                  "name: x\ndescription: a\x7fb\n"])
def test_a_control_character_is_reported_on_one_line_with_its_line(text: str) -> None:
    _, problems = load_text(text, "ctl.yaml")
    [problem] = problems
    assert "\n" not in str(problem) and "<unicode string>" not in str(problem)
    assert problem.line == text[:text.find(next(c for c in text if c in "\x00\x01\x7f"))].count("\n") + 1


def test_validation_work_grows_linearly_with_the_number_of_tasks(monkeypatch: pytest.MonkeyPatch) -> None:
    # GIVEN a chain of 3,000 tasks, and a count of the ancestor sets validation walks (deterministic, unlike time)
    from sluice.graph import Dag as Graph

    walked = [0]
    original = Graph.ancestors

    def counted(self: Graph, name: str) -> set[str]:
        found: set[str] = original(self, name)
        walked[0] += len(found)
        return found

    monkeypatch.setattr(Graph, "ancestors", counted)
    load_text(chain(3_000), "big.yaml")
    # THEN validation walks a bounded number of nodes per task, not every ancestor of every task (4.5 million)
    assert walked[0] <= 50 * 3_000, f"{walked[0]:,} ancestor visits for 3,000 tasks"
