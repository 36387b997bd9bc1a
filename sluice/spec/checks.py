"""Checks that span fields: dependencies, cycles, templates, conditions, parameters given by schedules.

They read the raw YAML data, not the model, so they report alongside type errors in one pass.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any, get_args

from pydantic import ValidationError

from .. import condition, template
from ..graph import Dag
from .fields import check_param_name, check_task_name, parse_duration
from .params import Param, ParamType, ParamValueError
from .problems import Found, Path, did_you_mean
from .resource_names import check_names
from .secrets import looks_secret
from .task import TaskDefaults

_NOT_TEMPLATED = {"depends_on", "when", "trigger_rule", "description", "retry", "timeout", "heartbeat"}


def check_document(data: Any) -> Iterator[Found]:
    """Every cross-field problem in one pipeline document."""
    if not isinstance(data, dict):
        return
    params = _mapping(data.get("params"))
    types = {name: _param_type(p) for name, p in params.items()}
    tasks = _mapping(data.get("tasks"))
    deps = {name: _deps_of(body) for name, body in tasks.items()}
    for section, names, check in (("params", params, check_param_name), ("tasks", tasks, check_task_name)):
        for name in names:
            why = check(str(name))
            if why:
                yield (section, name), why, None
    yield from _check_dependencies(deps)
    acyclic = {n: [d for d in ds if d in deps and d != n] for n, ds in deps.items()}  # self-deps reported above
    dag = graph = Dag(acyclic)
    cycle = dag.find_cycle()
    if cycle:
        yield ("tasks", cycle[0], "depends_on"), f"dependency cycle: {' -> '.join(cycle)}", "remove one of these edges"
        dag = None  # type: ignore[assignment]
    has_triggers = bool(data.get("triggers"))
    secrets = frozenset(str(n) for n in _mapping(data.get("secrets")))
    for name in _mapping(data.get("secrets")):
        why = check_param_name(str(name))
        if why:
            yield ("secrets", name), why.replace("parameter", "secret"), None
    yield from _check_plain_secrets(params, data)
    defaults = _mapping(data.get("defaults"))
    yield from _check_heartbeat(defaults, {}, ("defaults",))
    yield from _check_dollar_keys(data, ())
    for name, body in tasks.items():
        if isinstance(body, dict):
            # Only a reference to another task's output needs this task's ancestors: computing them for every
            # task would make validating a long chain quadratic.
            upstream = (dag.ancestors(name) if dag else set(acyclic[name])) if _reads_tasks(body) else set()
            reach = _Reach(name, upstream, graph)
            found = list(_check_task(name, body, types, set(tasks), reach, has_triggers, secrets))
            yield from found
            reported = {path for path, _, _ in found}  # one problem per field: a bad reference is reason enough
            yield from (f for f in check_names(body, ("tasks", name), params) if f[0] not in reported)
            if body.get("timeout") is not None or body.get("heartbeat") is not None:
                yield from _check_heartbeat(body, defaults, ("tasks", name))
    for section in ("schedules", "triggers"):
        yield from _check_run_params(data.get(section), section, params)


def _reads_tasks(body: dict[str, Any]) -> bool:
    return any("{{" in text and "tasks" in text for _, text in template.walk(body))


def _check_dollar_keys(value: Any, path: Path) -> Iterator[Found]:
    """A key ending in '.$' would reach a Task state's Parameters, where Step Functions reads its value as a
    JSONPath (invalid ASL, or the run's input copied into a job's configuration)."""
    if isinstance(value, dict):
        for key, inner in value.items():
            if isinstance(key, str) and key.endswith(".$"):
                yield (*path, key), f"key '{key}' ends in '.$', which Step Functions reads as a JSONPath", (
                    "rename it (for example without the '.$')")
            yield from _check_dollar_keys(inner, (*path, key))
    elif isinstance(value, list):
        for index, inner in enumerate(value):
            yield from _check_dollar_keys(inner, (*path, index))


def _param_type(declared: Any) -> str:
    """The declared type, or 'string' when it is missing or invalid (the model reports an invalid one)."""
    kind = declared.get("type", "string") if isinstance(declared, dict) else "string"
    return kind if isinstance(kind, str) and kind in get_args(ParamType) else "string"


def _mapping(value: Any) -> dict[Any, Any]:
    """The value if it is a mapping, else empty (its type error is reported by the model)."""
    return value if isinstance(value, dict) else {}


def _deps_of(body: Any) -> list[str]:
    raw = body.get("depends_on", []) if isinstance(body, dict) else []
    raw = [raw] if isinstance(raw, str) else raw
    return [d for d in raw if isinstance(d, str)] if isinstance(raw, list) else []


def _check_dependencies(deps: Mapping[str, list[str]]) -> Iterator[Found]:
    for name, ds in deps.items():
        for i, dep in enumerate(ds):
            path = ("tasks", name, "depends_on", i)
            if dep == name:
                yield path, f"task '{name}' depends on itself", "remove it from its own depends_on"
            elif dep not in deps:
                yield path, f"unknown task '{dep}' in depends_on", did_you_mean(dep, deps) or (
                    f"tasks are: {', '.join(deps)}")
            elif ds.index(dep) != i:
                yield path, f"'{dep}' is listed twice in depends_on", None


def _check_plain_secrets(params: dict[Any, Any], data: dict[str, Any]) -> Iterator[Found]:
    """A value given for a secret-looking parameter would sit in plain text in the file, the state machine, every
    run's input and record: refuse it, and point to `secrets:`."""
    hint = "declare it under 'secrets:' (an SSM SecureString or Secrets Manager reference) and use {{ secrets.NAME }}"
    for name, declared in params.items():
        if looks_secret(str(name)) and isinstance(declared, dict) and declared.get("default") is not None:
            yield ("params", name, "default"), f"parameter '{name}' looks like a secret: a default would put its " \
                "value in the pipeline file, the state machine definition and every run record", hint
    for section in ("schedules", "triggers"):
        entries = data.get(section)
        for i, entry in enumerate(entries if isinstance(entries, list) else []):
            given = entry.get("params") if isinstance(entry, dict) else None
            for name, value in (given.items() if isinstance(given, dict) else []):
                if looks_secret(str(name)) and value is not None:
                    yield (section, i, "params", name), f"'{name}' looks like a secret: its value would be in " \
                        "plain text in the deployed schedule or rule and every run record", hint


