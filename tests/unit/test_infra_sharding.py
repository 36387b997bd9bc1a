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
    placement = sharding.assign(pipelines, definitions).pipelines
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
    first_placement = sharding.assign(pipelines, definitions)
    first = first_placement.pipelines
    # WHEN one pipeline is removed and a new one (sorting first) is added
    removed = "team005-daily-etl"
    grown = {**{k: v for k, v in pipelines.items() if k != removed}}
    newcomer = fleet(41)["team040-daily-etl"].model_copy(update={"name": "aaa-new"})
    grown["aaa-new"] = newcomer
    second = sharding.assign(grown, {**definitions, "aaa-new": compile_pipeline(newcomer).definition},
                             first_placement).pipelines
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
    assert sharding.read(path) == sharding.Placement({})
    placement = sharding.Placement({"b": 2, "a": 1}, 3, {"fn": 2})
    assert sharding.write(placement, path) is True
    assert sharding.write(sharding.Placement({"a": 1, "b": 2}, 3, {"fn": 2}), path) is False  # unchanged
    assert json.loads(path.read_text()) == {"pipelines": {"a": 1, "b": 2}, "stacks": 3,
                                            "lambda_destinations": {"fn": 2}}
    assert sharding.read(path) == placement
    for bad in ('{"pipelines": {"a": "one"}}', '{"a": 1}', '{"stacks": -1}'):
        path.write_text(bad)
        with pytest.raises(sharding.ShardError, match=r"shards\.json: expected"):
            sharding.read(path)
    path.write_text("{")
    with pytest.raises(sharding.ShardError, match="not valid JSON"):
        sharding.read(path)


def test_an_emptied_stack_stays_and_is_filled_first():
    # GIVEN two stacks, the second's only pipeline removed WHEN placed again THEN stack 2 is kept (deploying it
    # removes what is left) and the next new pipeline goes into the first stack with room
    pipelines = fleet(3)
    definitions = _definitions(pipelines)
    previous = sharding.Placement({"team000-daily-etl": 1, "team001-daily-etl": 2}, 2)
    placement = sharding.assign(pipelines, definitions, previous)
    assert placement.stacks == 2
    assert placement.pipelines == {"team000-daily-etl": 1, "team001-daily-etl": 2, "team002-daily-etl": 1}
    gone = sharding.assign({k: v for k, v in pipelines.items() if k != "team001-daily-etl"}, definitions, placement)
    assert gone.stacks == 2 and gone.members(2) == []


def test_lambda_destinations_stay_with_their_stack_while_the_function_is_used():
    pipelines = fleet(2)
    definitions = _definitions(pipelines)
    # GIVEN team000-publish set up by stack 2 (say, its first user was there) WHEN a user in stack 1 appears
    previous = sharding.Placement({"team000-daily-etl": 1}, 2, {"team000-publish": 2})
    placement = sharding.assign(pipelines, definitions, previous)
    # THEN it stays in stack 2; functions nobody uses any more are dropped; new ones go with their first user
    assert placement.destinations["team000-publish"] == 2
    assert placement.destinations["team001-publish"] == placement.pipelines["team001-daily-etl"]
    assert "gone-function" not in sharding.assign(pipelines, definitions, sharding.Placement(
        {}, 0, {"gone-function": 1})).destinations


def test_a_placed_pipeline_that_grew_past_the_limits_is_named():
    # GIVEN 40 pipelines all placed in stack 1 (as if each grew since) WHEN placed THEN the stack and its
    # pipelines are named, with what to do
    pipelines = fleet(40)
    crowded = sharding.Placement(dict.fromkeys(pipelines, 1), 1)
    with pytest.raises(sharding.ShardError, match=r"stack 1 would hold .* team000-daily-etl, .* Move one"):
        sharding.assign(pipelines, _definitions(pipelines), crowded)


def test_latest_is_the_unqualified_function_and_destination_stacks_are_kept():
    from sluice.spec import Pipeline

    def calls(name: str, function: str) -> Pipeline:
        return Pipeline.model_validate({"name": name, "tasks": {"a": {"lambda": {"function": function}}}})

    pipelines = {"aa": calls("aa", "fn"), "bb": calls("bb", "fn:$LATEST"), "cc": calls("cc", "fn:prod")}
    placement = sharding.assign(pipelines, _definitions(pipelines))
    assert placement.destinations == {"fn": 1, "fn:prod": 1}  # one setting for fn and fn:$LATEST
    # a destination recorded in a stack past the pipelines' stays synthesized
    assert sharding.assign(pipelines, _definitions(pipelines),
                           sharding.Placement({}, 0, {"fn": 3})).stacks == 3
