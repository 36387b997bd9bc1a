"""Bad input never produces a traceback: mutated pipelines and random text only ever yield Problems."""

from __future__ import annotations

import copy

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sluice.compile import compile_pipeline
from sluice.spec import load_text
from tests.support.pipelines import EXAMPLES

DOCS = [yaml.safe_load(p.read_text()) for p in sorted(EXAMPLES.glob("*.yaml"))]

scalars = st.one_of(st.none(), st.booleans(), st.integers(-10**12, 10**12), st.floats(allow_nan=False),
                    st.text(max_size=30), st.text(alphabet="{}[]:#-*&!|>'\"%@` ", max_size=10),
                    st.sampled_from(["{{ params.x }}", "{{ tasks.nope.output }}", "{{", "1h", "cron(0 0 * * ? *)",
                                     "x" * 5000, "ünïcødé ✓", "depends_on"]))
values = st.recursive(scalars, lambda inner: st.one_of(st.lists(inner, max_size=4),
                                                       st.dictionaries(st.text(max_size=12), inner, max_size=4)),
                      max_leaves=12)


def _paths(node, path=()):
    yield path
    if isinstance(node, dict):
        for k, v in node.items():
            yield from _paths(v, (*path, k))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            yield from _paths(v, (*path, i))


@st.composite
def mutated(draw):
    doc = copy.deepcopy(draw(st.sampled_from(DOCS)))
    for _ in range(draw(st.integers(1, 4))):
        paths = [p for p in _paths(doc) if p]
        path = draw(st.sampled_from(paths))
        parent = doc
        for part in path[:-1]:
            parent = parent[part]
        action = draw(st.sampled_from(["replace", "delete", "add"]))
        if action == "replace":
            parent[path[-1]] = draw(values)
        elif action == "delete":
            del parent[path[-1]]
        elif isinstance(parent, dict):
            parent[draw(st.text(min_size=1, max_size=12))] = draw(values)
    return doc


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(doc=mutated())
def test_mutated_pipelines_give_problems_or_a_pipeline_never_an_exception(doc):
    text = yaml.safe_dump(doc, allow_unicode=True, sort_keys=False)
    pipeline, problems = load_text(text, "fuzz.yaml")
    assert (pipeline is None) == any(p.severity == "error" for p in problems)
    for problem in problems:
        assert problem.message and problem.file == "fuzz.yaml"
    if pipeline is not None:
        compile_pipeline(pipeline, check_budget=False)  # whatever validates also compiles


@settings(max_examples=200, deadline=None)
@given(text=st.text(max_size=300))
def test_random_text_never_raises(text):
    pipeline, problems = load_text(text, "noise.yaml")
    assert pipeline is None and problems
