"""A local run as one self-contained HTML page: header, timeline of attempts, the DAG, tasks, billing and cost, record.

Input is the result of `sluice run --local --json`. Inline CSS and SVG only (no scripts, fonts or links to fetch);
every value taken from the run is escaped. Optional values may be null; the report says so instead of failing.
"""

from __future__ import annotations

import json
import math
from collections import defaultdict
from datetime import datetime
from graphlib import CycleError, TopologicalSorter
from html import escape
from typing import Any

from functions.adapters.clock import parse
from sluice.cost import total_text

RED, GREEN, AMBER, GREY = "#c62828", "#2e7d32", "#f9a825", "#757575"
COLOURS = {"SUCCEEDED": GREEN, "FAILED": RED, "TIMED_OUT": RED, "ABORTED": RED, "UPSTREAM_FAILED": "#ef9a9a",
           "SKIPPED": "#9e9e9e", "NOT_RUN": "#e0e0e0", "RUNNING": AMBER, "STARTING": AMBER, "PENDING": AMBER}
LIGHT = frozenset({"UPSTREAM_FAILED", "NOT_RUN", "RUNNING", "STARTING", "PENDING"})  # dark text on these fills
STYLE = ("body{font:14px system-ui,sans-serif;margin:24px;color:#222}h1{font-size:20px}"
         "h2{font-size:16px;margin-top:28px}table{border-collapse:collapse}"
         "td,th{border:1px solid #ddd;padding:3px 8px;text-align:left;vertical-align:top}td.n{text-align:right}"
         ".badge{color:#fff;padding:2px 8px;border-radius:4px}.err td{color:#c62828}.scroll{overflow:auto}"
         ".key span{display:inline-block;width:10px;height:10px;margin:0 4px 0 12px}"
         "pre{background:#f6f6f6;padding:8px;overflow:auto;margin:4px 0}svg text{font-size:11px}")
SVG = "<div class='scroll'><svg xmlns='http://www.w3.org/2000/svg' width='{w}' height='{h}' role='img'>"
ROW, LABEL, WIDTH = 18, 200, 760  # timeline: row height, label width, bar area width (px)
NODE_W, NODE_H, GAP_X, GAP_Y, PAD = 150, 26, 60, 12, 4  # DAG layout (px)


def render_report(result: dict[str, Any]) -> str:
    """The whole report: one HTML document that needs nothing else to display."""
    tasks = [t for t in result.get("tasks") or [] if isinstance(t, dict)]
    sections = [("Timeline", _timeline(result, tasks)), ("DAG", _dag(tasks)), ("Tasks", _task_table(tasks)),
                ("Billing and cost", _billing(result.get("billing")) + _cost(result.get("cost"))),
                ("Run record", _record(result.get("record") or []))]
    body = _header(result) + "".join(f"<section><h2>{name}</h2>{html}</section>" for name, html in sections)
    title = _e(f"{result.get('pipeline')} {result.get('run_id')}")
    return (f"<!doctype html><html lang='en'><head><meta charset='utf-8'><title>{title}</title>"
            f"<style>{STYLE}</style></head><body>{body}</body></html>\n")


def _e(value: Any) -> str:
    return escape("" if value is None else str(value))


def _colour(status: Any) -> str:
    return COLOURS.get(str(status), GREY)


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _number(value: Any) -> str:
    return f"{value:.6g}" if isinstance(value, float) else _e(value)


def _duration(seconds: Any) -> str:
    return f"{seconds:.2f} s" if isinstance(seconds, int | float) else ""


def _header(result: dict[str, Any]) -> str:
    status = str(result.get("status") or "UNKNOWN")
    rows = [("run id", result.get("run_id")), ("execution", result.get("execution_arn")),
            ("started", result.get("started_at")), ("duration", _duration(result.get("duration_s")) or "unknown"),
            ("logical date", result.get("logical_date")),
            ("params", json.dumps(result.get("params") or {}, sort_keys=True, default=str))]
    failed = ", ".join(str(name) for name in result.get("failed_tasks") or [])
    problems = [("error", result.get("error")), ("cause", result.get("cause")), ("failed tasks", failed)]
    table = "".join(f"<tr><th>{k}</th><td>{_e(v)}</td></tr>" for k, v in rows)
    table += "".join(f"<tr class='err'><th>{k}</th><td>{_e(v)}</td></tr>" for k, v in problems if v)
    return (f"<header><h1>{_e(result.get('pipeline'))} <span class='badge' style='background:{_colour(status)}'>"
            f"{_e(status)}</span></h1><table>{table}</table></header>")


