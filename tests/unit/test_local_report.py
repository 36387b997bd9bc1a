"""The HTML report of a local run: self-contained, escaped, and drawn to scale."""

from __future__ import annotations

import re
from typing import Any

from sluice.local.report import layers, render_report


def result(tasks: list[dict[str, Any]], attempts: list[dict[str, Any]], **extra: Any) -> dict[str, Any]:
    base = {"pipeline": "demo", "run_id": "local-1", "status": "FAILED", "error": "Sluice.RunFailed",
            "cause": "task 'load' failed after 2 attempt(s)", "failed_tasks": ["load"],
            "logical_date": "2026-11-27T00:00:00Z", "params": {"day": "<script>alert(1)</script>"},
            "started_at": "2026-11-28T10:00:00.000Z", "ended_at": "2026-11-28T10:00:10.000Z", "duration_s": 10.0,
            "tasks": tasks, "attempts": attempts,
            "cost": {"prices_as_of": "2025-06", "region": "us-east-1", "total_usd": 0.0003, "lines": [
                {"item": "Step Functions state transitions", "quantity": 12, "unit": "transition",
                 "unit_price_usd": 0.000025, "usd": 0.0003}]},
            "record": [{"pk": "RUN#x", "sk": "RUN", "status": "FAILED"}]}
    return base | extra


def task(name: str, status: str, deps: list[str] | None = None) -> dict[str, Any]:
    return {"name": name, "kind": "glue", "depends_on": deps or [], "status": status, "attempts": 1,
            "duration_s": 1.0, "error": None}


def attempt(name: str, start: int, end: int, status: str = "SUCCEEDED", retry: int = 0) -> dict[str, Any]:
    return {"task": name, "item": None, "retry": retry, "status": status, "started_at": f"2026-11-28T10:00:0{start}Z",
            "ended_at": f"2026-11-28T10:00:0{end}Z", "error": "exit code 1" if status == "FAILED" else None}


def test_the_report_names_every_task_attempt_and_the_failure_and_escapes_values() -> None:
    # GIVEN a failed run: extract, then load failing once and again
    html = render_report(result([task("extract", "SUCCEEDED"), task("load", "FAILED", ["extract"]),
                                 task("notify", "SKIPPED", ["load"])],
                                [attempt("extract", 0, 2), attempt("load", 2, 4, "FAILED"),
                                 attempt("load", 5, 9, "FAILED", retry=1)]))
    # THEN the header names the failure, each attempt has a bar with a tooltip, the skipped task a row
    assert "Sluice.RunFailed" in html and "task &#x27;load&#x27; failed after 2 attempt(s)" in html
    assert html.count("<title>load retry") == 2 and "extract retry 0: SUCCEEDED, 2.000 s" in html
    assert "SKIPPED" in html and "RUN#x" in html and "2025-06" in html
    # AND a value from the run cannot inject markup, and nothing is fetched from elsewhere
    assert "<script>" not in html and "&lt;script&gt;" in html
    assert not re.search(r"(src|href)=['\"]?https?:", html)


def test_bars_are_drawn_to_scale() -> None:
    # GIVEN attempts of 2 s and 4 s in a 10 s run
    html = render_report(result([task("a", "SUCCEEDED"), task("b", "SUCCEEDED")],
                                [attempt("a", 0, 2), attempt("b", 2, 6)]))
    widths = [float(w) for w in re.findall(r"<rect x='[\d.]+' y='\d+' width='([\d.]+)'", html)]
    # THEN the second bar is twice as wide as the first
    assert widths[1] == 2 * widths[0]


def test_a_run_of_no_time_renders() -> None:
    html = render_report(result([task("a", "SUCCEEDED")], [attempt("a", 0, 0)],
                                ended_at="2026-11-28T10:00:00.000Z", duration_s=0.0))
    assert "<svg" in html


def test_the_dag_puts_each_task_one_layer_after_its_deepest_dependency_and_no_two_nodes_overlap() -> None:
    # GIVEN a 200-task lattice: 10 layers of 20, each task depending on two of the layer before
    tasks = [task(f"t{i}", "SUCCEEDED", [] if i < 20 else [f"t{i - 20}", f"t{(i // 20 - 1) * 20 + (i + 1) % 20}"])
             for i in range(200)]
    assert set(layers(tasks).values()) == set(range(10))
    html = render_report(result(tasks, []))
    nodes = re.findall(r"<rect x='(\d+)' y='(\d+)' width='150'", html)
    assert len(nodes) == 200 and len(set(nodes)) == 200
