"""The `sluice` command."""

from __future__ import annotations

import json
import math
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from .cli_api import register_api_commands
from .cli_validate import DEFAULT_DIR, validate
from .compile import BudgetError, compile_pipeline
from .graph import Dag, to_dot, to_mermaid
from .run_request import logical_date
from .spec import Pipeline, Problem, Task, load_file, load_paths, pipeline_files
from .spec.schema import schema_json
from .task_seconds import METAVAR, FlagError, split_task_seconds, task_seconds

T = TypeVar("T")


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="sluice")
def main() -> None:
    """Sluice: pipelines as YAML, run by AWS Step Functions."""


@main.command()
@click.option("--output", "-o", type=click.Path(dir_okay=False), help="write to a file instead of stdout")
def schema(output: str | None) -> None:
    """Print the JSON Schema of pipeline files (for editor completion and checking)."""
    _write(schema_json(), output)


@main.command()
@click.argument("pipeline")
@click.option("--format", "fmt", type=click.Choice(["mermaid", "dot"]), default="mermaid", show_default=True)
@click.option("--dir", "directory", default=DEFAULT_DIR, show_default=True, help="where pipelines live")
@click.option("--gates/--no-gates", default=True, help="draw dependencies enforced at dispatch as dashed lines")
def graph(pipeline: str, fmt: str, directory: str, gates: bool) -> None:
    """Draw a pipeline's DAG as Mermaid (renders on GitHub) or Graphviz dot."""
    spec = _load_one(pipeline, directory)
    dag = Dag.of(spec)
    labels = {name: _label(task) for name, task in spec.tasks.items()}
    dashed = compile_pipeline(spec, check_budget=False).structure.gated_edges if gates else None
    text = to_mermaid(dag, labels, dashed) if fmt == "mermaid" else to_dot(dag, labels, dashed, spec.name)
    click.echo(text, nl=False)


@main.command(name="compile")
@click.argument("pipeline")
@click.option("--dir", "directory", default=DEFAULT_DIR, show_default=True, help="where pipelines live")
@click.option("--output", "-o", type=click.Path(dir_okay=False), help="write to a file instead of stdout")
@click.option("--compact", is_flag=True, help="no indentation (what gets deployed)")
def compile_cmd(pipeline: str, directory: str, output: str | None, compact: bool) -> None:
    """Compile a pipeline to Amazon States Language JSON."""
    spec = _load_one(pipeline, directory)
    try:
        compiled = compile_pipeline(spec)
    except BudgetError as exc:
        _fail(str(exc))
    for warning in compiled.warnings:
        click.echo(f"warning: {warning}", err=True)
    b = compiled.budget
    click.echo(f"{spec.name}: {len(spec.tasks)} tasks, {len(compiled.structure.gated_edges)} gated dependencies, "
               f"{b.definition_bytes:,} bytes, worst-case {b.history_events:,} history events", err=True)
    _write(compiled.to_json(indent=None if compact else 2), output)


@main.command()
@click.argument("pipeline")
@click.option("--dir", "directory", default=DEFAULT_DIR, show_default=True, help="where pipelines live")
@click.option("--duration", "--delay", "-d", "durations", multiple=True, metavar=METAVAR,
              help="how long a task's job takes, 0 or more (default 60; TASK:SECONDS is read too)")
@click.option("--fail", "failures", multiple=True, metavar="TASK[:N]",
              help="fail the first N attempts of a task (default: every attempt)")
@click.option("--param", "-p", "params", multiple=True, metavar="KEY=VALUE", help="run parameter")
@click.option("--scenario", type=click.Path(dir_okay=False),
              help="durations (delay) and failures from a scenario file, as `run --local` takes it; flags win")
