"""A local run as one self-contained HTML page: header, timeline of attempts, the DAG, tasks, cost, run record.

Inline CSS and SVG only (no scripts, fonts or links to fetch), every value from the run escaped.
"""

from __future__ import annotations

import json
from datetime import datetime
from html import escape
from typing import Any

COLOURS = {"SUCCEEDED": "#2e7d32", "FAILED": "#c62828", "TIMED_OUT": "#c62828", "ABORTED": "#c62828",
           "UPSTREAM_FAILED": "#ef9a9a", "SKIPPED": "#9e9e9e", "NOT_RUN": "#e0e0e0", "RUNNING": "#f9a825",
           "STARTING": "#f9a825", "PENDING": "#f9a825"}
STYLE = ("body{font:14px system-ui,sans-serif;margin:24px;color:#222}h1{font-size:20px}"
         "h2{font-size:16px;margin-top:28px}table{border-collapse:collapse}"
         "td,th{border:1px solid #ddd;padding:3px 8px;text-align:left}"
         ".badge{color:#fff;padding:2px 8px;border-radius:4px}pre{background:#f6f6f6;padding:8px;overflow:auto}"
         "svg text{font-size:11px}")
ROW, LABEL, WIDTH = 18, 180, 760  # timeline: row height, label width, bar area width (px)
NODE_W, NODE_H, GAP_X, GAP_Y = 150, 26, 60, 12  # DAG layout


def render_report(result: dict[str, Any]) -> str:
    parts = [_header(result), "<h2>Timeline</h2>", _timeline(result), "<h2>DAG</h2>", _dag(result["tasks"]),
             "<h2>Tasks</h2>", _tasks(result["tasks"]), "<h2>Cost</h2>", _cost(result), "<h2>Run record</h2>",
             _record(result.get("record") or [])]
    title = escape(f"{result['pipeline']} {result['run_id']}")
    return (f"<!doctype html><html><head><meta charset='utf-8'><title>{title}</title><style>{STYLE}</style>"
            f"</head><body>{''.join(parts)}</body></html>")


def _colour(status: str | None) -> str:
    return COLOURS.get(status or "", "#757575")


def _header(result: dict[str, Any]) -> str:
    status = str(result["status"])
    rows = [("run", result["run_id"]), ("logical date", result.get("logical_date")),
            ("duration", f"{result.get('duration_s') or 0:.2f} s"),
            ("params", json.dumps(result.get("params") or {}, sort_keys=True))]
    if result.get("error"):
        rows += [("error", result["error"]), ("cause", result.get("cause")),
                 ("failed tasks", ", ".join(result.get("failed_tasks") or []) or "none")]
    table = "".join(f"<tr><th>{escape(k)}</th><td>{escape(str(v))}</td></tr>" for k, v in rows)
    return (f"<h1>{escape(result['pipeline'])} <span class='badge' style='background:{_colour(status)}'>"
            f"{escape(status)}</span></h1><table>{table}</table>")


def _seconds(start: str, moment: str | None, default: float) -> float:
    if not moment:
        return default
    parse = datetime.fromisoformat
    return (parse(moment.replace("Z", "+00:00")) - parse(start.replace("Z", "+00:00"))).total_seconds()


def _timeline(result: dict[str, Any]) -> str:
    start = result["started_at"]
    total = max(_seconds(start, result.get("ended_at"), 0.0),
                *(_seconds(start, a.get("ended_at"), 0.0) for a in result["attempts"]), 0.001)
    scale = WIDTH / total
    rows: list[str] = []
    for task in result["tasks"]:
        mine = [a for a in result["attempts"] if a["task"] == task["name"]] or [None]
        for attempt in mine:
            y = len(rows) * ROW
            label = task["name"] if attempt is None or attempt["item"] is None else f"{task['name']}[{attempt['item']}]"
            bar = ""
            if attempt is not None:
                begin = max(0.0, _seconds(start, attempt.get("started_at"), 0.0))
                end = _seconds(start, attempt.get("ended_at"), total)
                tip = (f"{label} retry {attempt['retry']}: {attempt['status']}, {max(0.0, end - begin):.3f} s"
                       + (f", {attempt['error']}" if attempt.get("error") else ""))
                width = max(1.0, (end - begin) * scale)
                bar = (f"<rect x='{LABEL + begin * scale:.1f}' y='{y + 3}' width='{width:.1f}'"
                       f" height='{ROW - 6}' fill='{_colour(attempt['status'])}'><title>{escape(tip)}</title></rect>")
            else:
                bar = (f"<text x='{LABEL}' y='{y + 13}' fill='#757575'>{escape(task['status'])}</text>")
            rows.append(f"<text x='0' y='{y + 13}'>{escape(label)}</text>{bar}")
    height = len(rows) * ROW + 20
    ticks = "".join(f"<line x1='{LABEL + i * WIDTH / 5:.1f}' y1='0' x2='{LABEL + i * WIDTH / 5:.1f}' "
                    f"y2='{height - 16}' stroke='#eee'/><text x='{LABEL + i * WIDTH / 5:.1f}' y='{height - 4}'>"
                    f"{total * i / 5:.2f} s</text>" for i in range(6))
    return (f"<svg xmlns='http://www.w3.org/2000/svg' width='{LABEL + WIDTH + 60}' height='{height}'>"
            f"{ticks}{''.join(rows)}</svg>")


