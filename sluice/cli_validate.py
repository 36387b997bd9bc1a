"""`sluice validate`: every problem as `file:line: path: severity: message`, then one summary line."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from .spec import load_paths, pipeline_files
from .spec.loader import Loaded

DEFAULT_DIR = "pipelines"


@click.command()
@click.argument("paths", nargs=-1, type=click.Path())
@click.option("--dir", "directories", multiple=True, type=click.Path(), metavar="DIR",
              help="a directory of pipelines, as the other commands take it (default: pipelines/)")
@click.option("--json", "as_json", is_flag=True, help="machine-readable problems")
def validate(paths: tuple[str, ...], directories: tuple[str, ...], as_json: bool) -> None:
    """Check pipeline files and directories (default: pipelines/). Exit 2 if any has an error, or if there are
    no pipeline files."""
    targets = [*paths, *directories] or [DEFAULT_DIR]
    loaded = load_paths(targets)
    files = pipeline_files(targets)
    if as_json:
        click.echo(json.dumps({"pipelines": sorted(loaded.pipelines), "problems": [p.to_dict() for p in
                                                                                   loaded.problems]}, indent=2))
    else:
        for problem in loaded.problems:
            click.echo(str(problem), err=True)
    if not files:
        click.echo(f"error: no pipeline files (*.yaml, *.yml) in {', '.join(targets)}", err=True)
        sys.exit(2)
    if not as_json:
        click.echo(summary(loaded, files))
    if loaded.errors:
        sys.exit(2)


def summary(loaded: Loaded, files: list[Path]) -> str:
    """`N file(s), N valid pipeline(s): OK`, or how many files are valid and how many have errors."""
    bad = {p.file for p in loaded.errors}
    warnings = sum(p.severity == "warning" for p in loaded.problems)
    if not bad:
        noted = f" ({warnings} warning(s))" if warnings else ""
        return f"{len(files)} file(s), {len(loaded.pipelines)} valid pipeline(s): OK{noted}"
    valid = sum(1 for file in loaded.files.values() if file not in bad)
    return (f"{len(files)} file(s): {valid} valid pipeline(s), {len(bad)} file(s) with errors "
            f"({len(loaded.errors)} error(s))")
