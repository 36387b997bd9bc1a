"""The HTML report of a local run: complete, in order, drawn to scale, escaped and self-contained."""

from __future__ import annotations

import copy
import itertools
import json
import re
import xml.etree.ElementTree as ET
from html import escape
from typing import Any

import pytest

from sluice.local.report import layers, render_report

NS = "{http://www.w3.org/2000/svg}"
RUN = "2026-11-28T22:41:0"  # + second and fraction: every time below is in the run's first ten seconds


def at(seconds: float) -> str:
    return f"{RUN}{seconds:05.3f}Z"


def attempt(task: str, start: float | None, end: float | None, status: str = "SUCCEEDED", retry: int = 0,
            item: int | None = None, error: str | None = None, exit_code: int | None = None) -> dict[str, Any]:
    return {"task": task, "item": item, "retry": retry, "status": status, "kind": "glue",
            "external_id": f"jr_{task}_{item}_{retry}", "started_at": None if start is None else at(start),
            "ended_at": None if end is None else at(end),
            "duration_s": None if start is None or end is None else round(end - start, 3),
            "error": error, "exit_code": exit_code}


def task(name: str, kind: str, depends_on: list[str], status: str, attempts: int, duration_s: float | None,
         error: str | None = None, foreach: bool = False) -> dict[str, Any]:
    return {"name": name, "kind": kind, "depends_on": depends_on, "trigger_rule": "all_success", "status": status,
            "attempts": attempts, "started_at": None, "ended_at": None, "duration_s": duration_s, "error": error,
            "foreach": foreach}


LOAD_ERROR = "exit code 1: relation \"sales.fact_orders\" is locked"
SAMPLE: dict[str, Any] = {
    "pipeline": "daily-sales-etl", "run_id": "local-20261128T224103-3f2a",
    "execution_arn": "arn:aws:states:eu-west-1:123456789012:execution:sluice-daily-sales-etl:"
                     "local-20261128T224103-3f2a",
    "status": "FAILED", "error": "Sluice.TaskFailed",
    "cause": "task 'load_warehouse' failed after 5 attempt(s): exit code 1", "failed_tasks": ["load_warehouse"],
    "logical_date": "2026-11-27T02:30:00Z", "params": {"full_refresh": False, "region": "emea"},
    "started_at": at(0), "ended_at": at(8), "duration_s": 8.0,
    "tasks": [
        task("extract_orders", "glue", [], "SUCCEEDED", 1, 1.0),
        task("extract_customers", "glue", [], "SUCCEEDED", 2, 2.0),
        task("transform_partitions", "emr_serverless", ["extract_orders", "extract_customers"], "SUCCEEDED", 3, 2.0,
             foreach=True),
        task("load_warehouse", "ecs", ["transform_partitions"], "FAILED", 5, 3.5, error=LOAD_ERROR),
        task("refresh_dashboards", "lambda", ["load_warehouse"], "UPSTREAM_FAILED", 0, None),
        task("notify_finance", "lambda", ["load_warehouse", "extract_orders"], "SKIPPED", 0, None),
    ],
    "attempts": [
        attempt("extract_orders", 0, 1),
        attempt("extract_customers", 0, 0.5, "FAILED", error="ThrottlingException", exit_code=1),
        attempt("extract_customers", 1, 2, retry=1),
        *(attempt("transform_partitions", 2, 2.5 + i / 2, item=i) for i in range(3)),
        *(attempt("load_warehouse", 4 + i * 0.75, 4.5 + i * 0.75, "FAILED", retry=i, error=LOAD_ERROR, exit_code=1)
          for i in range(5)),
    ],
    "billing": {"state_transitions": 57, "lambda_invocations": 12, "lambda_gb_seconds": 1.3, "dynamodb_writes": 40,
                "dynamodb_reads": 30, "events": 9},
    "cost": {"prices_as_of": "2026-11-01", "region": "us-east-1", "total_usd": 0.001438, "lines": [
        {"item": "Step Functions state transitions", "quantity": 57, "unit": "transition",
         "unit_price_usd": 0.000025, "usd": 0.001425},
        {"item": "Lambda requests", "quantity": 12, "unit": "request", "unit_price_usd": 0.0000002, "usd": 0.0000024},
        {"item": "DynamoDB write request units", "quantity": 40, "unit": "WRU", "unit_price_usd": 0.000000625,
         "usd": 0.000025}]},
    "record": [
        {"pk": "RUN#daily-sales-etl#local-20261128T224103-3f2a", "sk": "RUN", "status": "FAILED", "version": 14},
        {"pk": "RUN#daily-sales-etl#local-20261128T224103-3f2a", "sk": "TASK#load_warehouse#ATTEMPT#4",
         "status": "FAILED", "exit_code": 1},
    ],
}


