from __future__ import annotations

from infra.app import load_definitions
from tests.support.pipelines import EXAMPLES


def test_cdk_entry_point_compiles_every_pipeline():
    definitions = load_definitions(EXAMPLES)
    assert sorted(definitions) == ["daily-sales-etl", "marketing-attribution", "ml-training"]
    assert all(d["StartAt"] == "Start run" for d in definitions.values())
