"""The task fields that name a resource Sluice is granted (a job, cluster, role, function), and what may fill them.

The job role is made of these names at synth time, so each must be known then: a literal, or a template of params
that declare `allowed` values (`etl-{{ params.env }}` stands for one name per allowed value). Anything a run decides
(`{{ ds }}`, `{{ tasks.x.output }}`, an event, an un-listed param) would make the grant a pattern any caller fills.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator, Mapping
from typing import Any

from .. import template
from .problems import Found, Path

# kind -> fields that name what its grants are made of (a child pipeline's name is never a template: PipelineName)
NAMING_FIELDS: dict[str, tuple[str, ...]] = {
    "glue": ("job",),
    "emr": ("cluster_id",),
    "emr_serverless": ("application_id", "execution_role_arn"),
    "ecs": ("cluster", "task_definition", "roles"),
    "lambda": ("function",),
}
MAX_NAMES = 50  # per field: every name is a resource in the role's policy, which IAM caps at 10 KB
_NOT_A_NAME = ("*", "?")  # IAM wildcards: a value holding one would grant a pattern again

_HOW = "only '{{ params.NAME }}' with allowed values (or literal text) may name one"


class UnexpandableName(ValueError):
    """A resource name whose values are not all known before any run."""


def naming_values(task: Mapping[str, Any], base: Path) -> Iterator[tuple[Path, str]]:
    """Every resource-naming string of one task (raw data or a model dump by alias), with its path."""
    for kind, fields in NAMING_FIELDS.items():
        block = task.get(kind)
        if isinstance(block, Mapping):
            for name in fields:
                yield from template.walk(block.get(name), (*base, kind, name))


def check_names(task: Mapping[str, Any], base: Path, params: Mapping[str, Any]) -> Iterator[Found]:
    """A located problem for each resource name that is not known at synth time."""
    for path, text in naming_values(task, base):
        try:
            expand(text, params)
        except UnexpandableName as exc:
            message, _, hint = str(exc).partition("\n")
            yield path, message, hint or None
        except template.TemplateError:
            continue  # reported by the template check


def expand(text: str, params: Mapping[str, Any]) -> list[str]:
    """Every name `text` stands for: one per combination of its params' allowed values, as a run renders it.
    `params` maps names to Param models or to their raw declarations."""
    refs = template.parse(text)
    if not refs:
        return [text]
    used: dict[str, list[Any]] = {}
    for ref in refs:
        where = f"'{{{{ {ref.text} }}}}' names the resource Sluice grants access to"
        if ref.root != "params" or len(ref.path) != 1 or ref.fmt is not None:
            raise UnexpandableName(f"{where}: {_HOW}, not something a run decides\n"
                                   "write the name literally, or use a param that lists the values it may take")
        name = str(ref.path[0])
        if name not in params:
            raise template.TemplateError(f"unknown parameter '{name}'")  # reported by the template check
        allowed = _allowed(params[name])
        if not allowed:
            raise UnexpandableName(f"{where}: {_HOW}, and params.{name} declares none\n"
                                   f"declare params.{name}.allowed: [...], the only values a run may give it")
        used[name] = allowed
    combos = list(itertools.islice(itertools.product(*used.values()), MAX_NAMES + 1))
    if len(combos) > MAX_NAMES:
        raise UnexpandableName(f"'{text}' stands for more than {MAX_NAMES} names: the role's policy would be too "
                               "large\nallow fewer values for its params")
    names = sorted({template.render(text, {"params": dict(zip(used, c, strict=True))}, text=True) for c in combos})
    for name in names:
        if not name or any(w in name for w in _NOT_A_NAME):
            raise UnexpandableName(f"{name!r} (from '{text}') is not a name IAM can grant exactly\n"
                                   f"allowed values of {', '.join(f'params.{n}' for n in used)} may not hold "
                                   "'*' or '?' nor leave the name empty")
    return names


def _allowed(param: Any) -> list[Any] | None:
    allowed = param.get("allowed") if isinstance(param, Mapping) else getattr(param, "allowed", None)
    return allowed if isinstance(allowed, list) else None
