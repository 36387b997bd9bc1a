"""Which stack each pipeline lives in (infra/sharding.py): stable placement under CloudFormation's limits."""

from __future__ import annotations

import json

import pytest

from bench.fleet import fleet
from infra import sharding
from sluice.compile import compile_pipeline
from sluice.spec import Pipeline


def _definitions(pipelines: dict[str, Pipeline]) -> dict[str, dict]:
    return {name: compile_pipeline(p).definition for name, p in pipelines.items()}


def test_fifty_pipelines_pack_into_stacks_under_the_limits():
    # GIVEN 50 realistic pipelines WHEN placed THEN no stack's estimate passes the budget, and stacks are full first
    pipelines = fleet(50)
    definitions = _definitions(pipelines)
    placement = sharding.assign(pipelines, definitions)
    shards = sorted(set(placement.values()))
    assert shards == list(range(1, len(shards) + 1)) and len(shards) > 1
    for shard in shards:
        cost = sharding.Cost(sharding.STACK_RESOURCES, 0)
        for name in (n for n, s in placement.items() if s == shard):
            cost = cost + sharding.cost_of(pipelines[name], definitions[name])
        assert cost.fits()


def test_placement_is_kept_when_pipelines_come_and_go():
    pipelines = fleet(40)
    definitions = _definitions(pipelines)
    first = sharding.assign(pipelines, definitions)
    # WHEN one pipeline is removed and a new one (sorting first) is added
    removed = "team005-daily-etl"
    grown = {**{k: v for k, v in pipelines.items() if k != removed}}
    newcomer = fleet(41)["team040-daily-etl"].model_copy(update={"name": "aaa-new"})
    grown["aaa-new"] = newcomer
    second = sharding.assign(grown, {**definitions, "aaa-new": compile_pipeline(newcomer).definition}, first)
    # THEN every other pipeline stays where it was, and the newcomer takes the freed room
    assert {k: v for k, v in second.items() if k != "aaa-new"} == {k: v for k, v in first.items() if k != removed}
    assert second["aaa-new"] == first[removed]


def test_a_pipeline_too_big_for_one_stack_is_refused_with_advice(monkeypatch):
    pipelines = fleet(1)
    monkeypatch.setattr(sharding, "MAX_TEMPLATE_BYTES", 1000)
    with pytest.raises(sharding.ShardError, match=r"team000-daily-etl.*split it into pipelines run as children"):
        sharding.assign(pipelines, _definitions(pipelines))


def test_placement_file_round_trip_and_bad_file(tmp_path):
    path = tmp_path / "shards.json"
    assert sharding.read(path) == {}
    assert sharding.write({"b": 2, "a": 1}, path) is True
    assert sharding.write({"a": 1, "b": 2}, path) is False  # unchanged: not rewritten
    assert json.loads(path.read_text()) == {"a": 1, "b": 2}
    path.write_text('{"a": "one"}')
    with pytest.raises(sharding.ShardError, match=r"shards\.json: expected"):
        sharding.read(path)
    path.write_text("{")
    with pytest.raises(sharding.ShardError, match="not valid JSON"):
        sharding.read(path)