def simulate(pipeline: str, directory: str, durations: tuple[str, ...], failures: tuple[str, ...],
             params: tuple[str, ...], scenario: str | None) -> None:
    """Simulate the compiled state machine: when each task starts and ends, and the state transitions used.

    Compared with the best makespan the DAG allows: no retries, each task starting when its dependencies end,
    a foreach task taking one duration per wave of max_concurrency items."""
    from .local.scenario import Scenario, ScenarioError
    from .simulate import Behaviour, Simulation
    from .simulate_bound import best_makespan

    spec, neighbours = _load_with_neighbours(pipeline, directory)
    seconds = dict(_flag(task_seconds, d, "--duration") for d in durations)
    failing = {k: int(v) if v else 10**6 for k, v in _pairs(failures, ":", "--fail", optional=True)}
    for name in [*seconds, *failing]:
        if name not in spec.tasks:
            _fail(f"unknown task '{name}'; tasks: {', '.join(spec.tasks)}")
    try:
        script = Scenario.from_file(scenario) if scenario else Scenario.empty()
        script.check(spec, neighbours)
    except ScenarioError as exc:
        _report(exc.problems or [Problem(scenario or "", (), str(exc))])
    given = _params(spec, params)
    behaviours = {}
    for n in spec.tasks:  # flags win over the scenario file; a task it gives no delay takes 60 s
        found, timed = script.scripted(spec.name, n)
        seconds.setdefault(n, found.delay if found and timed else 60.0)
        behaviours[n] = Behaviour(seconds[n], failing.get(n, found.fail if found else 0),
                                  found.error if found and found.error else "scripted failure")
    result = Simulation(compile_pipeline(spec).definition, behaviours, {"params": given}).run()
    for name in spec.tasks:
        record = result.ledger.tasks.get(name)
        status = record.status if record else "NOT RUN"
        span = (f"{result.started[name]:>8.0f}s -> {result.ended[name]:>8.0f}s" if name in result.ended
                else f"{'':>21}")
        click.echo(f"  {name:<28} {status:<16} {span}  attempts={record.attempts if record else 0}")
    best = best_makespan(spec, seconds, result.ledger)
    for name, waves in best.waves.items():
        click.echo(f"  foreach {name}: {waves.items} item(s) at max_concurrency {waves.max_concurrency}: "
                   f"{waves.count} wave(s) of {seconds[name]:.0f}s")
    click.echo(f"{spec.name}: {result.status} in {result.makespan:.0f}s (best possible for the tasks that ran, "
               f"without retries, foreach in waves of max_concurrency: {best.seconds:.0f}s: "
               f"{' -> '.join(best.path)}); {result.transitions} state transitions, "
               f"{result.dispatches} dispatcher calls")
    if result.cause:
        click.echo(f"  cause: {result.cause}")
    sys.exit(0 if result.status == "SUCCEEDED" else 1)


@main.command()
@click.argument("pipeline")
@click.option("--local", is_flag=True, help="run on moto in this process (no AWS account needed)")
@click.option("--dir", "directory", default=DEFAULT_DIR, show_default=True, help="where pipelines live")
@click.option("--param", "-p", "params", multiple=True, metavar="KEY=VALUE", help="run parameter (typed as declared)")
@click.option("--date", "logical_date", metavar="DATE", help="logical date: YYYY-MM-DD or an ISO 8601 time")
@click.option("--fail", "failures", multiple=True, metavar="TASK[:N]",
              help="fail the first N attempts of a task (every attempt without N)")
@click.option("--delay", "--duration", "-d", "delays", multiple=True, metavar=METAVAR,
              help="how long each attempt of a task takes (TASK:SECONDS is read too)")
@click.option("--scenario", type=click.Path(dir_okay=False), help="scripted outcomes from a YAML file")
@click.option("--json", "as_json", is_flag=True, help="print the result as JSON (no live view)")
@click.option("--report", type=click.Path(dir_okay=False), help="write a self-contained HTML report of the run")
@click.option("--real-waits", is_flag=True, help="wait retry intervals in full (default: at most 1 s each)")
@click.option("--timeout", default=1800.0, show_default=True, type=click.FloatRange(min=0, min_open=True),
              help="stop the run after this many seconds")
def run(pipeline: str, local: bool, directory: str, params: tuple[str, ...], logical_date: str | None,
        failures: tuple[str, ...], delays: tuple[str, ...], scenario: str | None, as_json: bool, report: str | None,
        real_waits: bool, timeout: float) -> None:
    """Run a pipeline: exit 0 when it succeeds, 1 when it fails, 2 for bad input."""
    if not local:
        _fail("only local runs for now: add --local (runs on a deployed stack come with the run API)")
    try:
        from .local.runner import LocalRunRequest, run_local
        from .local.scenario import Scenario, ScenarioError
    except ImportError as exc:
        _fail(f"local mode needs the 'local' extra (pip install -e '.[local]'): {exc}")
        raise
    spec, neighbours = _load_with_neighbours(pipeline, directory)
    given = _params(spec, params)
    if not math.isfinite(timeout):
        _fail(f"--timeout {timeout}: give a number of seconds")
    if report:
        try:  # now, not after the run: an unwritable path must not cost the result
            Path(report).touch()
        except OSError as exc:
            _fail(f"--report {report}: cannot write there: {exc.strerror or exc}")
    try:
        script = Scenario.from_file(scenario) if scenario else Scenario.empty()
        script = script.with_flags(_pairs(failures, ":", "--fail", optional=True),
                                   [_flag(split_task_seconds, d, "--delay") for d in delays])
        request = LocalRunRequest(spec, neighbours,
                                  params=given, logical_date=_logical_date(logical_date), scenario=script,
                                  retry_wait_cap=None if real_waits else 1.0, timeout=timeout)
        result = _run_with_view(request, run_local, quiet=as_json)
    except ScenarioError as exc:
        if exc.problems:
            _report(exc.problems)
        _fail(str(exc))
        raise
    except ValueError as exc:
        _fail(str(exc))
        raise
    if report:
        from .local.report import render_report

        Path(report).write_text(render_report(result), encoding="utf-8")
    if as_json:
        click.echo(json.dumps(result, indent=2, default=str))
    elif report:
        click.echo(f"report: {report}")
    sys.exit(0 if result["status"] == "SUCCEEDED" else 1)


