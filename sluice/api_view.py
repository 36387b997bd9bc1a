"""How the operations CLI (sluice/cli_api.py) shows the run API's answers to a person; `--json` prints them as is."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

import click

from .cost import total_text


def started(answer: dict[str, Any], verb: str, *, local: bool, flags: str = "") -> None:
    # A repeated start replays the first answer (RUNNING then); current_status says what the run is now.
    click.echo(f"{verb} {answer['id']} ({answer.get('current_status') or answer.get('status') or 'RUNNING'})")
    fields([("logical date", answer.get("logical_date")), ("params", params_text(answer.get("params"))),
             ("resume of", answer.get("resume_of")), ("trigger", trigger_text(answer.get("trigger"))),
             ("console", None if local else (answer.get("links") or {}).get("console"))])
    click.echo(f"follow it: sluice show {answer['id']}{flags}")


def run_view(run: dict[str, Any], *, local: bool) -> None:
    click.echo(f"{run['id']}  {run.get('status') or 'RUNNING'}")
    cancelled = run.get("cancelled") or {}
    took = duration(run.get("started_at"), run.get("ended_at"))
    fields([
        ("execution", run.get("execution_arn")), ("logical date", run.get("logical_date")),
        ("started", run.get("started_at")),
        ("ended", f"{run['ended_at']} (took {took})" if run.get("ended_at") else None),
        ("trigger", trigger_text(run.get("trigger"))),
        ("params", params_text(run.get("params"), defaults=run.get("param_defaults"))),
        ("resume of", run.get("resume_of")), ("resumed by", run.get("resumed_by")),
        ("cancelled", f"by {cancelled.get('by')} at {cancelled.get('at')}: {cancelled.get('reason')}"
         if cancelled else None),
        ("error", ": ".join(str(x) for x in (run.get("error"), run.get("cause")) if x) or None),
        ("console", None if local else (run.get("links") or {}).get("console"))])
    tasks = run.get("tasks") or []
    width = max((len(t["name"]) for t in tasks), default=0)
    if tasks:
        click.echo("tasks")
    for task in tasks:
        problem = f"  {task['error']}" if task.get("error") else ""
        click.echo(f"  {task['name']:<{width}}  {task.get('status')}{problem}")
        for attempt in task.get("attempts") or []:
            click.echo("    " + attempt_line(attempt))
    cost = run.get("cost")
    if isinstance(cost, dict):
        as_of = f" (list prices as of {cost['prices_as_of']})" if cost.get("prices_as_of") else ""
        click.echo(f"cost{as_of}")
        lines = cost.get("lines") or []
        rows = [[f"  {line.get('item') or line.get('key')}", f"{number(line.get('quantity'))} {line.get('unit', '')}"
                 .strip(), usd(line.get("usd"))] for line in lines]
        rows.append(["  total", "", usd(cost.get("total_usd"))])
        table(None, rows)
        for line in lines:
            if line.get("basis"):
                click.echo(f"  {line.get('item') or line.get('key')}: {line['basis']}")
        click.echo(f"  the total {total_text(cost)}")


def attempt_line(attempt: dict[str, Any]) -> str:
    parts = [f"#{int(attempt.get('retry') or 0) + 1}"]
    if attempt.get("item") is not None:
        value = attempt.get("item_value")
        parts.append(f"item {attempt['item']}" + (f" ({value})" if value is not None else ""))
    parts.append(str(attempt.get("status")))
    parts.append(" ".join(str(x) for x in (attempt.get("kind"), attempt.get("external_id")) if x))
    if attempt.get("duration_s") is not None:
        parts.append(f"{float(attempt['duration_s']):.1f} s")
    elif attempt.get("started_at"):
        parts.append(duration(attempt.get("started_at"), attempt.get("ended_at")))
    if attempt.get("exit_code") not in (None, 0):
        parts.append(f"exit {attempt['exit_code']}")
    if attempt.get("resumed_from"):
        parts.append(f"resumed from {attempt['resumed_from'].get('run', '')}".strip())
    text = "  ".join(p for p in parts if p)
    if attempt.get("error"):
        text += f"  {' '.join(str(attempt['error']).split())}"
    if attempt.get("log_location"):
        text += f"  log: {attempt['log_location']}"
    return text


def backfill_view(view: dict[str, Any], *, flags: str = "") -> None:
    dates = view.get("dates") or []
    chosen = sum(1 for d in dates if d.get("action") == "run")
    if view.get("dry_run"):
        click.echo(f"dry run: {view['pipeline']} would run {chosen} of {len(dates)} date(s) "
                   f"(mode {view.get('mode')}, at most {view.get('max_concurrent')} at a time)")
        if view.get("start") and view.get("end"):
            zone = f"; a date alone is a whole day in {view['timezone']}" if view.get("timezone") else ""
            click.echo(f"window: {view['start']} .. {view['end']} (UTC, inclusive{zone}): {len(dates)} "
                       "scheduled date(s)")
    else:
        click.echo(f"backfill {view.get('id')} of {view['pipeline']}: {view.get('status')} ({chosen} run(s), mode "
                   f"{view.get('mode')}, at most {view.get('max_concurrent')} at a time)")
    rows = [[d["logical_date"], d.get("action", ""), d.get("reason", ""), d.get("id") or "-", d.get("status") or "-"]
            for d in dates]
    table(["LOGICAL DATE", "ACTION", "WHY", "RUN", "STATUS"], rows, empty="no scheduled dates in that range")
    if not view.get("dry_run") and view.get("id"):
        click.echo(f"follow it: sluice show {view['id']}{flags}")


def fields(pairs: list[tuple[str, Any]]) -> None:
    shown = [(k, v) for k, v in pairs if v not in (None, "", {}, [])]
    width = max((len(k) for k, _ in shown), default=0)
    for key, value in shown:
        click.echo(f"  {key + ':':<{width + 1}} {value}")


def table(header: list[str] | None, rows: list[list[str]], empty: str = "") -> None:
    if not rows:
        if empty:
            click.echo(empty)
        return
    every = ([header] if header else []) + rows
    widths = [max(len(str(row[i])) for row in every) for i in range(len(every[0]))]
    for row in every:
        click.echo("  ".join(f"{cell!s:<{w}}" for cell, w in zip(row, widths, strict=True)).rstrip())


def params_text(params: Any, *, defaults: Any = None) -> str | None:
    """k=v pairs; with `defaults` (values the run took from the declaration), those too, each marked (default)."""
    given = params if isinstance(params, dict) else {}
    taken = defaults if isinstance(defaults, dict) else {}
    text = [f"{k}={_value(v)}" for k, v in given.items()] + [f"{k}={_value(v)} (default)" for k, v in taken.items()]
    return ", ".join(text) or None


def _value(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value)


def trigger_text(trigger: Any) -> str:
    if not isinstance(trigger, dict):
        return "-"
    text = str(trigger.get("type") or "?")
    if trigger.get("by"):
        text += f" by {str(trigger['by']).rsplit('/', 1)[-1]}"
    if trigger.get("reason"):
        text += f": {trigger['reason']}"
    return text


def schedules_text(schedules: list[dict[str, Any]]) -> str:
    return "; ".join(f"{s.get('expression')} {s.get('timezone')}" + ("" if s.get("enabled", True) else " (off)")
                     for s in schedules) or "-"


def duration(start: str | None, end: str | None) -> str:
    if not start or not end:
        return "-"
    try:
        seconds = (datetime.fromisoformat(end) - datetime.fromisoformat(start)).total_seconds()
    except (TypeError, ValueError):
        return "-"
    return f"{seconds:.1f} s" if seconds < 120 else f"{seconds / 60:.1f} min"


def usd(value: Any) -> str:
    if not isinstance(value, int | float):
        return "-"
    # The local summary and report's precision, so the same total reads the same in all three.
    return f"${value:.6f}" if value < 1 else f"${value:,.2f}"


def number(value: Any) -> str:
    if isinstance(value, float) and not value.is_integer():
        return f"{value:,.4g}"
    return f"{int(value):,}" if isinstance(value, int | float) else str(value)
