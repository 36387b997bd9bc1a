"""Every compiled definition passes asl-validator (the npm package, installed by `make` from package.json)."""

from __future__ import annotations

import json
import shutil
import subprocess

import pytest
from hypothesis import given, settings

from sluice.compile import compile_pipeline
from tests.support.pipelines import ROOT, examples, pipeline_from_deps
from tests.unit.test_exactness import dags

pytestmark = pytest.mark.node
VALIDATOR = ROOT / "node_modules" / ".bin" / "asl-validator"


def _validate(paths):
    if not VALIDATOR.exists():
        pytest.fail(f"{VALIDATOR} is missing: run `make test` (it installs the npm tools from package-lock.json)")
    node = shutil.which("node")
    assert node, "node is not on PATH"
    args = [str(VALIDATOR)]
    for path in paths:
        args += ["--json-path", str(path)]
    return subprocess.run(args, capture_output=True, text=True, timeout=120)


def test_compiled_examples_pass_asl_validator(tmp_path):
    paths = []
    for name, pipeline in sorted(examples().items()):
        path = tmp_path / f"{name}.json"
        path.write_text(compile_pipeline(pipeline).to_json())
        paths.append(path)
    result = _validate(paths)
    assert result.returncode == 0, result.stdout + result.stderr


def test_validator_rejects_a_broken_definition(tmp_path):
    # GIVEN a definition with a dangling transition THEN the validator really checks (this test can fail)
    broken = compile_pipeline(pipeline_from_deps({"a": []})).definition
    broken["States"]["Start run"]["Next"] = "nowhere"
    path = tmp_path / "broken.json"
    path.write_text(json.dumps(broken))
    result = _validate([path])
    assert result.returncode != 0 and "MISSING_TRANSITION_TARGET" in result.stdout + result.stderr


def test_random_dags_compile_to_valid_asl(tmp_path_factory):
    paths = []
    directory = tmp_path_factory.mktemp("random")

    @settings(max_examples=40, deadline=None)
    @given(deps=dags(max_tasks=12))
    def collect(deps):
        path = directory / f"dag{len(paths)}.json"
        path.write_text(compile_pipeline(pipeline_from_deps(deps)).to_json())
        paths.append(path)

    collect()
    result = _validate(paths)  # one node process for all of them
    assert result.returncode == 0, result.stdout + result.stderr
