"""The result of a local run as one JSON document: what `--json` prints and the HTML report shows."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Any

from functions.adapters.clock import iso_utc, seconds_between
from functions.runtime.records import shown_status
from sluice.spec import Pipeline

ENDED = frozenset({"SUCCEEDED", "FAILED", "TIMED_OUT", "ABORTED"})


def build_result(pipeline: Pipeline, execution: dict[str, Any], view: Any, items: list[dict[str, Any]],
                 billing: dict[str, Any], cost: dict[str, Any], wall: float, run_dir: Path) -> dict[str, Any]:
    """`view` is the run store's RunView of the run; `items` its DynamoDB items as stored."""
    run_input = json.loads(execution.get("input") or "{}")
    started, stopped = execution["startDate"], execution.get("stopDate")
    attempts = [_attempt(a) for a in sorted(view.attempts, key=lambda a: (a.started_at, a.task, a.retry))]
    tasks = []
    for name, task in pipeline.tasks.items():
        mine = [a for a in attempts if a["task"] == name]
        record = view.ledger.tasks.get(name)
        status = shown_status(record.status if record else None, [a for a in view.attempts if a.task == name],
                              run_ended=execution["status"] in ENDED)
        starts = [a["started_at"] for a in mine if a["started_at"]]
        ends = [a["ended_at"] for a in mine if a["ended_at"]]
        first, last = (min(starts) if starts else None), (max(ends) if ends else None)
        errors = [a["error"] for a in mine if a["error"]]
        # The last attempt's error says most (the task record keeps only the error name).
        error = (errors[-1] if errors else record.error if record else None) if status == "FAILED" else None
        tasks.append({"name": name, "kind": task.kind, "depends_on": list(task.depends_on),
                      "trigger_rule": task.trigger_rule, "foreach": task.foreach is not None, "status": status,
                      "attempts": len(mine), "started_at": first, "ended_at": last,
                      "duration_s": _seconds(first, last), "error": error})
    return {
        "pipeline": pipeline.name, "run_id": execution["name"], "execution_arn": execution["executionArn"],
        "status": execution["status"], "error": execution.get("error"), "cause": execution.get("cause"),
        "failed_tasks": [t["name"] for t in tasks if t["status"] == "FAILED"],
        "logical_date": _logical_date(run_input, started), "params": run_input.get("params", {}),
        "started_at": iso_utc(started), "ended_at": iso_utc(stopped) if stopped else None,
        "duration_s": round((stopped - started).total_seconds(), 3) if stopped else None,
        "wall_s": round(wall, 3), "tasks": tasks, "attempts": attempts, "billing": billing, "cost": cost,
        "record": items, "logs": str(run_dir),
    }


def _attempt(a: Any) -> dict[str, Any]:
    return {"task": a.task, "item": a.item_index, "retry": a.retry, "status": a.status, "kind": a.kind,
            "external_id": a.external_id, "started_at": a.started_at or None, "ended_at": a.ended_at,
            "duration_s": a.duration_s if a.duration_s is not None else _seconds(a.started_at, a.ended_at),
            "error": a.error, "exit_code": a.exit_code}


def _logical_date(run_input: dict[str, Any], started: datetime) -> str:
    given = run_input.get("logical_date")
    return str(given) if given else iso_utc(started)


def _seconds(start: str | None, end: str | None) -> float | None:
    return round(seconds_between(start, end), 3) if start and end else None