def sample(**changes: Any) -> dict[str, Any]:
    return copy.deepcopy(SAMPLE) | changes


def svgs(html: str) -> list[ET.Element]:
    """Every inline SVG of the page, parsed as XML (which also proves it well-formed)."""
    return [ET.fromstring(svg) for svg in re.findall(r"<svg\b.*?</svg>", html, re.S)]


def bars(html: str) -> list[tuple[float, float, str]]:
    """(x, width, tooltip) of each attempt bar of the timeline, in drawing order."""
    return [(float(r.attrib["x"]), float(r.attrib["width"]), r.findtext(f"{NS}title") or "")
            for r in svgs(html)[0].iter(f"{NS}rect") if r.get("class") == "bar"]


def nodes(html: str) -> dict[str, tuple[int, int]]:
    """Task name -> (x, y) of its node in the DAG."""
    found = {}
    for group in svgs(html)[1].iter(f"{NS}g"):
        rect = group.find(f"{NS}rect")
        assert rect is not None
        found[(group.findtext(f"{NS}title") or "").rsplit(": ", 1)[0]] = (int(rect.attrib["x"]), int(rect.attrib["y"]))
    return found


def test_the_header_names_the_run_its_failure_and_the_failed_task() -> None:
    # GIVEN a run that failed in load_warehouse
    # WHEN rendered
    html = render_report(sample())
    header = html[html.index("<header>"):html.index("</header>")]
    # THEN the header has the pipeline, run id, a red status badge, duration, logical date and params
    assert "daily-sales-etl" in header and "local-20261128T224103-3f2a" in header
    assert re.search(r"<span class='badge' style='background:#c62828'>FAILED</span>", header)
    assert "8.00 s" in header and "2026-11-27T02:30:00Z" in header
    assert escape(json.dumps({"full_refresh": False, "region": "emea"}, sort_keys=True)) in header
    # AND the error, the cause and the failed task
    assert "Sluice.TaskFailed" in header and "load_warehouse" in header
    assert escape("task 'load_warehouse' failed after 5 attempt(s): exit code 1") in header


def test_a_succeeded_run_has_a_green_badge_and_no_error_rows() -> None:
    # GIVEN a run that succeeded
    run = sample(status="SUCCEEDED", error=None, cause=None, failed_tasks=[])
    # WHEN rendered
    header = render_report(run).split("</header>")[0]
    # THEN its badge is green and there is no error, cause or failed-task row
    assert "style='background:#2e7d32'>SUCCEEDED" in header and "class='err'" not in header


def test_the_sections_come_in_order() -> None:
    # GIVEN the sample run WHEN rendered
    html = render_report(sample())
    # THEN header, timeline, DAG, tasks, billing and cost, run record follow each other
    marks = ["<header>", "<h2>Timeline</h2>", "<h2>DAG</h2>", "<h2>Tasks</h2>", "<h2>Billing and cost</h2>",
             "<h2>Run record</h2>"]
    positions = [html.index(mark) for mark in marks]
    assert positions == sorted(positions)
    assert html.startswith("<!doctype html>") and html.count("<html") == 1 and html.rstrip().endswith("</html>")