def _check_task(name: str, body: dict[str, Any], types: Mapping[str, str], tasks: set[str], reach: _Reach,
                has_triggers: bool, secrets: frozenset[str] = frozenset()) -> Iterator[Found]:
    base: Path = ("tasks", name)
    foreach = body.get("foreach")
    for key, value in body.items():
        if key in _NOT_TEMPLATED:
            continue
        for sub, text in template.walk(value, (*base, key)):
            yield from _check_template(text, sub, types, tasks, reach, foreach is not None, has_triggers, secrets)
    if isinstance(foreach, dict) and isinstance(foreach.get("items"), str):
        yield from _check_items(foreach["items"], (*base, "foreach", "items"), types)
    when = body.get("when")
    if isinstance(when, str):
        try:
            condition.parse(when, types)
        except condition.ConditionError as exc:
            yield (*base, "when"), str(exc), None


def _check_template(text: str, path: Path, types: Mapping[str, str], tasks: set[str], reach: _Reach,
                    in_foreach: bool, has_triggers: bool, secrets: frozenset[str] = frozenset()) -> Iterator[Found]:
    try:
        refs = template.parse(text)
    except template.TemplateError as exc:
        yield path, str(exc), None
        return
    for ref in refs:
        where = f"'{{{{ {ref.text} }}}}'"
        if ref.root not in template.ROOTS:
            yield path, f"{where}: unknown name '{ref.root}'", did_you_mean(ref.root, template.ROOTS) or (
                f"available: {', '.join(template.ROOTS)}")
        elif ref.root == "params":
            if not ref.path:
                yield path, f"{where}: name the parameter, e.g. '{{{{ params.NAME }}}}'", None
            elif ref.path[0] not in types:
                wanted = ref.path[0]
                yield path, f"{where}: unknown parameter '{wanted}'", did_you_mean(str(wanted), types) or (
                    f"declared params: {', '.join(types) or 'none'}")
        elif ref.root == "tasks":
            yield from _check_task_ref(ref, where, path, tasks, reach)
        elif ref.root == "secrets" and (len(ref.path) != 1 or str(ref.path[0]) not in secrets):
            wanted = str(ref.path[0]) if ref.path else ""
            yield path, f"{where}: unknown secret '{wanted}'" if wanted else f"{where}: name the secret", (
                did_you_mean(wanted, secrets) or f"declared secrets: {', '.join(sorted(secrets)) or 'none'}")
        elif ref.root == "item" and not in_foreach:
            yield path, f"{where}: 'item' exists only in a task with 'foreach'", None
        elif ref.root == "event" and not has_triggers:
            yield path, f"{where}: 'event' needs the pipeline to have 'triggers'", None
        elif ref.root in template.RUN_VALUES and ref.path:
            yield path, f"{where}: '{ref.root}' has no fields", None