def layers(tasks: list[dict[str, Any]]) -> dict[str, int]:
    """Each task's layer: the length of the longest dependency path from a task without dependencies."""
    deps = {t["name"]: list(t.get("depends_on") or []) for t in tasks}
    layer: dict[str, int] = {}

    def of(name: str) -> int:
        if name not in layer:
            layer[name] = 1 + max((of(d) for d in deps.get(name, []) if d in deps), default=-1)
        return layer[name]

    for name in deps:
        of(name)
    return layer


def _dag(tasks: list[dict[str, Any]]) -> str:
    layer = layers(tasks)
    slots: dict[int, int] = {}
    position: dict[str, tuple[float, float]] = {}
    for task in tasks:
        column = layer[task["name"]]
        row = slots.get(column, 0)
        slots[column] = row + 1
        position[task["name"]] = (column * (NODE_W + GAP_X), row * (NODE_H + GAP_Y))
    edges, nodes = [], []
    for task in tasks:
        x, y = position[task["name"]]
        for dependency in task.get("depends_on") or []:
            if dependency in position:
                dx, dy = position[dependency]
                edges.append(f"<line x1='{dx + NODE_W:.0f}' y1='{dy + NODE_H / 2:.0f}' x2='{x:.0f}' "
                             f"y2='{y + NODE_H / 2:.0f}' stroke='#888' marker-end='url(#arrow)'/>")
        nodes.append(f"<rect x='{x:.0f}' y='{y:.0f}' width='{NODE_W}' height='{NODE_H}' rx='6' "
                     f"fill='{_colour(task['status'])}'><title>{escape(task['name'])}: {escape(task['status'])}"
                     f"</title></rect><text x='{x + 6:.0f}' y='{y + 17:.0f}' fill='#fff'>"
                     f"{escape(task['name'][:22])}</text>")
    width = (max(layer.values(), default=0) + 1) * (NODE_W + GAP_X)
    height = max(slots.values(), default=1) * (NODE_H + GAP_Y)
    arrow = ("<defs><marker id='arrow' viewBox='0 0 10 10' refX='10' refY='5' markerWidth='6' markerHeight='6' "
             "orient='auto'><path d='M0,0 L10,5 L0,10 z' fill='#888'/></marker></defs>")
    return (f"<svg xmlns='http://www.w3.org/2000/svg' width='{width}' height='{height}'>{arrow}"
            f"{''.join(edges)}{''.join(nodes)}</svg>")


def _tasks(tasks: list[dict[str, Any]]) -> str:
    head = "<tr><th>task</th><th>kind</th><th>status</th><th>attempts</th><th>duration</th><th>error</th></tr>"
    rows = "".join(
        f"<tr><td>{escape(t['name'])}</td><td>{escape(t['kind'])}</td><td style='color:{_colour(t['status'])}'>"
        f"{escape(t['status'])}</td><td>{t['attempts']}</td><td>{_duration(t.get('duration_s'))}</td>"
        f"<td>{escape(str(t.get('error') or ''))}</td></tr>" for t in tasks)
    return f"<table>{head}{rows}</table>"


def _duration(seconds: float | None) -> str:
    return "" if seconds is None else f"{seconds:.2f} s"


def _cost(result: dict[str, Any]) -> str:
    cost = result["cost"]
    rows = "".join(f"<tr><td>{escape(line['item'])}</td><td>{line['quantity']:g} {escape(line['unit'])}</td>"
                   f"<td>${line['unit_price_usd']:.10f}</td><td>${line['usd']:.6f}</td></tr>" for line in cost["lines"])
    return (f"<table><tr><th>item</th><th>quantity</th><th>unit price</th><th>cost</th></tr>{rows}"
            f"<tr><th colspan='3'>total per run</th><th>${cost['total_usd']:.6f}</th></tr></table>"
            f"<p>List prices in {escape(cost['region'])} as of {escape(cost['prices_as_of'])}; the jobs' own compute "
            f"is not included.</p>")


def _record(items: list[dict[str, Any]]) -> str:
    return "".join(f"<details><summary>{escape(str(item.get('sk')))}</summary><pre>"
                   f"{escape(json.dumps(item, indent=2, sort_keys=True, default=str))}</pre></details>"
                   for item in items)