def _at(value: Any) -> datetime | None:
    try:
        return parse(str(value)) if value else None
    except ValueError:
        return None


def _offset(origin: datetime | None, value: Any, default: float) -> float:
    """Seconds from the run's start to `value`; `default` when either is unknown."""
    moment = _at(value)
    return (moment - origin).total_seconds() if origin and moment else default


def _ticks(span: float) -> list[float]:
    """A handful of round tick values (1, 2 or 5 times a power of ten apart) from 0 to `span`."""
    raw = span / 5
    magnitude = 10 ** math.floor(math.log10(raw))
    step = next(m * magnitude for m in (1, 2, 5, 10) if m * magnitude >= raw * (1 - 1e-9))
    return [i * step for i in range(int(span / step + 1e-9) + 1)]


Row = tuple[str, str, dict[str, Any] | str]  # task, item suffix, attempt (or the status of a task without any)


def _attempt_rows(result: dict[str, Any], tasks: list[dict[str, Any]]) -> list[Row]:
    """One row per attempt, grouped by task in the order of the tasks; one row for a task without attempts."""
    by_task: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for attempt in result.get("attempts") or []:
        by_task[str(attempt.get("task"))].append(attempt)
    statuses = {str(t.get("name")): str(t.get("status") or "NOT_RUN") for t in tasks}
    rows: list[Row] = []
    for name in dict.fromkeys([*statuses, *by_task]):
        mine = sorted(by_task.get(name, []), key=lambda a: (a.get("item") is not None, a.get("item") or 0,
                                                            a.get("retry") or 0))
        rows += [(name, "" if a.get("item") is None else f"[{a['item']}]", a) for a in mine]
        if not mine:
            rows.append((name, "", statuses.get(name, "NOT_RUN")))
    return rows


def _timeline(result: dict[str, Any], tasks: list[dict[str, Any]]) -> str:
    attempts = result.get("attempts") or []
    origin = _at(result.get("started_at")) or min(filter(None, (_at(a.get("started_at")) for a in attempts)),
                                                  default=None)
    moments = [_offset(origin, a.get(key), 0.0) for a in attempts for key in ("started_at", "ended_at")]
    run_end = _offset(origin, result.get("ended_at"), max(moments, default=0.0))
    span = max(run_end, *moments, 1e-3)  # a run of no time still gets an axis
    scale, out = WIDTH / span, []
    rows = _attempt_rows(result, tasks)
    for index, (task, item, what) in enumerate(rows):
        y = index * ROW
        if index and task != rows[index - 1][0]:
            out.append(f"<line x1='0' y1='{y}' x2='{LABEL + WIDTH}' y2='{y}' stroke='#ddd'/>")
        if isinstance(what, str):
            out.append(f"<text x='0' y='{y + 13}'>{_e(_clip(task, 30))}</text><text x='{LABEL + 4}' y='{y + 13}' "
                       f"fill='{GREY}'>{_e(what)}: no attempt</text>")
            continue
        retry = what.get("retry") or 0
        begin = max(0.0, _offset(origin, what.get("started_at"), 0.0))
        end = max(begin, _offset(origin, what.get("ended_at"), run_end))  # still running: to the run's end
        tip = f"{task}{item} retry {retry}: {what.get('status')}, {end - begin:.3f} s"
        tip += f", {what['error']}" if what.get("error") else ""
        label = task + item + (f" retry {retry}" if retry else "")
        out.append(f"<text x='0' y='{y + 13}'>{_e(_clip(label, 30))}</text><rect x='{LABEL + begin * scale:.1f}' "
                   f"y='{y + 3}' width='{max(1.0, (end - begin) * scale):.1f}' height='{ROW - 6}' class='bar' "
                   f"fill='{_colour(what.get('status'))}'><title>{_e(tip)}</title></rect>")
    height = len(rows) * ROW + 20
    axis = "".join(f"<line x1='{LABEL + t * scale:.1f}' y1='0' x2='{LABEL + t * scale:.1f}' y2='{height - 16}' "
                   f"stroke='#eee'/><text x='{LABEL + t * scale:.1f}' y='{height - 4}' class='tick'>{t:g} s</text>"
                   for t in _ticks(span))
    statuses = dict.fromkeys(str(a.get("status")) for a in attempts)
    key = "".join(f"<span style='background:{_colour(s)}'></span>{_e(s)}" for s in statuses)
    return (SVG.format(w=LABEL + WIDTH + 60, h=height) + axis + "".join(out) + "</svg></div>"
            + f"<p class='key'>{key}</p>")


