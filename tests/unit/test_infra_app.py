from __future__ import annotations

import pytest

from infra import sharding
from infra.app import PIPELINES, PIPELINES_ENV, load_definitions, pipelines_dir, shards_file
from infra.config import ConfigError
from tests.support.pipelines import EXAMPLES


def test_cdk_entry_point_compiles_every_pipeline():
    definitions = load_definitions(EXAMPLES)
    assert sorted(definitions) == ["daily-sales-etl", "marketing-attribution", "ml-training"]
    assert all(d["StartAt"] == "Start run" for d in definitions.values())


def test_synth_reads_the_context_directory_then_the_environment_then_pipelines(tmp_path):
    # GIVEN two directories WHEN both the CDK context and SLUICE_PIPELINES name one THEN the context wins
    context, env = tmp_path / "ctx", tmp_path / "env"
    context.mkdir(), env.mkdir()
    assert pipelines_dir(str(context), {PIPELINES_ENV: str(env)}) == context.resolve()
    assert pipelines_dir(None, {PIPELINES_ENV: str(env)}) == env.resolve()
    assert pipelines_dir(None, {}) == PIPELINES


def test_synth_refuses_a_pipelines_directory_that_is_not_one(tmp_path):
    with pytest.raises(ConfigError, match=r"-c pipelines=.*nowhere: no such directory"):
        pipelines_dir(str(tmp_path / "nowhere"), {})
    with pytest.raises(ConfigError, match=r"SLUICE_PIPELINES=.*nowhere: no such directory"):
        pipelines_dir(None, {PIPELINES_ENV: str(tmp_path / "nowhere")})


def test_another_directory_keeps_its_own_placement(tmp_path):
    # the placement of pipelines/ (infra/shards.json) is what deploys: a synth of another directory leaves it alone
    assert shards_file(PIPELINES) == sharding.SHARDS_FILE
    assert shards_file(tmp_path) == tmp_path / "shards.json"
