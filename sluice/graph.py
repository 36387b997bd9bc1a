"""The task DAG: cycles, topological order, reachability, transitive reduction, critical path, drawings."""

from __future__ import annotations

import heapq
from collections.abc import Callable, Mapping, Sequence


class Dag:
    """Tasks and their dependencies. Node order is declaration order, which keeps every result deterministic."""

    def __init__(self, deps: Mapping[str, Sequence[str]]) -> None:
        self.nodes: list[str] = list(deps)
        self.index = {n: i for i, n in enumerate(self.nodes)}
        self.preds: dict[str, list[str]] = {n: [d for d in dict.fromkeys(deps[n]) if d in deps] for n in self.nodes}
        self.succs: dict[str, list[str]] = {n: [] for n in self.nodes}
        for n in self.nodes:
            for d in self.preds[n]:
                self.succs[d].append(n)

    @classmethod
    def of(cls, pipeline: object) -> Dag:
        """The DAG of a validated pipeline."""
        tasks = pipeline.tasks  # type: ignore[attr-defined]
        return cls({name: task.depends_on for name, task in tasks.items()})

    def edges(self) -> list[tuple[str, str]]:
        return [(d, n) for n in self.nodes for d in self.preds[n]]

    def find_cycle(self) -> list[str] | None:
        """A cycle as a path that returns to its start (['a', 'b', 'a']), or None."""
        state: dict[str, int] = {}
        for root in self.nodes:
            if root in state:
                continue
            stack: list[tuple[str, int]] = [(root, 0)]
            path: list[str] = []
            while stack:
                node, i = stack.pop()
                if i == 0:
                    state[node] = 1
                    path.append(node)
                succs = self.succs[node]
                if i < len(succs):
                    stack.append((node, i + 1))
                    nxt = succs[i]
                    if state.get(nxt) == 1:
                        return [*path[path.index(nxt):], nxt]
                    if nxt not in state:
                        stack.append((nxt, 0))
                else:
                    state[node] = 2
                    path.pop()
        return None

    def topological_order(self) -> list[str]:
        """Kahn's order, ties broken by declaration order. Raises ValueError on a cycle."""
        indeg = {n: len(self.preds[n]) for n in self.nodes}
        ready = [self.index[n] for n in self.nodes if indeg[n] == 0]
        heapq.heapify(ready)
        out: list[str] = []
        while ready:
            node = self.nodes[heapq.heappop(ready)]
            out.append(node)
            for s in self.succs[node]:
                indeg[s] -= 1
                if indeg[s] == 0:
                    heapq.heappush(ready, self.index[s])
        if len(out) != len(self.nodes):
            raise ValueError(f"the graph has a cycle: {' -> '.join(self.find_cycle() or [])}")
        return out

    def descendant_bits(self) -> dict[str, int]:
        """For every node, a bit set (bit i = node i) of the nodes reachable from it."""
        bits: dict[str, int] = {}
        for n in reversed(self.topological_order()):
            acc = 0
            for s in self.succs[n]:
                acc |= bits[s] | (1 << self.index[s])
            bits[n] = acc
        return bits

    def ancestors(self, node: str) -> set[str]:
        seen: set[str] = set()
        todo = list(self.preds[node])
        while todo:
            n = todo.pop()
            if n not in seen:
                seen.add(n)
                todo.extend(self.preds[n])
        return seen

    def path(self, source: str, target: str) -> list[str] | None:
        """A chain of dependencies from `source` down to `target` (source first), or None if target does not run
        after source."""
        before: dict[str, str] = {}
        todo, seen = [source], {source}
        while todo:
            n = todo.pop(0)
            if n == target:
                chain = [n]
                while chain[-1] != source:
                    chain.append(before[chain[-1]])
                return chain[::-1]
            for m in self.succs[n]:
                if m not in seen:
                    seen.add(m)
                    before[m] = n
                    todo.append(m)
        return None

    def transitive_reduction(self) -> Dag:
        """The same order with every dependency that another path already implies removed."""
        reach = self.descendant_bits()
        keep: dict[str, list[str]] = {n: [] for n in self.nodes}
        for u in self.nodes:
            implied = 0
            for w in self.succs[u]:
                implied |= reach[w]
            for v in self.succs[u]:
                if not implied >> self.index[v] & 1:
                    keep[v].append(u)
        return Dag({n: sorted(keep[n], key=self.index.__getitem__) for n in self.nodes})

    def critical_path(self, durations: Mapping[str, float]) -> tuple[float, list[str]]:
        """Length and tasks of the longest duration-weighted path: the best possible makespan."""
        finish: dict[str, float] = {}
        via: dict[str, str | None] = {}
        for n in self.topological_order():
            best = max(self.preds[n], key=lambda d: finish[d], default=None)
            finish[n] = (finish[best] if best else 0.0) + durations[n]
            via[n] = best
        if not finish:
            return 0.0, []
        last = max(self.nodes, key=lambda n: finish[n])
        length = finish[last]
        end: str | None = last
        path: list[str] = []
        while end is not None:
            path.append(end)
            end = via[end]
        return length, path[::-1]


def to_mermaid(dag: Dag, labels: Mapping[str, str] | None = None, dashed: set[tuple[str, str]] | None = None) -> str:
    """Mermaid flowchart text (renders on GitHub in a ```mermaid block)."""
    ids = {n: f"t{i}" for i, n in enumerate(dag.nodes)}
    body = _drawing(
        dag, dashed,
        node=lambda n: f'{ids[n]}["{_escape(_label(n, labels, "<br/><small>", "</small>"))}"]',
        edge=lambda a, b, gated: f"{ids[a]} {'-.->' if gated else '-->'} {ids[b]}",
    )
    return "\n".join(["flowchart LR", *body]) + "\n"


_DOT_BREAK = "\\n"  # a line break inside a dot label


def to_dot(dag: Dag, labels: Mapping[str, str] | None = None, dashed: set[tuple[str, str]] | None = None,
           name: str = "pipeline") -> str:
    """Graphviz dot text."""
    body = _drawing(
        dag, dashed,
        node=lambda n: f'"{_escape(n)}" [label="{_escape(_label(n, labels, _DOT_BREAK, ""))}"];',
        edge=lambda a, b, gated: f'"{_escape(a)}" -> "{_escape(b)}"{" [style=dashed]" if gated else ""};',
    )
    header = [f'digraph "{_escape(name)}" {{', "    rankdir=LR;", "    node [shape=box, style=rounded];"]
    return "\n".join([*header, *body, "}"]) + "\n"


def _drawing(dag: Dag, dashed: set[tuple[str, str]] | None, node: Callable[[str], str],
             edge: Callable[[str, str, bool], str]) -> list[str]:
    gated = dashed or set()
    return [f"    {node(n)}" for n in dag.nodes] + [f"    {edge(a, b, (a, b) in gated)}" for a, b in dag.edges()]


def _label(node: str, labels: Mapping[str, str] | None, before: str, after: str) -> str:
    return f"{node}{before}{labels[node]}{after}" if labels and node in labels else node


def _escape(text: str) -> str:
    return text.replace('"', "&quot;")