def layers(tasks: list[dict[str, Any]]) -> dict[str, int]:
    """Each task's layer: the length of the longest dependency path from a task without dependencies.

    Unknown dependencies are ignored; tasks on a cycle (not a DAG) are placed after their known dependencies."""
    deps = {str(t.get("name")): [str(d) for d in t.get("depends_on") or []] for t in tasks}
    deps = {name: [d for d in ds if d in deps and d != name] for name, ds in deps.items()}
    try:
        order = list(TopologicalSorter(deps).static_order())
    except CycleError:
        order = list(deps)
    layer: dict[str, int] = {}
    for name in order:
        layer[name] = 1 + max((layer[d] for d in deps[name] if d in layer), default=-1)
    return layer


def _positions(tasks: list[dict[str, Any]]) -> dict[str, tuple[int, int]]:
    """(x, y) per task: one column per layer; in a column, ordered by its dependencies' mean row, centred."""
    layer = layers(tasks)
    columns: dict[int, list[str]] = defaultdict(list)
    for name in layer:
        columns[layer[name]].append(name)
    deps = {str(t.get("name")): [str(d) for d in t.get("depends_on") or []] for t in tasks}
    row: dict[str, float] = {}

    def mean_row(name: str) -> float:
        known = [row[d] for d in deps[name] if d in row]
        return sum(known) / len(known) if known else -1.0

    for column in sorted(columns):
        columns[column].sort(key=mean_row)  # stable: ties keep the order of the tasks
        row.update((name, float(i)) for i, name in enumerate(columns[column]))
    tallest = max((len(names) for names in columns.values()), default=0)
    position: dict[str, tuple[int, int]] = {}
    for column, names in columns.items():
        top = PAD + (tallest - len(names)) * (NODE_H + GAP_Y) // 2
        for i, name in enumerate(names):
            position[name] = (PAD + column * (NODE_W + GAP_X), top + i * (NODE_H + GAP_Y))
    return position


