"""The `sluice` command."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from .compile import BudgetError, compile_pipeline
from .graph import Dag, to_dot, to_mermaid
from .spec import Pipeline, Problem, load_paths, pipeline_files
from .spec.schema import schema_json

DEFAULT_DIR = "pipelines"


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="sluice")
def main() -> None:
    """Sluice: pipelines as YAML, run by AWS Step Functions."""


@main.command()
@click.argument("paths", nargs=-1, type=click.Path())
@click.option("--json", "as_json", is_flag=True, help="machine-readable problems")
def validate(paths: tuple[str, ...], as_json: bool) -> None:
    """Check pipeline files (default: pipelines/). Exit 2 if any has an error."""
    targets = list(paths) or [DEFAULT_DIR]
    loaded = load_paths(targets)
    files = pipeline_files(targets)
    if as_json:
        click.echo(json.dumps({"pipelines": sorted(loaded.pipelines), "problems": [p.to_dict() for p in
                                                                                   loaded.problems]}, indent=2))
    else:
        for problem in loaded.problems:
            click.echo(str(problem), err=True)
        if not files:
            click.echo(f"no pipeline files (*.yaml, *.yml) in {', '.join(targets)}", err=True)
        errors = len(loaded.errors)
        status = f"{errors} error(s)" if errors else "OK"
        click.echo(f"{len(files)} file(s), {len(loaded.pipelines)} valid pipeline(s): {status}")
    if loaded.errors or not files:
        sys.exit(2)


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


def _label(task: object) -> str:
    kind = task.kind  # type: ignore[attr-defined]
    extra = " (foreach)" if task.foreach else ""  # type: ignore[attr-defined]
    return kind + extra


def _load_one(ref: str, directory: str) -> Pipeline:
    """A pipeline by file path or by name, validated together with its neighbours (child pipelines)."""
    path = Path(ref)
    targets = [directory] if Path(directory).is_dir() else []
    if path.is_file() and (not targets or path.resolve().parent != Path(directory).resolve()):
        targets.append(str(path))
    loaded = load_paths(targets)
    wanted = ref if not path.is_file() else next((n for n, f in loaded.files.items()
                                                  if Path(f).resolve() == path.resolve()), None)
    relevant = [p for p in loaded.errors if not path.is_file() or Path(p.file).resolve() == path.resolve()
                or p.file == loaded.files.get(str(wanted))]
    if wanted in loaded.pipelines and not relevant:
        return loaded.pipelines[wanted]
    _report(relevant or [Problem(ref, (), f"no pipeline named '{ref}' in {directory}/",
                                 hint=f"pipelines: {', '.join(sorted(loaded.pipelines)) or 'none'}")])
    raise AssertionError("unreachable")


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
