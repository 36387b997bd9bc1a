"""Values nested deeper than MAX_DEPTH are a located problem at load, never an exception at compile (the fuzz
found a pipeline whose deeply nested payload validated, then failed pydantic's serializer in the compiler)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from sluice.compile import compile_pipeline
from sluice.spec.loader import load_file
from sluice.spec.yaml_source import MAX_DEPTH


def _pipeline(tmp_path: Path, depth: int) -> Path:
    payload: object = "leaf"
    for _ in range(depth):
        payload = {"a": payload}
    path = tmp_path / "deep.yaml"
    path.write_text("name: deep\ntasks:\n  t:\n    lambda:\n      function: f\n      payload: "
                    + json.dumps(payload) + "\n")
    return path


@pytest.mark.parametrize("depth", [MAX_DEPTH, 150, 400])
def test_a_payload_nested_too_deep_is_a_located_problem(tmp_path: Path, depth: int) -> None:
    # GIVEN a payload nested past the limit (the task's own keys add four levels)
    pipeline, problems = load_file(_pipeline(tmp_path, depth))
    # THEN it is refused with its file and line, and nothing is built
    assert pipeline is None
    [problem] = problems
    assert f"nest deeper than {MAX_DEPTH} levels" in problem.message and problem.line == 6


def test_a_payload_within_the_limit_compiles(tmp_path: Path) -> None:
    pipeline, problems = load_file(_pipeline(tmp_path, MAX_DEPTH - 6))
    assert pipeline is not None, problems
    assert compile_pipeline(pipeline).definition["States"]