def _edge(source: tuple[int, int], target: tuple[int, int], tip: str) -> str:
    """A curve from the right of the dependency's node to the left of the dependent's, ending in an arrowhead."""
    (x1, y1), (x2, y2) = (source[0] + NODE_W, source[1] + NODE_H // 2), (target[0], target[1] + NODE_H // 2)
    middle = (x1 + x2) // 2
    return (f"<path d='M{x1},{y1} C{middle},{y1} {middle},{y2} {x2},{y2}' fill='none' stroke='#888' class='edge' "
            f"marker-end='url(#arrow)'><title>{_e(tip)}</title></path>")


def _dag(tasks: list[dict[str, Any]]) -> str:
    position = _positions(tasks)
    edges, nodes = [], []
    for task in tasks:
        name, status = str(task.get("name")), str(task.get("status") or "NOT_RUN")
        x, y = position[name]
        for dependency in dict.fromkeys(str(d) for d in task.get("depends_on") or []):
            if dependency in position and dependency != name:
                edges.append(_edge(position[dependency], (x, y), f"{dependency} → {name}"))
        ink = "#222" if status in LIGHT else "#fff"
        nodes.append(f"<g class='node'><title>{_e(name)}: {_e(status)}</title><rect x='{x}' y='{y}' width='{NODE_W}'"
                     f" height='{NODE_H}' rx='6' fill='{_colour(status)}'/><text x='{x + 6}' y='{y + 17}' "
                     f"fill='{ink}'>{_e(_clip(name, 22))}</text></g>")
    width = max((x for x, _ in position.values()), default=0) + NODE_W + 2 * PAD
    height = max((y for _, y in position.values()), default=0) + NODE_H + 2 * PAD
    arrow = ("<defs><marker id='arrow' viewBox='0 0 10 10' refX='10' refY='5' markerWidth='6' markerHeight='6' "
             "orient='auto'><path d='M0,0 L10,5 L0,10 z' fill='#888'/></marker></defs>")
    return SVG.format(w=width, h=height) + arrow + "".join(edges) + "".join(nodes) + "</svg></div>"


def _table(head: list[str], rows: list[list[str]]) -> str:
    cells = "".join("<tr>" + "".join(row) + "</tr>" for row in rows)
    return "<table><tr>" + "".join(f"<th>{h}</th>" for h in head) + f"</tr>{cells}</table>"


def _task_table(tasks: list[dict[str, Any]]) -> str:
    return _table(["task", "kind", "status", "attempts", "duration", "error"], [
        [f"<td>{_e(t.get('name'))}</td>", f"<td>{_e(t.get('kind'))}</td>",
         f"<td style='color:{_colour(t.get('status'))}'>{_e(t.get('status'))}</td>",
         f"<td class='n'>{_e(t.get('attempts'))}</td>", f"<td class='n'>{_duration(t.get('duration_s'))}</td>",
         f"<td>{_e(t.get('error'))}</td>"] for t in tasks])


def _billing(billing: Any) -> str:
    rows = [[f"<td>{_e(str(k).replace('_', ' '))}</td>", f"<td class='n'>{_number(n)}</td>"]
            for k, n in (billing.items() if isinstance(billing, dict) else [])]
    return "<h3>Billed counts</h3>" + _table(["what", "count"], rows) if rows else "<p>No billing counts.</p>"


def _usd(value: Any, digits: int) -> str:
    return f"${value:.{digits}f}" if isinstance(value, int | float) else ""


def _cost(cost: Any) -> str:
    if not isinstance(cost, dict):
        return "<p>No cost estimate.</p>"
    rows = [[f"<td>{_e(line.get('item'))}{_basis(line)}</td>", f"<td class='n'>{_number(line.get('quantity'))} "
             f"{_e(line.get('unit'))}</td>", f"<td class='n'>{_usd(line.get('unit_price_usd'), 10)}</td>",
             f"<td class='n'>{_usd(line.get('usd'), 6)}</td>"] for line in cost.get("lines") or []]
    rows.append(["<th colspan='3'>total per run</th>", f"<th class='n'>{_usd(cost.get('total_usd'), 6)}</th>"])
    return (f"<h3>Cost</h3>{_table(['item', 'quantity', 'unit price', 'cost'], rows)}<p>List prices in "
            f"{_e(cost.get('region') or 'an unknown region')} as of {_e(cost.get('prices_as_of') or 'an unknown date')}"
            f". The total {_e(total_text(cost))}.</p>")


def _basis(line: dict[str, Any]) -> str:
    return f"<br><small>{_e(line['basis'])}</small>" if line.get("basis") else ""


def _record(items: list[Any]) -> str:
    """Each stored item, pretty-printed, in a <details> summarised by its keys."""
    keys = [(i.get("pk"), i.get("sk")) if isinstance(i, dict) else ("", "") for i in items]
    return "".join(f"<details><summary>{_e(pk)} · {_e(sk)}</summary><pre>"
                   f"{_e(json.dumps(item, indent=2, sort_keys=True, default=str))}</pre></details>"
                   for item, (pk, sk) in zip(items, keys, strict=True)) or "<p>No items stored.</p>"
