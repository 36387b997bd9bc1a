from __future__ import annotations

import pytest

from sluice.graph import Dag, to_dot, to_mermaid

N_SHAPE = {"a": [], "b": [], "c": ["a", "b"], "d": ["b"]}


def test_topological_order_follows_dependencies_and_declaration_order():
    # GIVEN tasks declared out of dependency order
    dag = Dag({"load": ["transform"], "extract": [], "transform": ["extract"], "audit": []})
    # WHEN ordered THEN dependencies come first, ties keep declaration order
    assert dag.topological_order() == ["extract", "transform", "load", "audit"]


def test_cycle_is_reported_as_a_closed_path():
    dag = Dag({"a": ["c"], "b": ["a"], "c": ["b"], "d": []})
    cycle = dag.find_cycle()
    assert cycle is not None and cycle[0] == cycle[-1] and set(cycle) == {"a", "b", "c"}
    with pytest.raises(ValueError, match="cycle"):
        dag.topological_order()


def test_acyclic_graph_has_no_cycle():
    assert Dag(N_SHAPE).find_cycle() is None


def test_transitive_reduction_drops_implied_edges_only():
    # GIVEN a -> b -> c and the redundant a -> c
    dag = Dag({"a": [], "b": ["a"], "c": ["a", "b"], "d": ["a"]})
    reduced = dag.transitive_reduction()
    assert reduced.preds == {"a": [], "b": ["a"], "c": ["b"], "d": ["a"]}


def test_ancestors():
    assert Dag({"a": [], "b": ["a"], "c": ["b"], "d": []}).ancestors("c") == {"a", "b"}


def test_critical_path_is_the_longest_weighted_path():
    dag = Dag(N_SHAPE)
    length, path = dag.critical_path({"a": 5, "b": 1, "c": 2, "d": 10})
    assert (length, path) == (11, ["b", "d"])
    assert dag.critical_path({"a": 5, "b": 1, "c": 2, "d": 1}) == (7, ["a", "c"])


def test_mermaid_and_dot_draw_every_node_and_edge_with_gates_dashed():
    dag = Dag(N_SHAPE)
    mermaid = to_mermaid(dag, {"a": "glue"}, dashed={("b", "c")})
    assert mermaid.startswith("flowchart LR\n")
    assert '["a<br/><small>glue</small>"]' in mermaid
    assert mermaid.count("-->") == 2 and mermaid.count("-.->") == 1
    dot = to_dot(dag, dashed={("b", "c")}, name="p")
    assert dot.startswith('digraph "p" {') and '"b" -> "c" [style=dashed];' in dot and '"a" -> "c";' in dot