def test_the_timeline_has_one_bar_per_attempt_grouped_by_task_with_a_tooltip() -> None:
    # GIVEN 11 attempts of 4 tasks, and 2 tasks that never ran
    # WHEN rendered
    drawn = bars(render_report(sample()))
    # THEN each attempt has a bar, grouped by task in the order of the tasks
    assert len(drawn) == len(SAMPLE["attempts"])
    order = [tip.split("[")[0].split(" ")[0] for _, _, tip in drawn]
    assert order == ["extract_orders"] + ["extract_customers"] * 2 + ["transform_partitions"] * 3 + [
        "load_warehouse"] * 5
    # AND each tooltip says task, item, retry, status, duration and error
    tips = [tip for _, _, tip in drawn]
    assert "extract_customers retry 0: FAILED, 0.500 s, ThrottlingException" in tips
    assert "transform_partitions[2] retry 0: SUCCEEDED, 1.500 s" in tips
    assert f"load_warehouse retry 4: FAILED, 0.500 s, {LOAD_ERROR}" in tips


def test_bars_are_placed_and_sized_in_proportion_to_time() -> None:
    # GIVEN an 8 s run whose attempts take 1 s, 0.5 s and 1.5 s
    drawn = {tip.split(":")[0]: (x, width) for x, width, tip in bars(render_report(sample()))}
    one, half, one_and_a_half = (drawn["extract_orders retry 0"], drawn["extract_customers retry 0"],
                                 drawn["transform_partitions[2] retry 0"])
    # THEN widths are proportional to durations
    assert half[1] == pytest.approx(one[1] / 2, abs=0.1)
    assert one_and_a_half[1] == pytest.approx(one[1] * 1.5, abs=0.1)
    # AND a bar starting 2 s in is 2 s' width to the right of one starting at 0
    assert one_and_a_half[0] - one[0] == pytest.approx(2 * one[1], abs=0.1)


def test_the_time_axis_has_a_handful_of_increasing_ticks_in_seconds() -> None:
    # GIVEN the 8 s run WHEN rendered
    timeline = svgs(render_report(sample()))[0]
    ticks = [t.text or "" for t in timeline.iter(f"{NS}text") if t.get("class") == "tick"]
    # THEN 3 to 12 ticks from 0 s, in seconds, increasing, reaching the end of the run
    values = [float(t.removesuffix(" s")) for t in ticks]
    assert 3 <= len(values) <= 12 and all(t.endswith(" s") for t in ticks)
    assert values[0] == 0 and values == sorted(values) and values[-1] >= 5


def test_an_unfinished_attempt_extends_to_the_end_of_the_run() -> None:
    # GIVEN an attempt still running when the 8 s run was stopped, started at 4 s
    run = sample(status="ABORTED", attempts=[attempt("extract_orders", 0, 1), attempt("load_warehouse", 4, None,
                                                                                      "RUNNING")])
    # WHEN rendered
    (x0, w0, _), (x1, w1, tip) = bars(render_report(run))
    # THEN its bar goes from 4 s to 8 s: four times the 1 s bar
    assert w1 == pytest.approx(4 * w0, abs=0.1) and x1 + w1 == pytest.approx(x0 + 8 * w0, abs=0.1)
    assert "RUNNING, 4.000 s" in tip


def test_tasks_without_attempts_have_a_labelled_empty_row() -> None:
    # GIVEN two tasks that never ran WHEN rendered
    timeline = svgs(render_report(sample()))[0]
    texts = [t.text or "" for t in timeline.iter(f"{NS}text")]
    # THEN each has its own row naming it and its status, without a bar
    for name, status in [("refresh_dashboards", "UPSTREAM_FAILED"), ("notify_finance", "SKIPPED")]:
        assert name in texts and f"{status}: no attempt" in texts


