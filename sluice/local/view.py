"""What a person sees during and after a local run: a live table of task states, then a summary."""

from __future__ import annotations

from types import TracebackType
from typing import Any

from rich.console import Console
from rich.live import Live
from rich.table import Table
from rich.text import Text

from functions.adapters.clock import seconds_between
from sluice.cost import total_text
from sluice.spec import Pipeline

from .runner import Progress

STYLES = {"SUCCEEDED": "green", "FAILED": "bold red", "UPSTREAM_FAILED": "red", "SKIPPED": "dim",
          "RUNNING": "yellow", "STARTING": "yellow", "NOT_RUN": "dim", "TIMED_OUT": "bold red", "ABORTED": "red"}


def _status(text: str) -> Text:
    return Text(text, style=STYLES.get(text, ""))


def _span(start: str | None, end: str | None) -> str:
    if not start or not end:
        return ""
    return f"{seconds_between(start, end):.1f} s"


class LiveView:
    """A table redrawn while the run goes on (only on a terminal)."""

    def __init__(self, pipeline: Pipeline, console: Console) -> None:
        self.pipeline, self.console = pipeline, console
        self.live = Live(console=console, refresh_per_second=8, transient=True)

    def __enter__(self) -> LiveView:
        self.live.__enter__()
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 trace: TracebackType | None) -> None:
        self.live.__exit__(kind, error, trace)

    def update(self, progress: Progress) -> None:
        table = Table(title=f"{self.pipeline.name}: {progress.status}, {progress.elapsed:.1f} s", title_justify="left")
        for column in ("task", "kind", "status", "attempts", "duration"):
            table.add_column(column)
        for name, task in self.pipeline.tasks.items():
            seen = progress.tasks.get(name, {})
            table.add_row(name, task.kind, _status(seen.get("status", "waiting")), str(seen.get("attempts", 0)),
                          _span(seen.get("started"), seen.get("ended")))
        self.live.update(table)


def summary(result: dict[str, Any], console: Console) -> None:
    """The run's outcome, task by task, then what it would cost in the cloud."""
    table = Table(title=f"{result['pipeline']} run {result['run_id']}", title_justify="left")
    for column, justify in (("task", "left"), ("kind", "left"), ("status", "left"), ("attempts", "right"),
                            ("duration", "right")):
        table.add_column(column, justify=justify)  # type: ignore[arg-type]
    for task in result["tasks"]:
        duration = f"{task['duration_s']:.2f} s" if task["duration_s"] is not None else ""
        table.add_row(task["name"], task["kind"], _status(task["status"]), str(task["attempts"]), duration)
    console.print(table)
    line = Text(f"{result['pipeline']}: ")
    line.append(result["status"], style=STYLES.get(result["status"], ""))
    line.append(f" in {result['duration_s'] or 0:.2f} s (logical date {result['logical_date']})")
    console.print(line)
    if result["status"] != "SUCCEEDED":
        console.print(Text(f"  {result['error']}: {result['cause']}", style="red"))
    for task in result["tasks"]:
        if task["error"]:
            console.print(Text(f"  {task['name']} ({task['attempts']} attempt(s)): {task['error']}", style="red"))
    billing, cost = result["billing"], result["cost"]
    console.print(
        f"Counted locally: {billing['state_transitions']} state transitions, "
        f"{billing['lambda_invocations']} Lambda invocations ({billing['lambda_gb_seconds']:.3f} GB-s at "
        f"{billing['lambda_memory_mb']} MB), {billing['dynamodb_write_units']} DynamoDB write units, "
        f"{billing['dynamodb_read_units']} read units", highlight=False)
    console.print(
        f"Cost: ${cost['total_usd']:.6f} per run (${cost['total_usd'] * 1000:.2f} per 1,000 runs; the total `show` "
        f"and RunCost give; {cost['region']} list prices as of {cost['prices_as_of']}); {total_text(cost)}",
        highlight=False)
    metrics = result.get("metrics") or {}
    if metrics:
        console.print("Metrics emitted (namespace Sluice, this pipeline; counts summed, times at their maximum): "
                      + ", ".join(f"{name} {value:g}" for name, value in metrics.items()), highlight=False)
    fired = [a for a in result.get("alarms", []) if a["would_fire"]]
    watched = len(result.get("alarms", []))
    if fired:
        for alarm in fired:
            console.print(Text(f"Alarm {alarm['alarm']} would fire: {alarm['why']}", style="yellow"))
    elif watched:
        console.print(f"Alarms: none of {watched} would fire", highlight=False)
    console.print(f"Logs of the functions and local commands: {result['logs']}", style="dim")
