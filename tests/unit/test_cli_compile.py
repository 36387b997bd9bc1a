"""`sluice schema`, `sluice graph` and `sluice compile` as a user runs them."""

from __future__ import annotations

import json

from click.testing import CliRunner

from sluice.cli import main
from sluice.spec.schema import schema_json
from tests.support.pipelines import ROOT, examples

EXAMPLES = ROOT / "pipelines"


def _run(*args):
    return CliRunner().invoke(main, [str(a) for a in args], catch_exceptions=False)


def test_committed_schema_is_current():
    # THEN docs/pipeline.schema.json (what editors load) matches the models; `make schema` refreshes it
    assert (ROOT / "docs" / "pipeline.schema.json").read_text() == schema_json()


def test_schema_describes_tasks_and_kinds():
    result = _run("schema")
    schema = json.loads(result.output)
    task = schema["$defs"]["Task"]
    assert task["additionalProperties"] is False
    assert {"required": ["glue"]} in task["oneOf"] and "lambda" in task["properties"]
    assert schema["required"] == ["name", "tasks"]


def test_compile_by_name_and_by_file_give_the_same_json(tmp_path):
    by_name = _run("compile", "daily-sales-etl", "--dir", EXAMPLES)
    by_file = _run("compile", EXAMPLES / "daily-sales-etl.yaml", "--dir", EXAMPLES)
    assert by_name.exit_code == 0 and by_name.stdout == by_file.stdout
    assert json.loads(by_name.stdout)["StartAt"] == "Start run"
    out = tmp_path / "x.json"
    assert _run("compile", "ml-training", "--dir", EXAMPLES, "-o", out, "--compact").exit_code == 0
    assert "\n" not in out.read_text().strip()


def test_compile_unknown_pipeline_is_a_clear_error():
    result = _run("compile", "nope", "--dir", EXAMPLES)
    assert result.exit_code == 2
    assert "no pipeline named 'nope'" in result.stderr and "daily-sales-etl" in result.stderr


def test_compile_invalid_file_reports_problems_not_a_traceback(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: bad\ntasks:\n  a:\n    depends_on: [b]\n    lambda: {function: f}\n")
    result = _run("compile", bad, "--dir", tmp_path / "none")
    assert result.exit_code == 2
    assert "bad.yaml:4: tasks.a.depends_on[0]: error: unknown task 'b'" in result.stderr
    assert "Traceback" not in result.output


def test_graph_mermaid_and_dot():
    mermaid = _run("graph", "marketing-attribution", "--dir", EXAMPLES)
    assert mermaid.exit_code == 0 and mermaid.stdout.startswith("flowchart LR")
    assert mermaid.stdout.count("-.->") == 1  # the gated dependency is drawn dashed
    dot = _run("graph", "ml-training", "--dir", EXAMPLES, "--format", "dot")
    assert dot.stdout.startswith('digraph "ml-training"') and "foreach" in dot.stdout


def test_validate_examples_is_clean():
    result = _run("validate", EXAMPLES)
    assert result.exit_code == 0 and "3 valid pipeline(s): OK" in result.stdout
    assert set(examples()) == {"daily-sales-etl", "ml-training", "marketing-attribution"}


def test_a_file_given_by_path_wins_over_a_same_named_pipeline_in_the_directory(tmp_path):
    # GIVEN pipelines/x.yaml and a copy of it elsewhere, changed WHEN compiled, simulated or drawn by path THEN the
    # copy is used (not refused as a duplicate name) and stderr says which file it shadows
    directory, elsewhere = tmp_path / "pipelines", tmp_path / "work"
    directory.mkdir(), elsewhere.mkdir()
    original = "name: twin\ntasks:\n  a: {glue: {job: first}}\n"
    (directory / "twin.yaml").write_text(original)
    (directory / "other.yaml").write_text("name: other\ntasks:\n  b: {glue: {job: b}}\n")
    copy = elsewhere / "twin.yaml"
    copy.write_text(original.replace("first", "second"))
    for command in (["compile"], ["graph"], ["simulate"]):
        result = _run(*command, copy, "--dir", directory)
        assert result.exit_code == 0, (command, result.stderr)
        assert f"using {copy} for pipeline 'twin'; it shadows {directory / 'twin.yaml'}" in result.stderr
    assert '"second"' in _run("compile", copy, "--dir", directory).stdout
    by_name = _run("compile", "twin", "--dir", directory)
    assert '"first"' in by_name.stdout and "shadows" not in by_name.stderr