def test_a_run_of_no_time_renders_with_finite_positions() -> None:
    # GIVEN a run that started and ended in the same millisecond, with one attempt of no time
    run = sample(status="SUCCEEDED", ended_at=at(0), duration_s=0.0, attempts=[attempt("extract_orders", 0, 0)])
    # WHEN rendered
    html = render_report(run)
    # THEN it renders, with a visible bar at the start and no NaN or infinity
    [(x, width, _)] = bars(html)
    assert width >= 1 and x == 200.0
    assert not re.search(r"['\s,](-?nan|-?inf)\b", html, re.I)
    assert next(t.text for t in svgs(html)[0].iter(f"{NS}text") if t.get("class") == "tick") == "0 s"


def test_the_dag_has_a_node_per_task_in_its_layer_and_an_arrow_per_dependency() -> None:
    # GIVEN the sample DAG: two roots, a fan-in, a fan-out
    html = render_report(sample())
    placed = nodes(html)
    # THEN every task has a node, in the column of its layer (longest path from a root)
    assert layers(SAMPLE["tasks"]) == {"extract_orders": 0, "extract_customers": 0, "transform_partitions": 1,
                                       "load_warehouse": 2, "refresh_dashboards": 3, "notify_finance": 3}
    assert set(placed) == {t["name"] for t in SAMPLE["tasks"]}
    assert placed["extract_orders"][0] == placed["extract_customers"][0] < placed["transform_partitions"][0]
    assert placed["refresh_dashboards"][0] == placed["notify_finance"][0] > placed["load_warehouse"][0]
    # AND each dependency is an edge with an arrowhead, from the dependency to the dependent
    edges = [e for e in svgs(html)[1].iter(f"{NS}path") if e.get("class") == "edge"]
    assert len(edges) == sum(len(t["depends_on"]) for t in SAMPLE["tasks"])
    assert all(e.get("marker-end") == "url(#arrow)" for e in edges)
    assert "load_warehouse → notify_finance" in {e.findtext(f"{NS}title") for e in edges}
    # AND nodes are coloured by task status
    assert "fill='#c62828'/><text x='{}' y='{}' fill='#fff'>load_warehouse".format(
        placed["load_warehouse"][0] + 6, placed["load_warehouse"][1] + 17) in html


def test_a_200_task_lattice_lays_out_without_overlap() -> None:
    # GIVEN 200 tasks: 10 layers of 20, each depending on two tasks of the layer before
    tasks = [task(f"t{i:03}", "glue", [] if i < 20 else [f"t{i - 20:03}", f"t{(i // 20 - 1) * 20 + (i + 1) % 20:03}"],
                  "SUCCEEDED", 1, 0.1) for i in range(200)]
    # WHEN rendered
    placed = nodes(render_report(sample(tasks=tasks, attempts=[])))
    # THEN every task has a node, each layer its own column, and nodes of a layer at distinct, non-overlapping rows
    assert len(placed) == 200 and set(layers(tasks).values()) == set(range(10))
    by_layer: dict[int, list[tuple[int, int]]] = {}
    for name, layer in layers(tasks).items():
        by_layer.setdefault(layer, []).append(placed[name])
    for positions in by_layer.values():
        assert len({x for x, _ in positions}) == 1
        rows = sorted(y for _, y in positions)
        assert all(b - a >= 26 for a, b in itertools.pairwise(rows))  # node height: no overlap
    assert len({x for positions in by_layer.values() for x, _ in positions}) == 10


def test_a_long_chain_and_a_cycle_do_not_break_the_layout() -> None:
    # GIVEN a 2000-task chain (deeper than Python's recursion limit) and, separately, a cycle
    chain = [task(f"c{i}", "glue", [f"c{i - 1}"] if i else [], "SUCCEEDED", 1, 0.1) for i in range(2000)]
    cycle = [task("a", "glue", ["b"], "NOT_RUN", 0, None), task("b", "glue", ["a"], "NOT_RUN", 0, None)]
    # WHEN laid out THEN the chain has one layer per task, and the cycle still renders
    assert layers(chain)["c1999"] == 1999
    assert len(nodes(render_report(sample(tasks=cycle, attempts=[])))) == 2


