"""The shape of the state machine: a series-parallel tree over the tasks, plus gated edges.

Series-parallel DAGs become nested Parallel states exactly. For any other DAG, a few dependencies are taken
out of the tree and enforced at dispatch instead ("gated"): the dispatcher holds the task until those
dependencies have ended. The tree only keeps true dependencies, so no task ever waits for one it does not
have: makespan equals the critical path. See docs/compiler.md.
"""

from __future__ import annotations

import itertools
from collections import Counter
from dataclasses import dataclass, field

from ..graph import Dag


@dataclass(frozen=True)
class Leaf:
    task: str


@dataclass(frozen=True)
class Series:
    parts: tuple[Node, ...]


@dataclass(frozen=True)
class Fork:
    branches: tuple[Node, ...]


Node = Leaf | Series | Fork


@dataclass
class Structure:
    tree: Node
    gated: dict[str, list[str]] = field(default_factory=dict)  # task -> dependencies checked at dispatch

    @property
    def gated_edges(self) -> set[tuple[str, str]]:
        return {(d, t) for t, ds in self.gated.items() for d in ds}


def build(dag: Dag) -> Structure:
    """Decompose the transitive reduction of `dag` into a series-parallel tree plus gated edges."""
    reduced = dag.transitive_reduction()
    order = reduced.topological_order()
    builder = _Builder(reduced)
    tree = builder.build(order)
    gated = {t: sorted(ds, key=reduced.index.__getitem__) for t, ds in sorted(builder.gated.items(),
                                                                          key=lambda kv: reduced.index[kv[0]])}
    return Structure(tree, gated)


MAX_DEPTH = 24  # nested Parallel states at most
MAX_SHAPED_PART = 1_500  # a larger part that is not series-parallel is laid out flat


class _Builder:
    def __init__(self, dag: Dag) -> None:
        self.preds = {n: set(ps) for n, ps in dag.preds.items()}
        self.succs = {n: set(ss) for n, ss in dag.succs.items()}
        self.pos = {n: i for i, n in enumerate(dag.topological_order())}
        self.gated: dict[str, list[str]] = {}

    def build(self, nodes: list[str], depth: int = 0) -> Node:
        """`nodes` in topological order; their edges to outside nodes are already accounted for.

        `depth` counts the Parallel states around this part. Past MAX_DEPTH, or for a large part that is not
        series-parallel, the part becomes one flat Parallel with every dependency inside it gated: still exact,
        and it bounds both the nesting of the definition and the work spent looking for structure.
        """
        while True:
            if len(nodes) == 1:
                return Leaf(nodes[0])
            if depth >= MAX_DEPTH:
                return self._flat(nodes)
            parts = self._components(nodes)
            if len(parts) > 1:
                return Fork(tuple(self.build(p, depth + 1) for p in parts))
            pieces = self._series(nodes)
            if len(pieces) > 1:
                return Series(tuple(self.build(p, depth) for p in pieces))
            if len(nodes) > MAX_SHAPED_PART:
                return self._flat(nodes)
            self._gate_by_owner(nodes)

    def _flat(self, nodes: list[str]) -> Node:
        inside = set(nodes)
        for v in nodes:
            for p in sorted((p for p in self.preds[v] if p in inside), key=self.pos.__getitem__):
                self.preds[v].discard(p)
                self.succs[p].discard(v)
                self.gated.setdefault(v, []).append(p)
        return Fork(tuple(Leaf(n) for n in nodes))

    def _components(self, nodes: list[str]) -> list[list[str]]:
        inside = set(nodes)
        label: dict[str, int] = {}
        count = 0
        for root in nodes:
            if root in label:
                continue
            label[root] = count
            count += 1
            stack = [root]
            while stack:
                n = stack.pop()
                for m in (*self.preds[n], *self.succs[n]):
                    if m in inside and m not in label:
                        label[m] = label[root]
                        stack.append(m)
        groups: dict[int, list[str]] = {}
        for n in nodes:
            groups.setdefault(label[n], []).append(n)
        return list(groups.values())

    def _series(self, nodes: list[str]) -> list[list[str]]:
        """Split at every valid series cut: each prefix whose sinks all lead to all the suffix's sources.

        Every valid cut is a prefix of any topological order, so one pass finds them all. With a transitively
        reduced graph a cut is valid exactly when the crossing edges are (sinks of prefix) x (sources of rest).
        """
        inside = set(nodes)
        indeg = {n: sum(1 for p in self.preds[n] if p in inside) for n in nodes}
        out_inside = {n: sum(1 for s in self.succs[n] if s in inside) for n in nodes}
        in_prefix: dict[str, int] = dict.fromkeys(nodes, 0)  # preds already in the prefix
        out_prefix: dict[str, int] = dict.fromkeys(nodes, 0)  # succs already in the prefix
        cross = bad_tail = bad_head = sinks = 0
        sources = sum(1 for n in nodes if indeg[n] == 0)
        cuts = []
        for k, v in enumerate(nodes[:-1]):
            for u in self.preds[v]:
                if u not in inside:
                    continue
                cross -= 1
                if out_prefix[u]:
                    bad_tail -= 1
                out_prefix[u] += 1
                if out_prefix[u] == 1:
                    sinks -= 1
                    bad_tail += out_inside[u] - out_prefix[u]
            sources -= 1
            sinks += 1
            for w in self.succs[v]:
                if w not in inside:
                    continue
                cross += 1
                in_prefix[w] += 1
                if in_prefix[w] == indeg[w]:
                    sources += 1
                    bad_head -= in_prefix[w] - 1
                else:
                    bad_head += 1
            if bad_tail == 0 and bad_head == 0 and cross == sinks * sources:
                cuts.append(k + 1)
        bounds = [0, *cuts, len(nodes)]
        return [nodes[a:b] for a, b in itertools.pairwise(bounds)]

    def _gate_by_owner(self, nodes: list[str]) -> None:
        """Split a connected, non-series-parallel part by giving each task one owning source.

        A task joins the owner most of its predecessors have (ties: the latest predecessor's), so few edges
        cross; the crossing edges are taken out of the tree and gated. Each source owns itself, and a part
        that cannot be split has at least two sources, so this always makes progress.
        """
        inside = set(nodes)
        owner: dict[str, str] = {}
        for v in nodes:
            ps = sorted((p for p in self.preds[v] if p in inside), key=self.pos.__getitem__)
            if not ps:
                owner[v] = v
                continue
            votes = Counter(owner[p] for p in ps)
            best = max(votes.values())
            owner[v] = next(owner[p] for p in reversed(ps) if votes[owner[p]] == best)
        for v in nodes:
            for p in [p for p in self.preds[v] if p in inside and owner[p] != owner[v]]:
                self.preds[v].discard(p)
                self.succs[p].discard(v)
                self.gated.setdefault(v, []).append(p)
