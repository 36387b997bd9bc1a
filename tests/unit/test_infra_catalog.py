"""Catalog entries as the pipeline stacks write them (infra/catalog.py) and what they add to a stack's estimate."""

from __future__ import annotations

import pytest

from infra import sharding
from infra.catalog import entry_value
from sluice import catalog
from sluice.catalog import CatalogError, decode, encode
from sluice.compile import compile_pipeline
from sluice.spec import Pipeline
from tests.support.pipelines import examples


def _pipeline(description: str = "") -> Pipeline:
    return Pipeline.model_validate({"name": "calls-fn", "description": description or None,
                                    "tasks": {"a": {"lambda": {"function": "fn"}}}})


def test_an_entry_is_the_encoded_spec_and_decodes_back():
    for name, pipeline in examples().items():
        value = entry_value(pipeline)
        assert value == encode(pipeline) and decode(value, name) == pipeline


def test_a_spec_cloudformation_would_rewrite_is_refused_naming_the_pipeline():
    # GIVEN a spec holding a CloudFormation dynamic reference WHEN made an entry THEN refused (CloudFormation
    # would replace it in the parameter's value, and it has no escape); other braces are templates and stay
    assert "{{ ds }}" in entry_value(_pipeline("partition {{ ds }}, ${HOME}"))
    with pytest.raises(CatalogError, match=r"pipeline 'calls-fn': its spec holds '\{\{resolve:'"):
        entry_value(_pipeline("reads {{resolve:ssm:/secret}}"))


def test_the_entry_counts_in_the_stack_estimate():
    # GIVEN two pipelines that differ only in their spec's size WHEN costed (with one definition) THEN the same
    # resources (the entry is one, counted either way) and the larger spec takes that many more template bytes
    small, large = _pipeline("x"), _pipeline("x" * 1000)
    definition = compile_pipeline(small).definition
    assert sharding.resources_of(small) == sharding.resources_of(large)
    grown = sharding.cost_of(large, definition).template_bytes - sharding.cost_of(small, definition).template_bytes
    assert grown == 999


def test_a_pipeline_too_big_for_the_catalog_is_refused_before_placing(monkeypatch):
    monkeypatch.setattr(catalog, "STANDARD_LIMIT", 100)
    monkeypatch.setattr(catalog, "ADVANCED_LIMIT", 100)
    pipeline = _pipeline()
    with pytest.raises(CatalogError, match=r"pipeline 'calls-fn': .*split it into a parent and child pipelines"):
        sharding.assign({"calls-fn": pipeline}, {"calls-fn": compile_pipeline(pipeline).definition})