@dataclass(frozen=True)
class _Reach:
    """The tasks whose output a task may read (its upstream), and the DAG to say which dependency would add one."""

    task: str
    upstream: set[str]
    dag: Dag

    def __contains__(self, other: object) -> bool:
        return other in self.upstream

    def hint(self, other: str) -> str:
        """Add `other` to depends_on, unless that makes a cycle: then why no dependency can be suggested."""
        if other == self.task:
            return "a task cannot read its own output; read it in a task that depends on this one"
        back = self.dag.path(self.task, other) if other in self.dag.index else None
        if back is None:
            return f"add '{other}' to depends_on"
        return (f"no dependency can be suggested: '{other}' runs after this task ({' -> '.join(back)}), so depending "
                f"on it would make a cycle; read this value in a task downstream of both")


def _check_task_ref(ref: template.Ref, where: str, path: Path, tasks: set[str], reach: _Reach) -> Iterator[Found]:
    other = ref.path[0] if ref.path else ""
    if other not in tasks:
        yield path, f"{where}: unknown task '{other}'", did_you_mean(str(other), tasks)
    elif other not in reach:
        yield path, f"{where}: task '{other}' is not upstream of this task, so its output may not exist yet", (
            reach.hint(str(other)))
    elif len(ref.path) < 2 or ref.path[1] != "output":
        yield path, f"{where}: write tasks.{other}.output (or tasks.{other}.output.KEY)", None


def _check_items(text: str, path: Path, types: Mapping[str, str]) -> Iterator[Found]:
    try:
        refs = template.parse(text)
    except template.TemplateError:
        return  # reported by the template check
    whole = text.strip().startswith("{{") and text.strip().endswith("}}") and len(refs) == 1
    if not whole or refs[0].root not in {"params", "tasks"}:
        yield path, "foreach items must be one reference: '{{ params.NAME }}' or '{{ tasks.NAME.output }}'", (
            "or a YAML list")
    elif refs[0].root == "params" and refs[0].path and types.get(str(refs[0].path[0]), "list") != "list":
        kind = condition.with_article(types[str(refs[0].path[0])])
        yield path, f"params.{refs[0].path[0]} is {kind}, foreach needs a list parameter", None


def _check_heartbeat(own: Mapping[str, Any], defaults: Mapping[str, Any], base: Path) -> Iterator[Found]:
    """The heartbeat in effect (own, else the defaults') must be shorter than the timeout in effect."""
    heartbeat = own.get("heartbeat") if own.get("heartbeat") is not None else defaults.get("heartbeat")
    timeout = own.get("timeout") if own.get("timeout") is not None else defaults.get("timeout")
    if heartbeat is None:
        return
    if timeout is None:
        timeout = TaskDefaults.model_fields["timeout"].default
    try:
        hb, to = parse_duration(heartbeat), parse_duration(timeout)
    except ValueError:
        return  # reported by the field types
    if isinstance(hb, int) and isinstance(to, int) and 1 <= to <= hb:
        hb_from = "" if own.get("heartbeat") is not None else ", from defaults"
        to_from = ("" if own.get("timeout") is not None else
                   ", from defaults" if defaults.get("timeout") is not None else ", the built-in default")
        key = "heartbeat" if own.get("heartbeat") is not None else "timeout"
        yield (*base, key), f"heartbeat ({hb}s{hb_from}) must be shorter than timeout ({to}s{to_from})", (
            "Step Functions rejects a HeartbeatSeconds that is not below TimeoutSeconds")


def _check_run_params(entries: Any, section: str, params: Mapping[str, Any]) -> Iterator[Found]:
    if not isinstance(entries, list):
        return
    for i, entry in enumerate(entries):
        given = entry.get("params", {}) if isinstance(entry, dict) else {}
        if not isinstance(given, dict):
            continue
        for key, value in given.items():
            spec = params.get(key)
            if spec is None:
                yield (section, i, "params", key), f"unknown parameter '{key}'", did_you_mean(key, params)
                continue
            try:
                declared = Param.model_validate(spec if isinstance(spec, dict) else {})
            except ValidationError:
                continue  # the declaration itself is reported by the model
            try:
                declared.coerce(value)
            except ParamValueError as exc:
                yield (section, i, "params", key), str(exc), None
        for key, spec in params.items():
            if isinstance(spec, dict) and spec.get("default") is None and key not in given:
                kind = "scheduled" if section == "schedules" else "triggered"
                yield (section, i), f"required parameter '{key}' has no default and {kind} runs do not set it", (
                    f"give it a default or set it under {section}[{i}].params")
