from __future__ import annotations

from sluice.compile.structure import Fork, Leaf, Series, build
from sluice.graph import Dag


def test_chain_is_one_series():
    s = build(Dag({"a": [], "b": ["a"], "c": ["b"]}))
    assert s.tree == Series((Leaf("a"), Leaf("b"), Leaf("c"))) and s.gated == {}


def test_diamond_is_series_of_fork():
    s = build(Dag({"a": [], "b": ["a"], "c": ["a"], "d": ["b", "c"]}))
    assert s.tree == Series((Leaf("a"), Fork((Leaf("b"), Leaf("c"))), Leaf("d"))) and s.gated == {}


def test_independent_chains_are_a_fork_of_series():
    s = build(Dag({"a": [], "b": ["a"], "x": [], "y": ["x"]}))
    assert s.tree == Fork((Series((Leaf("a"), Leaf("b"))), Series((Leaf("x"), Leaf("y")))))


def test_complete_bipartite_join_is_series_parallel():
    # GIVEN every one of a, b feeding every one of c, d: still series-parallel
    s = build(Dag({"a": [], "b": [], "c": ["a", "b"], "d": ["a", "b"]}))
    assert s.tree == Series((Fork((Leaf("a"), Leaf("b"))), Fork((Leaf("c"), Leaf("d"))))) and s.gated == {}


def test_n_shape_gates_exactly_one_edge():
    # GIVEN the smallest DAG that is not series-parallel: a->c, b->c, b->d
    s = build(Dag({"a": [], "b": [], "c": ["a", "b"], "d": ["b"]}))
    # THEN one dependency is enforced at dispatch and the tree keeps only true dependencies
    assert sum(len(v) for v in s.gated.values()) == 1
    assert s.gated == {"c": ["a"]}
    assert s.tree == Fork((Leaf("a"), Series((Leaf("b"), Fork((Leaf("c"), Leaf("d")))))))


def test_redundant_edges_do_not_cause_gates():
    s = build(Dag({"a": [], "b": ["a"], "c": ["a", "b"]}))
    assert s.gated == {} and s.tree == Series((Leaf("a"), Leaf("b"), Leaf("c")))


def test_every_edge_is_either_in_the_tree_or_gated():
    deps = {"a": [], "b": [], "c": ["a"], "d": ["a", "b"], "e": ["c", "d"], "f": ["b"], "g": ["f", "c"]}
    s = build(Dag(deps))
    reduced = Dag(deps).transitive_reduction()
    tree_edges = _tree_edges(s.tree)
    for a, b in reduced.edges():
        assert (a, b) in tree_edges or (a, b) in s.gated_edges, (a, b)


def _tree_edges(node) -> set[tuple[str, str]]:
    """Edges the tree enforces: every task of a series part before every task of a later part."""
    if isinstance(node, Leaf):
        return set()
    edges = set().union(*(_tree_edges(p) for p in (node.parts if isinstance(node, Series) else node.branches)))
    if isinstance(node, Series):
        for i, early in enumerate(node.parts):
            for late in node.parts[i + 1:]:
                edges |= {(x, y) for x in _leaves(early) for y in _leaves(late)}
    return edges


def _leaves(node) -> list[str]:
    if isinstance(node, Leaf):
        return [node.task]
    return [t for p in (node.parts if isinstance(node, Series) else node.branches) for t in _leaves(p)]
