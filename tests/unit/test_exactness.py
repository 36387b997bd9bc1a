"""The compiled state machine starts every task exactly when its last dependency ends, for ANY DAG."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sluice.compile import compile_pipeline, structure
from sluice.compile.structure import build
from sluice.graph import Dag
from sluice.simulate import simulate
from sluice.spec import Pipeline
from tests.support.pipelines import pipeline_from_deps
from tests.unit.test_structure import _tree_edges


@st.composite
def dags(draw, max_tasks: int = 14):
    n = draw(st.integers(1, max_tasks))
    names = [f"t{i}" for i in range(n)]
    density = draw(st.floats(0.05, 0.7))
    deps = {}
    for j, name in enumerate(names):
        earlier = names[:j]
        mask = draw(st.lists(st.floats(0, 1), min_size=len(earlier), max_size=len(earlier)))
        deps[name] = [e for e, r in zip(earlier, mask, strict=True) if r < density]
    order = draw(st.permutations(names))  # declaration order must not matter
    return {name: deps[name] for name in order}


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(deps=dags(), data=st.data())
def test_makespan_equals_critical_path(deps, data):
    # GIVEN a random DAG and random task durations
    durations = {t: data.draw(st.integers(1, 50), label=t) for t in deps}
    compiled = compile_pipeline(pipeline_from_deps(deps))
    # WHEN the compiled definition is simulated
    result = simulate(compiled.definition, durations)
    # THEN every task starts the moment its last dependency ends, and the run takes the critical path
    assert result.status == "SUCCEEDED"
    for task, ds in deps.items():
        assert result.started[task] == max((result.ended[d] for d in ds), default=0), task
    assert result.makespan == Dag(deps).critical_path(durations)[0]


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(deps=dags(), data=st.data())
def test_skipped_tasks_end_no_earlier_than_their_dependencies(deps, data):
    # GIVEN a random DAG where some tasks have a `when` that is false, and random durations
    skipped = data.draw(st.sets(st.sampled_from(sorted(deps))), label="skipped")
    durations = {t: data.draw(st.integers(1, 50), label=t) for t in deps}
    pipeline = Pipeline.model_validate({
        "name": "generated", "params": {"flag": {"type": "bool", "default": False}},
        "tasks": {t: {"depends_on": ds, "lambda": {"function": "f"}, **({"when": "params.flag"} if t in skipped
                                                                            else {})} for t, ds in deps.items()}})
    result = simulate(compile_pipeline(pipeline).definition, durations)
    # THEN a skipped task is decided exactly when its last dependency ends (it never lets a descendant
    # start early), and every task that runs starts exactly then too
    assert result.status == "SUCCEEDED"
    for task, ds in deps.items():
        assert result.started[task] == max((result.ended[d] for d in ds), default=0), task
        assert result.ledger.tasks[task].status == ("SKIPPED" if task in skipped else "SUCCEEDED")
    effective = {t: (0 if t in skipped else d) for t, d in durations.items()}
    assert result.makespan == Dag(deps).critical_path(effective)[0]


@settings(max_examples=200, deadline=None)
@given(deps=dags(max_tasks=20))
def test_tree_holds_no_false_dependency(deps):
    # GIVEN a random DAG WHEN decomposed THEN every ordering the tree imposes is a true (transitive) dependency
    dag = Dag(deps)
    structure = build(dag)
    reach = dag.descendant_bits()
    for a, b in _tree_edges(structure.tree):
        assert reach[a] >> dag.index[b] & 1, (a, b)
    # AND every direct dependency is kept by the tree or gated
    closure_or_gate = _tree_edges(structure.tree) | structure.gated_edges
    for a, b in dag.transitive_reduction().edges():
        assert (a, b) in closure_or_gate


@settings(max_examples=60, deadline=None)
@given(deps=dags(max_tasks=10), data=st.data())
def test_failure_blocks_exactly_the_descendants(deps, data):
    # GIVEN one task that fails all its attempts
    failing = data.draw(st.sampled_from(sorted(deps)))
    compiled = compile_pipeline(pipeline_from_deps(deps))
    result = simulate(compiled.definition, failures={failing: 99})
    # THEN the run fails naming it, its descendants are UPSTREAM_FAILED, every other task succeeded
    dag = Dag(deps)
    below = {n for n in deps if failing in dag.ancestors(n)}
    statuses = {n: r.status for n, r in result.ledger.tasks.items()}
    assert result.status == "FAILED" and f"task '{failing}' failed" in result.cause
    assert statuses[failing] == "FAILED"
    assert {n for n, s in statuses.items() if s == "UPSTREAM_FAILED"} == below
    assert all(statuses[n] == "SUCCEEDED" for n in deps if n != failing and n not in below)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                  HealthCheck.function_scoped_fixture])
@given(deps=dags(), data=st.data())
def test_flat_fallbacks_stay_exact(deps, data, monkeypatch):
    # GIVEN tiny limits, so parts are laid out flat for depth and for size (what huge pipelines get)
    monkeypatch.setattr(structure, "MAX_DEPTH", data.draw(st.integers(0, 2), label="max depth"))
    monkeypatch.setattr(structure, "MAX_SHAPED_PART", data.draw(st.integers(2, 6), label="max shaped part"))
    durations = {t: data.draw(st.integers(1, 50), label=t) for t in deps}
    result = simulate(compile_pipeline(pipeline_from_deps(deps)).definition, durations)
    # THEN every task still starts exactly when its last dependency ends
    for task, ds in deps.items():
        assert result.started[task] == max((result.ended[d] for d in ds), default=0), task
    assert result.makespan == Dag(deps).critical_path(durations)[0]


def _ladder(rows: int) -> dict[str, list[str]]:
    deps: dict[str, list[str]] = {}
    for r in range(rows):
        for c in range(2):
            deps[f"r{r}c{c}"] = [f"r{r - 1}c{c}"] * (r > 0) + [f"r{r}c{c - 1}"] * (c > 0)
    return deps


def _depth(node) -> int:
    if isinstance(node, structure.Leaf):
        return 0
    children = node.parts if isinstance(node, structure.Series) else node.branches
    return max(_depth(c) for c in children) + isinstance(node, structure.Fork)


def test_deep_non_series_parallel_dag_compiles_with_bounded_nesting():
    # GIVEN a 2 x 1,000 grid (each task after its upper and left neighbour): deep and not series-parallel
    deps = _ladder(1_000)
    compiled = compile_pipeline(pipeline_from_deps(deps), check_budget=False)
    # THEN no RecursionError, the Parallel nesting stays bounded, and the definition serializes
    assert _depth(compiled.structure.tree) <= structure.MAX_DEPTH + 1
    assert len(compiled.to_json(indent=None)) == compiled.budget.definition_bytes
