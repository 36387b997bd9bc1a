"""Hypothesis strategies for pipeline files: random VALID pipelines over the whole file format, and mutations
of them that make them invalid (wrong types, unknown keys, cycles, huge names, unicode, deep nesting, huge files).

`pipeline_docs()` draws the plain data of one pipeline file (dump it with `to_yaml`); every document it draws is
accepted by `sluice.spec.load_text` with no error (tests/unit/test_valid_pipelines_fuzz.py holds it to that). It
covers: random DAGs of tasks of every kind (glue, emr in both step forms, emr_serverless, ecs FARGATE and EC2,
lambda by name, alias or ARN, and child `pipeline` tasks when `children` names some), params of every type with
and without defaults and `allowed`, secrets, cron (EventBridge and Unix) and rate schedules with their params,
s3 and event triggers, defaults, run timeout, max_duration, deadline, and per task: depends_on (a name or a
list), trigger_rule, when conditions on params (and/or/not, comparisons, `in`), foreach over a list param, an
upstream output or a literal list, retry, timeout, heartbeat, expected_duration, local commands, and templates
that reference run values, params, upstream outputs (also `.output.KEY`), `item`, `event` and secrets.

`mutated_docs()` draws such a document with 1-3 mutations applied; the result may or may not still be valid.
"""

from __future__ import annotations

import copy
import datetime as dt
import keyword
import re
from collections.abc import Callable, Sequence
from typing import Any

import yaml
from hypothesis import strategies as st

from sluice.spec.secrets import looks_secret

Doc = dict[str, Any]

PARAM_TYPES = ("string", "int", "number", "bool", "date", "list")
KIND_NAMES = ("glue", "emr", "emr_serverless", "ecs", "lambda", "pipeline")
CRONS = ("0 5 ? * MON-FRI *", "*/15 * * * ? *", "0 0 1 * ? *", "30 2 ? * 2#1 *", "0 12 L * ? *",
         "0 8 ? * 6L *", "15 10 ? JAN-MAR SUN *", "0 0/6 * * ? *",  # EventBridge (6 fields)
         "30 2 * * *", "0 5 * * 1-5", "*/10 * * * *", "15 3 1 * *", "0 0 * * 0", "0 9-17 * * MON-FRI")  # Unix
RATES = ("15 minutes", "1 minute", "1 hour", "2 hours", "1 day", "3 days", "5m", "1h", "2d")
TIMEZONES = ("UTC", "Europe/Berlin", "America/New_York", "Asia/Kolkata", "Australia/Lord_Howe", "Pacific/Chatham")
RUN_VALUES = ("run_id", "execution_id", "pipeline", "task", "attempt", "logical_date", "ds", "ds_nodash", "ts")
STRFTIME = ("%Y/%m/%d", "%Y%m%d", "%H", "%Y-%m-%dT%H:%M")
ACCOUNT = "123456789012"

# Free text around templates: anything but braces (a stray '{' next to '{{' changes what the tag is), and no
# surrogates. Unicode, quotes, YAML indicators and whitespace are all in.
_TEXT = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="{}\x00"), max_size=12)
_WORD = st.from_regex(r"[A-Za-z][A-Za-z0-9_-]{0,10}", fullmatch=True)
_PARAM_NAME = st.from_regex(r"[A-Za-z_][A-Za-z0-9_]{0,12}", fullmatch=True).filter(
    lambda n: not looks_secret(n) and not keyword.iskeyword(n))
# Task names: short ones, YAML-special ones (yes, on, null, True: the dumper must quote them) and 64-char ones,
# which make the longest state names (NAME.item.failed).
_TASK_NAME = st.one_of(
    st.from_regex(r"[A-Za-z][A-Za-z0-9_-]{0,8}", fullmatch=True),
    st.sampled_from(["yes", "no", "on", "off", "null", "True", "y", "n", "Parallel", "Start", "Finalize"]),
    st.from_regex(r"[A-Za-z][A-Za-z0-9_-]{63}", fullmatch=True),
)


_DEEP = re.compile(r"__deep_(\d+)_(seq|map)__")


def to_yaml(doc: Any) -> str:
    """The document as a pipeline file. A `deep(n)` value is written as n nested flow collections (PyYAML's own
    dumper would recurse past Python's limit)."""
    text = yaml.safe_dump(doc, allow_unicode=True, sort_keys=False, width=120)
    return _DEEP.sub(lambda m: _deep_text(int(m[1]), m[2]), text)


def deep(depth: int, form: str = "seq") -> str:
    """A placeholder that `to_yaml` expands to `depth` nested lists ('seq') or single-key maps ('map')."""
    return f"__deep_{depth}_{form}__"