def _run_with_view(request: Any, run_local: Any, quiet: bool) -> dict[str, Any]:
    from rich.console import Console

    from .local.view import LiveView, summary

    console = Console(file=sys.stdout)  # bound now: the run sends the functions' own output to a log file
    if quiet or not console.is_terminal:
        result: dict[str, Any] = run_local(request)
    else:
        with LiveView(request.pipeline, console) as view:
            result = run_local(request, view.update)
    if not quiet:
        summary(result, console)
    return result


def _params(spec: Pipeline, params: tuple[str, ...]) -> dict[str, Any]:
    given = {}
    for key, value in _pairs(params, "=", "--param"):
        if key not in spec.params:
            _fail(f"unknown parameter '{key}'; params: {', '.join(spec.params) or 'none'}")
        try:
            given[key] = spec.params[key].coerce(value)
        except ValueError as exc:
            _fail(f"--param {key}: {exc}")
    return given


def _logical_date(text: str | None) -> str | None:
    if text is None:
        return None
    try:
        return logical_date(text)
    except ValueError as exc:
        _fail(f"--date {exc}")
        raise


def _pairs(items: tuple[str, ...], sep: str, flag: str, optional: bool = False) -> list[tuple[str, str]]:
    out = []
    for item in items:
        key, found, value = item.partition(sep)
        if not key or (not found and not optional):
            _fail(f"{flag} takes KEY{sep}VALUE, got {item!r}")
        out.append((key, value))
    return out


def _flag(read: Callable[[str, str], T], item: str, flag: str) -> T:
    try:
        return read(item, flag)
    except FlagError as exc:
        _fail(str(exc))
        raise


def _label(task: Task) -> str:
    return task.kind + (" (foreach)" if task.foreach else "")


def _load_one(ref: str, directory: str) -> Pipeline:
    """A pipeline by file path or by name, validated together with its neighbours (child pipelines)."""
    return _load_with_neighbours(ref, directory)[0]


def _load_with_neighbours(ref: str, directory: str) -> tuple[Pipeline, dict[str, Pipeline]]:
    """The pipeline `_load_one` finds, and every valid pipeline read with it (the children it may start). A file
    given by path wins over a same-named pipeline in the directory, which is left out (and said so on stderr)."""
    path = Path(ref)
    targets = pipeline_files([directory]) if Path(directory).is_dir() else []
    if path.is_file():
        targets = [t for t in targets if t.resolve() != path.resolve()]
        shadowed = _shadowed(path, targets)
        if shadowed is not None:
            click.echo(f"using {path} for pipeline '{shadowed[0]}'; it shadows {shadowed[1]}", err=True)
            targets = [t for t in targets if str(t) != shadowed[1]]
        targets.append(path)
    loaded = load_paths(targets)
    wanted = ref if not path.is_file() else next((n for n, f in loaded.files.items()
                                                  if Path(f).resolve() == path.resolve()), None)
    relevant = [p for p in loaded.errors if not path.is_file() or Path(p.file).resolve() == path.resolve()
                or p.file == loaded.files.get(str(wanted))]
    if wanted in loaded.pipelines and not relevant:
        return loaded.pipelines[wanted], loaded.pipelines
    _report(relevant or [Problem(ref, (), f"no pipeline named '{ref}' in {directory}/",
                                 hint=f"pipelines: {', '.join(sorted(loaded.pipelines)) or 'none'}")])
    raise AssertionError("unreachable")


def _shadowed(path: Path, others: list[Path]) -> tuple[str, str] | None:
    """The pipeline name of `path` and the file among `others` that holds the same name, if one does."""
    own, _ = load_file(path)
    if own is None:
        return None
    holder = load_paths(others).files.get(own.name)
    return (own.name, holder) if holder else None


def _report(problems: list[Problem]) -> None:
    for problem in problems:
        click.echo(str(problem), err=True)
    sys.exit(2)


def _fail(message: str) -> None:
    click.echo(f"error: {message}", err=True)
    sys.exit(2)


def _write(text: str, output: str | None) -> None:
    if output:
        Path(output).write_text(text, encoding="utf-8")
    else:
        click.echo(text, nl=False)


main.add_command(validate)
register_api_commands(main)  # trigger, runs, show, cancel, resume, backfill, pipelines, local serve (cli_api.py)
