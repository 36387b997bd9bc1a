"""`sluice validate` as a user runs it: --dir, an empty directory, and a summary line that reads true."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from sluice.cli import main
from tests.support.pipelines import EXAMPLES


def validate(*args: str | Path) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, ["validate", *map(str, args)])
    return result.exit_code, result.stdout, result.stderr


def test_validate_takes_dir_as_the_other_commands_do() -> None:
    code, out, err = validate("--dir", EXAMPLES)
    assert code == 0 and ": error: " not in err and "3 file(s), 3 valid pipeline(s): OK" in out


@pytest.mark.parametrize("as_json", [[], ["--json"]])
def test_an_empty_directory_says_there_are_no_pipeline_files_and_exits_2(tmp_path: Path, as_json: list[str]) -> None:
    # GIVEN a directory without *.yaml files  WHEN validated (plainly or as JSON)
    code, out, err = validate("--dir", tmp_path, *as_json)
    # THEN it says so, prints no OK, and exits 2
    assert code == 2
    assert f"error: no pipeline files (*.yaml, *.yml) in {tmp_path}" in err
    assert "OK" not in out


def test_the_summary_counts_files_with_errors_and_valid_pipelines_apart(tmp_path: Path) -> None:
    # GIVEN two files that each parse, one starting a child pipeline that exists nowhere, one fine
    (tmp_path / "parent.yaml").write_text("name: parent\ntasks:\n  go:\n    pipeline: {name: nowhere}\n")
    (tmp_path / "fine.yaml").write_text("name: fine\ntasks:\n  a: {glue: {job: j}}\n")
    # WHEN validated
    code, out, err = validate(tmp_path)
    # THEN the summary does not call a file with an error valid
    assert code == 2 and "parent.yaml" in err
    assert out.strip() == "2 file(s): 1 valid pipeline(s), 1 file(s) with errors (1 error(s))"