def _deep_text(depth: int, form: str) -> str:
    if form == "seq":
        return "[" * depth + "x" + "]" * depth
    return "{k: " * depth + "x" + "}" * depth


def _keys(dollar_keys: bool) -> st.SearchStrategy[str]:
    """Keys of free-form maps (payloads, arguments, environment). With `dollar_keys`, also keys ending in '.$',
    which ASL Parameters read as JSONPath."""
    plain = st.one_of(_WORD, st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"),
                                     min_size=1, max_size=8)).filter(lambda k: not k.endswith(".$"))
    if not dollar_keys:
        return plain
    return st.one_of(plain, plain.map(lambda k: f"{k}.$"), st.sampled_from(["path.$", "in.$", "x.$"]))


def _json(dollar_keys: bool, leaves: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.recursive(leaves, lambda inner: st.one_of(
        st.lists(inner, max_size=3), st.dictionaries(_keys(dollar_keys), inner, max_size=3)), max_leaves=6)


# ---- params ------------------------------------------------------------------------------------------------------

def _value_of(kind: str) -> st.SearchStrategy[Any]:
    """A value of a param type, in one of the forms the file format takes for it."""
    if kind == "string":
        return _TEXT
    if kind == "int":
        return st.integers(-10**9, 10**9)
    if kind == "number":
        return st.one_of(st.integers(-10**6, 10**6), st.floats(-1e9, 1e9, allow_nan=False, allow_infinity=False))
    if kind == "bool":
        return st.booleans()
    if kind == "date":
        days = st.dates(dt.date(1970, 1, 1), dt.date(2100, 12, 31))
        return st.one_of(days, days.map(dt.date.isoformat))
    return st.lists(st.one_of(_TEXT, st.integers(-100, 100)), max_size=4)


@st.composite
def params(draw: st.DrawFn) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    for name in draw(st.lists(_PARAM_NAME, max_size=5, unique_by=str.lower)):
        kind = draw(st.sampled_from(PARAM_TYPES))
        spec: dict[str, Any] = {} if kind == "string" and draw(st.booleans()) else {"type": kind}
        if draw(st.integers(0, 4)):  # mostly with a default
            spec["default"] = draw(_value_of(kind))
            if kind in {"string", "int"} and draw(st.booleans()):
                others = draw(st.lists(_value_of(kind), max_size=3))
                spec["allowed"] = [spec["default"], *others]
        if draw(st.booleans()):
            spec["description"] = draw(_TEXT)
        out[name] = spec
    return out


def _given_value(spec: dict[str, Any]) -> st.SearchStrategy[Any]:
    """A value a schedule or trigger may give for this param."""
    if spec.get("allowed"):
        return st.sampled_from(spec["allowed"])
    return _value_of(spec.get("type", "string"))


@st.composite
def _run_params(draw: st.DrawFn, declared: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """Values for every required param and for some optional ones."""
    return {name: draw(_given_value(spec)) for name, spec in declared.items()
            if "default" not in spec or draw(st.booleans())}


# ---- schedules, triggers, the pipeline's own settings --------------------------------------------------------

def durations(lo: int = 1, hi: int = 86_400) -> st.SearchStrategy[int | str]:
    """A duration in [lo, hi] seconds, as a number or as '90s', '10m', '1h30m', '2d'."""
    def spell(seconds: int) -> int | str:
        return seconds

    def text(seconds: int, form: int) -> int | str:
        if form == 0:
            return f"{seconds}s"
        d, rest = divmod(seconds, 86_400)
        h, rest = divmod(rest, 3_600)
        m, s = divmod(rest, 60)
        parts = [f"{n}{u}" for n, u in ((d, "d"), (h, "h"), (m, "m"), (s, "s")) if n]
        return "".join(parts) if form == 1 else " ".join(parts)

    seconds = st.integers(lo, hi)
    return st.one_of(seconds.map(spell), st.builds(text, seconds, st.integers(0, 2)))


@st.composite
def schedules(draw: st.DrawFn, declared: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    out = []
    for _ in range(draw(st.integers(0, 2))):
        entry: dict[str, Any] = ({"cron": draw(st.sampled_from(CRONS))} if draw(st.booleans())
                                 else {"rate": draw(st.sampled_from(RATES))})
        if draw(st.booleans()):
            entry["timezone"] = draw(st.sampled_from(TIMEZONES))
        if draw(st.booleans()):
            start = draw(st.dates(dt.date(2024, 1, 1), dt.date(2030, 1, 1)))
            entry["start"] = start
            if draw(st.booleans()):
                entry["end"] = start + dt.timedelta(days=draw(st.integers(1, 900)))
        given = draw(_run_params(declared))
        if given or draw(st.booleans()):
            entry["params"] = given
        if draw(st.integers(0, 3)) == 0:
            entry["enabled"] = draw(st.booleans())
        if draw(st.integers(0, 3)) == 0:
            entry["flexible_window"] = draw(durations(60, 3_600))
        out.append(entry)
    return out


@st.composite
def triggers(draw: st.DrawFn, declared: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    out = []
    for _ in range(draw(st.integers(0, 2))):
        if draw(st.booleans()):
            s3: dict[str, Any] = {"bucket": draw(st.from_regex(r"[a-z0-9][a-z0-9.-]{1,20}[a-z0-9]", fullmatch=True))}
            if draw(st.booleans()):
                s3["prefix"] = draw(st.sampled_from(["in/", "landing/orders/", ""]))
            if draw(st.booleans()):
                s3["suffix"] = draw(st.sampled_from([".csv", ".parquet", ".json.gz"]))
            entry: dict[str, Any] = {"s3": s3}
        else:
            fields = draw(st.sets(st.sampled_from(["source", "detail-type", "account", "region"]), min_size=1))
            pattern: dict[str, Any] = {f: [draw(_WORD)] for f in sorted(fields)}
            if draw(st.booleans()):
                pattern["detail"] = {"status": [draw(_WORD)]}
            entry = {"event": {"pattern": pattern}}
            if draw(st.booleans()):
                entry["event"]["bus"] = draw(_WORD)
        given = draw(_run_params(declared))
        if given or draw(st.booleans()):
            entry["params"] = given
        out.append(entry)
    return out


def _retry() -> st.SearchStrategy[dict[str, Any]]:
    return st.fixed_dictionaries({}, optional={
        "max_attempts": st.integers(1, 4), "interval": durations(1, 86_400),
        "backoff": st.one_of(st.integers(1, 10), st.floats(1.0, 10.0)), "max_delay": durations(1, 86_400),
        "jitter": st.booleans()})


@st.composite
def _defaults(draw: st.DrawFn) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if draw(st.booleans()):
        out["retry"] = draw(_retry())
    if draw(st.booleans()):
        out["timeout"] = draw(durations(120, 7 * 86_400))
    if draw(st.integers(0, 3)) == 0:
        timeout = _seconds(out.get("timeout", 12 * 3_600))
        out["heartbeat"] = draw(durations(60, timeout - 1))
    return out


def _seconds(value: int | str) -> int:
    from sluice.spec.fields import parse_duration

    seconds = parse_duration(value)
    assert isinstance(seconds, int)
    return seconds


# ---- templates and conditions --------------------------------------------------------------------------------

class _Scope:
    """What a string in one task may reference."""

    def __init__(self, declared: dict[str, dict[str, Any]], upstream: Sequence[str], foreach: bool,
                 triggered: bool, secrets: Sequence[str]) -> None:
        self.params, self.upstream, self.foreach = sorted(declared), sorted(upstream), foreach
        self.triggered, self.secrets = triggered, sorted(secrets)
        # params that may fill a resource name: they list their values, none of which is an IAM wildcard
        self.nameable = sorted(n for n, spec in declared.items() if spec.get("allowed") and not any(
            c in str(v) for v in spec["allowed"] for c in "*?"))


@st.composite
def resource_name(draw: st.DrawFn, scope: _Scope) -> str:
    """A name of a job, cluster, role or function: literal, or made of params with allowed values (what a run
    decides may not name what Sluice grants access to, sluice/spec/resource_names.py)."""
    name = draw(_WORD)
    for _ in range(draw(st.integers(0, 2)) if scope.nameable else 0):
        space = draw(st.sampled_from(["", " "]))
        name += draw(st.sampled_from(["-", "_", ""])) + "{{" + space + "params." + draw(
            st.sampled_from(scope.nameable)) + space + "}}"
    return name


@st.composite
def _reference(draw: st.DrawFn, scope: _Scope) -> str:
    options: list[Callable[[], str]] = [
        lambda: draw(st.sampled_from(RUN_VALUES)),
        lambda: f"logical_date.strftime({draw(st.sampled_from(STRFTIME))!r})",
    ]
    if scope.params:
        options.append(lambda: f"params.{draw(st.sampled_from(scope.params))}")
    if scope.upstream:
        options.append(lambda: f"tasks.{draw(st.sampled_from(scope.upstream))}.output" + draw(
            st.sampled_from(["", ".path", ".rows", "[0]", ".a.b-c", ".items[2].id"])))
    if scope.foreach:
        options.append(lambda: draw(st.sampled_from(["item", "item.id", "item[0]"])))
    if scope.triggered:
        options.append(lambda: draw(st.sampled_from(["event.detail.bucket.name", "event.detail", "event.id"])))
    if scope.secrets:
        options.append(lambda: f"secrets.{draw(st.sampled_from(scope.secrets))}")
    expr = draw(st.sampled_from(options))()
    space = draw(st.sampled_from(["", " ", "  "]))
    return "{{" + space + expr + space + "}}"


@st.composite
def templated(draw: st.DrawFn, scope: _Scope, min_size: int = 0) -> str:
    """A string of free text and references that are valid in this scope."""
    parts = draw(st.lists(st.one_of(_TEXT, _reference(scope)), max_size=4))
    text = "".join(parts)
    while len(text) < min_size:
        text += draw(st.one_of(_WORD, _reference(scope)))
    return text


def _literal(kind: str) -> st.SearchStrategy[str]:
    """A condition literal of a param type, as Python source."""
    if kind == "string":
        return st.text(st.characters(blacklist_categories=("Cs", "Cc")), max_size=8).map(repr)
    if kind == "int":
        return st.integers(-10**6, 10**6).map(str)
    if kind == "number":
        return st.one_of(st.integers(-1000, 1000).map(str), st.floats(-1e6, 1e6).map(repr))
    if kind == "date":
        return st.dates(dt.date(2000, 1, 1), dt.date(2040, 1, 1)).map(lambda d: repr(d.isoformat()))
    return st.sampled_from(["true", "false", "True", "False"])


@st.composite
def conditions(draw: st.DrawFn, declared: dict[str, dict[str, Any]], depth: int = 2) -> str:
    """A `when` expression over the declared params (needs at least one that is not a list)."""
    usable = {n: s.get("type", "string") for n, s in declared.items() if s.get("type", "string") != "list"}
    if depth > 0 and draw(st.integers(0, 3)) == 0:
        op = draw(st.sampled_from(["and", "or", "not"]))
        if op == "not":
            return f"not ({draw(conditions(declared, depth - 1))})"
        parts = draw(st.lists(conditions(declared, depth - 1), min_size=2, max_size=3))
        return f" {op} ".join(f"({p})" for p in parts)
    name = draw(st.sampled_from(sorted(usable)))
    kind = usable[name]
    if kind == "bool":
        form = draw(st.integers(0, 2))
        return [f"params.{name}", f"params.{name} == {draw(_literal(kind))}",
                f"params.{name} != {draw(_literal(kind))}"][form]
    if draw(st.integers(0, 3)) == 0:
        values = draw(st.lists(_literal(kind), min_size=1, max_size=3))
        neg = draw(st.sampled_from(["in", "not in"]))
        return f"params.{name} {neg} [{', '.join(values)}]"
    ops = ["==", "!="] if kind in {"string"} else ["==", "!=", "<", "<=", ">", ">="]
    op = draw(st.sampled_from(ops))
    literal = draw(_literal(kind))
    return f"{literal} {op} params.{name}" if draw(st.integers(0, 4)) == 0 else f"params.{name} {op} {literal}"


# ---- tasks ------------------------------------------------------------------------------------------------------

@st.composite
def _strings(draw: st.DrawFn, scope: _Scope, max_size: int = 3) -> list[str]:
    return draw(st.lists(templated(scope), max_size=max_size))


@st.composite
def _string_map(draw: st.DrawFn, scope: _Scope, dollar_keys: bool) -> dict[str, str]:
    return draw(st.dictionaries(_keys(dollar_keys), templated(scope), max_size=3))


@st.composite
def kind_block(draw: st.DrawFn, kind: str, scope: _Scope, children: Sequence[str], dollar_keys: bool = False,
               ) -> dict[str, Any]:
    """The job block of one kind; every string in it may hold templates valid in `scope`."""
    s = lambda min_size=1: draw(templated(scope, min_size))  # noqa: E731
    named = lambda: draw(resource_name(scope))  # noqa: E731
    if kind == "glue":
        out: dict[str, Any] = {"job": named()}
        if draw(st.booleans()):
            out["arguments"] = draw(_string_map(scope, dollar_keys))
        if draw(st.booleans()):
            out["worker_type"] = draw(st.sampled_from(["Standard", "G.025X", "G.1X", "G.2X", "G.4X", "G.8X", "Z.2X"]))
        if draw(st.booleans()):
            out["workers"] = draw(st.integers(1, 1000))
        return out
    if kind == "emr":
        out = {"cluster_id": named()}
        if draw(st.booleans()):
            out["spark_submit"] = draw(_strings(scope))
        else:
            out["jar"] = draw(st.sampled_from(["command-runner.jar", "s3://jars/app.jar"]))
            if draw(st.booleans()):
                out["main_class"] = s()
            if draw(st.booleans()):
                out["args"] = draw(_strings(scope))
        return out
    if kind == "emr_serverless":
        role = draw(st.sampled_from([f"arn:aws:iam::{ACCOUNT}:role/emr-{draw(_WORD)}",
                                     f"arn:aws-cn:iam::{ACCOUNT}:role/path/r", f"arn:aws:iam::{ACCOUNT}:role/"
                                     + named()]))
        out = {"application_id": named(), "execution_role_arn": role, "entry_point": "s3://code/" + s()}
        if draw(st.booleans()):
            out["args"] = draw(_strings(scope))
        if draw(st.booleans()):
            out["spark_params"] = "--conf spark.executor.cores=" + s()
        return out
    if kind == "ecs":
        fargate = draw(st.booleans())
        out = {"cluster": named(), "task_definition": named()}
        if fargate and draw(st.booleans()):
            out["launch_type"] = "FARGATE"
        elif not fargate:
            out["launch_type"] = "EC2"
        if fargate or draw(st.booleans()):
            out["network"] = {"subnets": [f"subnet-{w}" for w in draw(st.lists(_WORD, min_size=1, max_size=2))],
                              "security_groups": ["sg-" + draw(_WORD)]}
            if draw(st.booleans()):
                out["network"]["assign_public_ip"] = draw(st.booleans())
        if draw(st.booleans()):
            out["container"] = s()
            if draw(st.booleans()):
                out["command"] = draw(_strings(scope))
            if draw(st.booleans()):
                out["environment"] = draw(_string_map(scope, dollar_keys))
        if draw(st.booleans()):
            out["cpu"] = draw(st.integers(128, 16_384))
        if draw(st.booleans()):
            out["memory"] = draw(st.integers(128, 122_880))
        if draw(st.booleans()):
            out["roles"] = [f"arn:aws:iam::{ACCOUNT}:role/task-{draw(_WORD)}"]
        return out
    if kind == "lambda":
        name = draw(st.from_regex(r"[A-Za-z0-9_-]{1,64}", fullmatch=True))
        form = draw(st.integers(0, 3))
        function = [name, f"{name}:{draw(st.from_regex(r'[A-Za-z0-9_$-]{1,20}', fullmatch=True))}",
                    f"arn:aws:lambda:eu-west-1:{ACCOUNT}:function:{name}", "fn-" + named()][form]
        out = {"function": function}
        if draw(st.booleans()):
            out["payload"] = draw(st.dictionaries(_keys(dollar_keys), _json(dollar_keys, st.one_of(
                templated(scope), st.integers(), st.booleans(), st.none(), st.floats(allow_nan=False,
                                                                                     allow_infinity=False))),
                max_size=4))
        return out
    assert kind == "pipeline" and children
    out = {"name": draw(st.sampled_from(list(children)))}
    if draw(st.booleans()):
        out["params"] = {}  # the child's params must exist in the child: generated children declare none
    return out


@st.composite
def _dag(draw: st.DrawFn, max_tasks: int) -> dict[str, list[str]]:
    names = draw(st.lists(_TASK_NAME, min_size=1, max_size=max_tasks, unique=True))
    deps: dict[str, list[str]] = {}
    for j, name in enumerate(names):
        earlier = names[:j]
        deps[name] = draw(st.lists(st.sampled_from(earlier), unique=True, max_size=3)) if earlier else []
    order = draw(st.permutations(names))  # declaration order must not matter
    return {n: deps[n] for n in order}


def _ancestors(deps: dict[str, list[str]], name: str) -> set[str]:
    seen: set[str] = set()
    todo = list(deps[name])
    while todo:
        d = todo.pop()
        if d not in seen:
            seen.add(d)
            todo.extend(deps[d])
    return seen


@st.composite
def task_body(draw: st.DrawFn, name: str, deps: dict[str, list[str]], declared: dict[str, dict[str, Any]],
              triggered: bool, secrets: Sequence[str], children: Sequence[str], dollar_keys: bool = False,
              defaults: dict[str, Any] | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {}
    upstream = sorted(_ancestors(deps, name))
    if deps[name]:
        body["depends_on"] = deps[name][0] if len(deps[name]) == 1 and draw(st.booleans()) else list(deps[name])
    elif draw(st.integers(0, 5)) == 0:
        body["depends_on"] = []
    if draw(st.integers(0, 2)) == 0:
        body["trigger_rule"] = draw(st.sampled_from(["all_success", "all_done", "one_failed"]))
    if any(s.get("type", "string") != "list" for s in declared.values()) and draw(st.integers(0, 2)) == 0:
        body["when"] = draw(conditions(declared))
    lists = sorted(n for n, s in declared.items() if s.get("type") == "list")
    foreach = draw(st.integers(0, 3)) == 0
    if foreach:
        sources = [st.lists(_json(dollar_keys, st.one_of(_TEXT, st.integers())), max_size=4)]
        sources += [st.sampled_from([f"{{{{ params.{n} }}}}" for n in lists])] if lists else []
        sources += [st.sampled_from([f"{{{{tasks.{u}.output}}}}" for u in upstream])] if upstream else []
        spec: dict[str, Any] = {"items": draw(st.one_of(*sources))}
        if draw(st.booleans()):
            spec["max_concurrency"] = draw(st.integers(1, 40))
        if draw(st.booleans()):
            spec["max_items"] = draw(st.integers(1, 40))
        body["foreach"] = spec
    if draw(st.integers(0, 2)) == 0:
        body["retry"] = draw(_retry())
    timeout = _seconds((defaults or {}).get("timeout", 12 * 3_600))
    if draw(st.integers(0, 2)) == 0:
        body["timeout"] = draw(durations(120, 7 * 86_400))
        timeout = _seconds(body["timeout"])
    heartbeat = (defaults or {}).get("heartbeat")
    # the inherited heartbeat must stay below the timeout in effect
    if (heartbeat is not None and _seconds(heartbeat) >= timeout) or draw(st.integers(0, 3)) == 0:
        body["heartbeat"] = draw(durations(60, timeout - 1))
    if draw(st.integers(0, 3)) == 0:
        body["expected_duration"] = draw(durations(1, 86_400))
    if draw(st.integers(0, 3)) == 0:
        body["description"] = draw(st.text(max_size=30))  # not templated: braces too
    kinds = [k for k in KIND_NAMES if k != "pipeline" or children]
    kind = draw(st.sampled_from(kinds))
    scope = _Scope(declared, upstream, foreach, triggered, secrets)
    body[kind] = draw(kind_block(kind, scope, children, dollar_keys))
    if draw(st.integers(0, 4)) == 0:
        local: dict[str, Any] = {"command": draw(st.one_of(st.just("python jobs/x.py --day 1"),
                                                           st.lists(_WORD, min_size=1, max_size=3)))}
        if draw(st.booleans()):
            local["env"] = draw(st.dictionaries(_WORD, _WORD, max_size=2))
        if draw(st.booleans()):
            local["timeout"] = draw(durations(1, 3_600))
        body["local"] = local
    return body


@st.composite
def pipeline_docs(draw: st.DrawFn, *, max_tasks: int = 8, children: Sequence[str] = (),
                  dollar_keys: bool = False, name: str | None = None) -> Doc:
    """A valid pipeline file's data. `children`: pipelines that exist (for `pipeline` tasks; none: no such task).
    `dollar_keys`: free-form maps may have keys ending in '.$' (see tests/integration/test_generated_asl.py)."""
    doc: Doc = {"name": name or draw(st.from_regex(r"[a-z][a-z0-9-]{0,20}[a-z0-9]", fullmatch=True))}
    if draw(st.booleans()):
        doc["description"] = draw(st.text(max_size=40))
    if draw(st.integers(0, 3)) == 0:
        doc["owner"] = draw(st.sampled_from(["data-platform@example.com", "team-ß", "ops"]))
    if draw(st.integers(0, 3)) == 0:
        doc["tags"] = draw(st.dictionaries(_WORD, _TEXT, max_size=3))
    declared = draw(params())
    if declared or draw(st.booleans()):
        doc["params"] = declared
    secrets = draw(st.lists(_PARAM_NAME, max_size=2, unique=True))
    if secrets:
        doc["secrets"] = {s: ({"ssm": f"/prod/{s}"} if i % 2 == 0 else {"secretsmanager": f"prod/{s}"})
                          for i, s in enumerate(secrets)}
    sched = draw(schedules(declared))
    if sched:
        doc["schedules"] = sched
    trig = draw(triggers(declared))
    if trig:
        doc["triggers"] = trig
    defaults = draw(_defaults())
    if defaults:
        doc["defaults"] = defaults
    if draw(st.integers(0, 3)) == 0:
        doc["timeout"] = draw(durations(3_600, 30 * 86_400))
    if draw(st.integers(0, 3)) == 0:
        doc["max_duration"] = draw(durations(60, 86_400))
    if draw(st.integers(0, 3)) == 0:
        at = f"{draw(st.integers(0, 23)):02d}:{draw(st.integers(0, 59)):02d}"
        doc["deadline"] = {"at": at, **draw(st.fixed_dictionaries({}, optional={
            "timezone": st.sampled_from(TIMEZONES), "within": durations(3_600, 7 * 86_400)}))}
    deps = draw(_dag(max_tasks))
    doc["tasks"] = {name: draw(task_body(name, deps, declared, bool(trig), secrets, children, dollar_keys, defaults))
                    for name in deps}
    return doc


def child_doc(name: str) -> Doc:
    """A minimal child pipeline, for directories where generated `pipeline` tasks must find their child."""
    return {"name": name, "tasks": {"work": {"lambda": {"function": f"{name}-fn"}}}}


def run_params(doc: Doc) -> dict[str, Any]:
    """Values for a run of the document: its defaults, and a value of the right type for each required param."""
    from sluice.spec import load_text

    pipeline, problems = load_text(to_yaml(doc))
    assert pipeline is not None, problems
    out = {}
    for name, param in pipeline.params.items():
        if param.default is not None:
            out[name] = param.default
        else:
            out[name] = {"string": "x", "int": 1, "number": 1.5, "bool": True, "date": "2026-01-31",
                         "list": ["a", "b"]}[param.type]
    return out


# ---- mutations ---------------------------------------------------------------------------------------------------

def _nodes(node: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = [path]
    if isinstance(node, dict):
        for k, v in node.items():
            out.extend(_nodes(v, (*path, k)))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            out.extend(_nodes(v, (*path, i)))
    return out


def _at(doc: Any, path: tuple[Any, ...]) -> Any:
    for part in path:
        doc = doc[part]
    return doc


def _other_type(value: Any) -> st.SearchStrategy[Any]:
    """A value of another JSON type than `value`."""
    choices: list[st.SearchStrategy[Any]] = []
    if not isinstance(value, str):
        choices.append(st.sampled_from(["", "x", "{{ nope }}", "1h", "true", "ü" * 3]))
    if not isinstance(value, bool):
        choices.append(st.booleans())
    if not isinstance(value, int) or isinstance(value, bool):
        choices.append(st.integers(-(2**70), 2**70))
    if not isinstance(value, float):
        choices.append(st.sampled_from([1.5, -0.0, 1e308, float("inf"), float("nan")]))
    if not isinstance(value, list):
        choices.append(st.lists(st.integers(), max_size=2))
    if not isinstance(value, dict):
        choices.append(st.just({"k": "v"}))
    if value is not None:
        choices.append(st.none())
    return st.one_of(*choices)


MUTATIONS = ("wrong_type", "unknown_key", "delete", "cycle", "self_dependency", "huge_name", "unicode_name",
             "deep_nesting", "huge_value", "dangling_reference", "bad_template", "bad_condition")


def _a_task(draw: st.DrawFn, tasks: dict[str, Any]) -> dict[str, Any]:
    """A task to mutate: one that is still a mapping (an earlier mutation may have made one a string)."""
    mappings = [n for n, t in tasks.items() if isinstance(t, dict)]
    name = draw(st.sampled_from(mappings or list(tasks)))
    if not isinstance(tasks[name], dict):
        tasks[name] = {}
    task: dict[str, Any] = tasks[name]
    return task


@st.composite
def mutate(draw: st.DrawFn, doc: Doc, kind: str) -> Doc:
    """One mutation of a (valid) document; `kind` is one of MUTATIONS."""
    doc = copy.deepcopy(doc)
    tasks = doc["tasks"]
    names = list(tasks)
    if kind == "wrong_type":
        path = draw(st.sampled_from(_nodes(doc)[1:]))
        parent = _at(doc, path[:-1])
        parent[path[-1]] = draw(_other_type(parent[path[-1]]))
    elif kind == "unknown_key":
        maps = [p for p in _nodes(doc) if isinstance(_at(doc, p), dict)]
        target = _at(doc, draw(st.sampled_from(maps)))
        key = draw(st.one_of(st.sampled_from(["depend_on", "retries", "timout", "Tasks", "lamda", "glu", "param",
                                              "when ", "type_", "x-extra", "<<"]), st.text(min_size=1, max_size=10)))
        target[key] = draw(st.one_of(st.none(), st.integers(), _TEXT))
    elif kind == "delete":
        path = draw(st.sampled_from(_nodes(doc)[1:]))
        del _at(doc, path[:-1])[path[-1]]
    elif kind in {"cycle", "self_dependency"}:
        # an earlier mutation may have turned a task into another type: only tasks that are mappings take an edge
        mappings = [name for name in names if isinstance(tasks[name], dict)]
        if not mappings:
            return doc
        a = draw(st.sampled_from(mappings))
        b = a if kind == "self_dependency" else draw(st.sampled_from(mappings))
        # b -> ... -> a already (or a == b): make a depend on b's downstream by making b depend on a, a on b
        for x, y in ((a, b), (b, a)):
            deps = tasks[x].get("depends_on", [])
            deps = [deps] if isinstance(deps, str) else list(deps)
            if y not in deps:
                tasks[x]["depends_on"] = [*deps, y]
    elif kind == "huge_name":
        size = draw(st.sampled_from([65, 1_000, 100_000]))
        where = draw(st.sampled_from(["pipeline", "task", "param", "dependency"]))
        big = "a" * size
        if where == "pipeline":
            doc["name"] = big
        elif where == "task":
            tasks[big] = tasks.pop(names[0])
        elif where == "param":
            doc.setdefault("params", {})[big] = {"type": "int", "default": 1}
        else:
            tasks[names[0]]["depends_on"] = [big]
    elif kind == "unicode_name":
        weird = draw(st.sampled_from(["tâche", "задача", "任务", "t\u200bx", "e\u0301", "🚀", "t\x7f",
                                      "\uff54\uff41\uff53\uff4b",
                                      "Ω", "t\u2028x", "t x", "t.x", "-t"]))
        where = draw(st.sampled_from(["pipeline", "task", "param", "secret"]))
        if where == "pipeline":
            doc["name"] = weird
        elif where == "task":
            tasks[weird] = tasks.pop(names[0])
        elif where == "param":
            doc.setdefault("params", {})[weird] = {"type": "string", "default": "x"}
        else:
            doc["secrets"] = {weird: {"ssm": "/x"}}
    elif kind == "deep_nesting":
        depth = draw(st.sampled_from([50, 300, 2_000]))
        path = draw(st.sampled_from(_nodes(doc)[1:]))
        _at(doc, path[:-1])[path[-1]] = deep(depth, draw(st.sampled_from(["seq", "map"])))
    elif kind == "huge_value":
        size = draw(st.sampled_from([10_000, 300_000]))
        path = draw(st.sampled_from(_nodes(doc)[1:]))
        _at(doc, path[:-1])[path[-1]] = draw(st.sampled_from(["x" * size, "{{ ds }}" * (size // 8),
                                                              list(range(size // 10))]))
    elif kind == "dangling_reference":
        task = _a_task(draw, tasks)
        ref = draw(st.sampled_from(["{{ params.nope }}", "{{ tasks.nope.output }}", "{{ item }}", "{{ event.id }}",
                                    "{{ secrets.nope }}", f"{{{{ tasks.{names[-1]}.output }}}}", "{{ ds.x }}",
                                    "{{ nope }}", "{{ params }}"]))
        kind_key = next((k for k in KIND_NAMES if k in task), None)
        block = task[kind_key] if kind_key is not None and isinstance(task[kind_key], dict) else {}
        key = next((k for k, v in block.items() if isinstance(v, str) and k not in {"name", "jar", "execution_role_arn"}
                    and k != "launch_type" and k != "worker_type"), None)
        if key is None:
            task["foreach"] = {"items": ref}
        else:
            block[key] = ref
    elif kind == "bad_template":
        task = _a_task(draw, tasks)
        if not isinstance(task.get("foreach"), dict):
            task["foreach"] = {"items": []}
        task["foreach"]["items"] = draw(st.sampled_from(["{{", "{{ }}", "{{ ds", "x {{ params.a }} y",
                                                         "{{ 1 + 1 }}", "}}{{", "{{ tasks }}",
                                                         "{{ logical_date.strftime(%Y) }}"]))
    else:  # bad_condition
        task = _a_task(draw, tasks)
        task["when"] = draw(st.sampled_from(["params.", "1 == 1", "params.x ==", "(" * 200 + "params.x" + ")" * 200,
                                             "not " * 500 + "params.x", "params.x == 'a' or", "__import__('os')",
                                             "params.x in []", "params.x < [1]", "lambda: 1", "params.x\x00",
                                             " and ".join(["params.x"] * 3000)]))
    return doc


@st.composite
def mutated_docs(draw: st.DrawFn, *, max_tasks: int = 5) -> Doc:
    """A valid document with 1-3 mutations: wrong types, unknown keys, cycles, huge or unicode names, deep
    nesting, huge values, dangling references, bad templates and conditions."""
    doc = draw(pipeline_docs(max_tasks=max_tasks))
    for kind in draw(st.lists(st.sampled_from(MUTATIONS), min_size=1, max_size=3)):
        if not isinstance(doc.get("tasks"), dict) or not doc["tasks"]:
            break
        doc = draw(mutate(doc, kind))
    return doc
