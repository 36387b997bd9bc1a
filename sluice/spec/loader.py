"""Loading pipeline files: YAML -> model, with every problem in every file reported at once."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path as FsPath

from pydantic import ValidationError

from ..template import TemplateError
from .checks import check_document
from .dst import skipped_schedules
from .errors import problems_from
from .kinds import ChildPipeline
from .params import ParamValueError
from .pipeline import Pipeline
from .problems import Problem, SpecError
from .resource_names import UnexpandableName, expand
from .yaml_source import YamlDocument, load_yaml


@dataclass
class Loaded:
    """The pipelines that validated, and every problem found (errors and warnings)."""

    pipelines: dict[str, Pipeline] = field(default_factory=dict)
    files: dict[str, str] = field(default_factory=dict)  # pipeline name -> file
    problems: list[Problem] = field(default_factory=list)

    @property
    def errors(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == "error"]


def load_text(text: str, file: str = "<string>") -> tuple[Pipeline | None, list[Problem]]:
    """Validate one pipeline document."""
    pipeline, problems, _ = _load_text(text, file)
    return pipeline, problems


def _load_text(text: str, file: str) -> tuple[Pipeline | None, list[Problem], YamlDocument | None]:
    doc, problems = load_yaml(text, file)
    if doc is None:
        return None, problems, None
    if not isinstance(doc.data, dict):
        return None, [*problems, Problem(file, (), "a pipeline file is a mapping with at least 'name' and 'tasks'",
                                         line=doc.line_of(()))], doc
    pipeline = None
    try:
        pipeline = Pipeline.model_validate(doc.data)
    except ValidationError as exc:
        problems.extend(problems_from(exc, Pipeline, doc, file))
    problems.extend(_cross_field(doc, file))
    if any(p.severity == "error" for p in problems):
        pipeline = None
    if pipeline is not None:
        problems.extend(Problem(file, path, message, line=doc.line_of(path), hint=hint, severity="warning")
                        for path, message, hint in skipped_schedules(pipeline))
    return pipeline, _sorted(problems), doc


def load_file(path: str | FsPath) -> tuple[Pipeline | None, list[Problem]]:
    pipeline, problems, _ = _load_file(path)
    return pipeline, problems


def _load_file(path: str | FsPath) -> tuple[Pipeline | None, list[Problem], YamlDocument | None]:
    file = str(path)
    try:
        text = FsPath(path).read_text(encoding="utf-8")
    except UnicodeDecodeError:
        return None, [Problem(file, (), "file is not UTF-8 text")], None
    except OSError as exc:
        return None, [Problem(file, (), f"cannot read file: {exc.strerror or exc}")], None
    return _load_text(text, file)


def pipeline_files(paths: Iterable[str | FsPath]) -> list[FsPath]:
    """Files named directly, plus *.yaml / *.yml inside named directories (sorted)."""
    out: list[FsPath] = []
    for raw in paths:
        path = FsPath(raw)
        if path.is_dir():
            out.extend(sorted(p for p in path.iterdir() if p.suffix in {".yaml", ".yml"} and p.is_file()))
        else:
            out.append(path)
    return out


def load_paths(paths: Iterable[str | FsPath]) -> Loaded:
    """Load many files and check what spans them: unique names, child pipelines that exist, no run loops."""
    result = Loaded()
    docs: dict[str, YamlDocument] = {}  # pipeline name -> its document, for the lines of cross-file problems
    files = pipeline_files(paths)
    for path in files:
        pipeline, problems, doc = _load_file(path)
        result.problems.extend(problems)
        if pipeline is None or doc is None:
            continue
        if pipeline.name in result.pipelines:
            first = result.files[pipeline.name]
            result.problems.append(Problem(str(path), ("name",), f"pipeline name '{pipeline.name}' is also used by "
                                           f"{first}", line=doc.line_of(("name",)),
                                           hint="pipeline names are unique across files"))
            continue
        result.pipelines[pipeline.name] = pipeline
        result.files[pipeline.name] = str(path)
        docs[pipeline.name] = doc
    result.problems.extend(_child_problems(result, docs))
    return result


def load_project(paths: Iterable[str | FsPath]) -> dict[str, Pipeline]:
    """Every pipeline under `paths`, or SpecError with every problem."""
    loaded = load_paths(paths)
    if loaded.errors:
        raise SpecError(loaded.errors)
    return loaded.pipelines


def _cross_field(doc: YamlDocument, file: str) -> list[Problem]:
    return [Problem(file, path, message, line=doc.line_of(path), hint=hint)
            for path, message, hint in check_document(doc.data)]


def _child_problems(loaded: Loaded, docs: dict[str, YamlDocument]) -> list[Problem]:
    problems = []
    children = {name: {t: task.pipeline for t, task in p.tasks.items() if task.pipeline} for name, p in
                loaded.pipelines.items()}
    for name, tasks in children.items():
        for task, child in tasks.items():
            path = ("tasks", task, "pipeline", "name")
            file = loaded.files[name]
            line = docs[name].line_of(path)
            target = loaded.pipelines.get(child.name)
            if target is None:
                problems.append(Problem(file, path, f"child pipeline '{child.name}' is not defined in any file",
                                        line=line, hint=f"pipelines: {', '.join(sorted(loaded.pipelines))}"))
                continue
            unknown = sorted(set(child.params) - set(target.params))
            if unknown:
                params_path = (*path[:-1], "params")
                problems.append(Problem(file, params_path, f"'{child.name}' has no parameter(s) {unknown}",
                                        line=docs[name].line_of(params_path),
                                        hint=f"its params: {', '.join(target.params) or 'none'}"))
            for key, why in _child_values(child, loaded.pipelines[name], target):
                at = (*path[:-1], "params", key)
                problems.append(Problem(file, at, why, line=docs[name].line_of(at),
                                        hint=f"allowed for '{child.name}': {target.params[key].allowed}"))
            loop = _run_loop(children, name, child.name)
            if loop:
                problems.append(Problem(file, path, f"pipelines start each other in a loop: {' -> '.join(loop)}",
                                        line=line))
    return problems


def _child_values(child: ChildPipeline, parent: Pipeline, target: Pipeline) -> Iterator[tuple[str, str]]:
    """A child's param that declares allowed values (it may name the child's resources) gets only those: a literal
    one of them, or a template whose every value (the parent's params' allowed values) is one of them."""
    for key, value in child.params.items():
        declared = target.params.get(key)
        if declared is None or declared.allowed is None:
            continue
        try:
            values = expand(value, parent.params) if isinstance(value, str) else [value]
        except UnexpandableName as exc:
            yield key, str(exc).splitlines()[0]
            continue
        except TemplateError:
            continue  # reported by the template check
        for one in values:
            try:
                declared.coerce(one)
            except ParamValueError as exc:
                yield key, str(exc) if one is value else f"'{value}' may be {one!r}, which is refused: {exc}"
                break


def _run_loop(children: dict[str, dict[str, ChildPipeline]], start: str, first: str) -> list[str] | None:
    todo = [(first, [start, first])]
    seen: set[str] = set()
    while todo:
        name, trail = todo.pop()
        if name == start:
            return trail
        if name in seen:
            continue
        seen.add(name)
        todo.extend((c.name, [*trail, c.name]) for c in children.get(name, {}).values())
    return None


def _sorted(problems: list[Problem]) -> list[Problem]:
    unique = list(dict.fromkeys(problems))  # one finding reported by both the model and a cross-field check
    return sorted(unique, key=lambda p: (p.file, p.line or 0, str(p.path)))