def test_the_task_table_lists_each_task_with_kind_status_attempts_duration_and_error() -> None:
    # GIVEN the sample run WHEN rendered
    html = render_report(sample())
    table = html[html.index("<h2>Tasks</h2>"):html.index("<h2>Billing and cost</h2>")]
    # THEN a row per task, the failed one with its attempts, duration and error
    assert table.count("<tr>") == 1 + len(SAMPLE["tasks"])
    assert ("<td>load_warehouse</td><td>ecs</td><td style='color:#c62828'>FAILED</td><td class='n'>5</td>"
            f"<td class='n'>3.50 s</td><td>{escape(LOAD_ERROR)}</td>") in table


def test_billing_counts_and_cost_lines_are_shown_with_the_price_date_and_region() -> None:
    # GIVEN the sample run WHEN rendered
    html = render_report(sample())
    money = html[html.index("<h2>Billing and cost</h2>"):html.index("<h2>Run record</h2>")]
    # THEN every billed count, every cost line and the total, and where and when the prices are from
    assert "<td>state transitions</td><td class='n'>57</td>" in money and "lambda gb seconds" in money
    assert all(line["item"] in money for line in SAMPLE["cost"]["lines"])
    assert "$0.0000250000" in money and "$0.001438" in money
    assert "us-east-1" in money and "2026-11-01" in money


def test_the_run_record_has_each_item_pretty_printed_in_details() -> None:
    # GIVEN the sample run's two stored items WHEN rendered
    html = render_report(sample())
    record = html[html.index("<h2>Run record</h2>"):]
    # THEN each is in its own <details>, as indented JSON
    assert record.count("<details>") == 2
    for item in SAMPLE["record"]:
        assert escape(json.dumps(item, indent=2, sort_keys=True)) in record


def test_values_from_the_run_cannot_inject_markup() -> None:
    # GIVEN script tags in a task name, an error, a param, the cause and a stored item
    evil = "<script>alert('x')</script>"
    run = sample(cause=evil, params={"note": evil}, record=[{"pk": evil, "sk": "RUN"}])
    run["tasks"][0]["name"] = run["attempts"][0]["task"] = evil
    run["tasks"][3]["error"] = run["attempts"][-1]["error"] = evil
    # WHEN rendered
    html = render_report(run)
    # THEN no script element exists, the values are shown escaped, and every SVG still parses
    assert "<script" not in html.lower() and escape(evil) in html
    assert len(svgs(html)) == 2


def test_the_page_fetches_nothing() -> None:
    # GIVEN the sample run WHEN rendered
    html = render_report(sample())
    # THEN no src, href, url() or import points elsewhere, and there are no scripts, links or fonts
    assert not re.search(r"(src|href)\s*=\s*['\"]?\s*(https?:)?//", html, re.I)
    assert not re.search(r"url\(\s*['\"]?(https?:)?//|@import|@font-face|<link|<script|<iframe|<img", html, re.I)


def test_missing_optional_values_render() -> None:
    # GIVEN a run still being set up: no end, durations, billing, cost, record or params
    run = sample(status="RUNNING", ended_at=None, duration_s=None, billing=None, cost=None, record=None,
                 params=None, logical_date=None, error=None, cause=None, failed_tasks=None,
                 attempts=[attempt("extract_orders", 0, None, "RUNNING")])
    for t in run["tasks"]:
        t["duration_s"] = None
    # WHEN rendered
    html = render_report(run)
    # THEN every section is there and says what is missing
    assert "No billing counts." in html and "No cost estimate." in html and "No items stored." in html
    assert len(bars(html)) == 1 and len(nodes(html)) == len(run["tasks"])
