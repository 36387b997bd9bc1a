"""Typed run parameters: coercion of command-line strings and YAML values, defaults, allowed values, run params."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from sluice.spec import Param, ParamValueError, load_paths, load_text

TASK = "tasks:\n  a:\n    glue: {job: j}\n"


@pytest.mark.parametrize(("type_", "given", "expected"), [
    ("string", "eu-west-1", "eu-west-1"),
    ("string", "", ""),
    ("int", "3", 3),
    ("int", " -42 ", -42),
    ("int", 7, 7),
    ("number", "3", 3),
    ("number", "2.5", 2.5),
    ("number", "1e3", 1000.0),
    ("number", 0.8, 0.8),
    ("bool", "true", True),
    ("bool", "FALSE", False),
    ("bool", True, True),
    ("date", "2026-01-31", "2026-01-31"),
    ("date", dt.date(2026, 1, 31), "2026-01-31"),
    ("list", "a,b", ["a", "b"]),
    ("list", " a , b ", ["a", "b"]),
    ("list", '["a",1]', ["a", 1]),
    ("list", "", []),
    ("list", ["x", {"y": 1}], ["x", {"y": 1}]),
])
def test_coerce_turns_cli_strings_and_yaml_values_into_typed_json(type_: str, given: object, expected: object) -> None:
    # GIVEN a parameter of a type, and a value from a command line or YAML
    # WHEN the value is coerced
    out = Param(type=type_).coerce(given)
    # THEN it is JSON-ready data of that type
    assert out == expected
    assert type(out) is type(expected)


@pytest.mark.parametrize(("type_", "given", "message"), [
    ("string", 5, "5 is not a string (quote it in YAML)"),
    ("string", None, "None is not a string"),
    ("int", "3.5", "'3.5' is not an integer"),
    ("int", "three", "'three' is not an integer"),
    ("int", 2.0, "2.0 is not an integer"),
    ("int", True, "True is not an integer"),
    ("number", "abc", "'abc' is not a number"),
    ("number", True, "True is not a number"),
    ("number", "1e999", "'1e999' is not a number"),
    ("number", float("nan"), "nan is not a number"),
    ("bool", "yes", "'yes' is not a boolean (true or false)"),
    ("bool", 1, "1 is not a boolean"),
    ("date", "2026-13-01", "'2026-13-01' is not a date (YYYY-MM-DD)"),
    ("date", "31/01/2026", "is not a date"),
    ("date", dt.datetime(2026, 1, 31, 10), "is a date and time; a date param takes YYYY-MM-DD"),
    ("date", 20260131, "20260131 is not a date"),
    ("date", "20260131", "'20260131' is not a date (YYYY-MM-DD)"),
    ("date", "2026-W05-1", "'2026-W05-1' is not a date (YYYY-MM-DD)"),
    ("list", 5, "5 is not a list (a YAML list, a JSON list or comma-separated)"),
    ("list", "[1,", "'[1,' is not a JSON list: Expecting value"),
    ("list", {"a": 1}, "is not a list"),
])
def test_coerce_rejects_values_of_the_wrong_type(type_: str, given: object, message: str) -> None:
    # GIVEN a value that does not fit the parameter's type
    # WHEN it is coerced  THEN ParamValueError says what the value is not
    with pytest.raises(ParamValueError) as err:
        Param(type=type_).coerce(given)
    assert message in str(err.value)


def test_allowed_values_are_normalised_and_enforced() -> None:
    # GIVEN an int parameter whose allowed values are written as strings and ints
    param = Param(type="int", allowed=["1", 2], default="2")
    # THEN the allowed values and the default are stored as ints
    assert (param.allowed, param.default, param.required) == ([1, 2], 2, False)
    # AND a value outside them is refused, naming the allowed values
    assert param.coerce("1") == 1
    with pytest.raises(ParamValueError, match=r"'3' is not one of the allowed values \[1, 2\]"):
        param.coerce("3")


def test_a_param_without_default_is_required() -> None:
    assert Param(type="list").required is True
    assert Param(type="bool", default=False).required is False


@pytest.mark.parametrize(("decl", "message"), [
    ("{type: string, default: 5}", "default: 5 is not a string (quote it in YAML) (type is string)"),
    ("{type: int, default: lots}", "default: 'lots' is not an integer (type is int)"),
    ("{type: number, default: abc}", "default: 'abc' is not a number (type is number)"),
    ("{type: number, default: .inf}", "default: inf is not a number (type is number)"),
    ("{type: bool, default: maybe}", "default: 'maybe' is not a boolean (true or false) (type is bool)"),
    ("{type: date, default: 31.01.2026}", "default: '31.01.2026' is not a date (YYYY-MM-DD) (type is date)"),
    ("{type: date, default: 2026-01-31T10:00:00}", "is a date and time; a date param takes YYYY-MM-DD"),
    ("{type: list, default: {a: 1}}", "default: {'a': 1} is not a list"),
    ("{type: string, default: qa, allowed: [dev, prod]}",
     "default: 'qa' is not one of the allowed values ['dev', 'prod'] (type is string)"),
    ("{type: int, allowed: [1, x]}", "allowed: 'x' is not an integer"),
    ("{type: integer}", "expected 'string', 'int', 'number', 'bool', 'date' or 'list', not 'integer'"),
])
def test_a_default_that_does_not_fit_its_type_is_reported_at_the_param(decl: str, message: str) -> None:
    # GIVEN a parameter declaration on line 3 whose default (or allowed list, or type) is wrong
    text = f"name: demo\nparams:\n  limit: {decl}\n{TASK}"
    # WHEN the pipeline is validated
    pipeline, problems = load_text(text)
    # THEN one problem at params.limit (or below it) on line 3 says what is wrong and which type was declared
    assert pipeline is None
    assert len(problems) == 1, problems
    assert problems[0].path[:2] == ("params", "limit") and problems[0].line == 3
    assert message in problems[0].message


@pytest.mark.parametrize("name", ["my-param", "1st", "has space"])
def test_param_names_must_be_identifiers(name: str) -> None:
    _, problems = load_text(f"name: demo\nparams:\n  '{name}': {{type: int, default: 1}}\n{TASK}")
    assert [(p.path, p.line) for p in problems] == [(("params", name), 3)]
    assert problems[0].message.startswith(f"'{name}' is not a valid parameter name")


def test_defaults_are_coerced_to_their_type() -> None:
    # GIVEN defaults written loosely (a quoted int, a comma-separated list, a YAML date)
    text = ("name: demo\nparams:\n  n: {type: int, default: '3'}\n  l: {type: list, default: 'a,b'}\n"
            f"  d: {{type: date, default: 2026-01-31}}\n  x: {{type: number}}\n{TASK}")
    # WHEN the pipeline is loaded
    pipeline, problems = load_text(text)
    # THEN they are stored typed, and a param without default has none
    assert problems == [] and pipeline is not None
    assert pipeline.param_defaults() == {"n": 3, "l": ["a", "b"], "d": "2026-01-31"}


PARAMS = "params:\n  env: {type: string, allowed: [dev, prod]}\n  size: {type: int, default: 1}\n"


@pytest.mark.parametrize(("section", "entry"), [
    ("schedules", "  - rate: 1 hour\n"),
    ("triggers", "  - s3: {bucket: drop-zone}\n"),
])
@pytest.mark.parametrize(("given", "path", "line", "message", "hint"), [
    ("{env: dev, sise: 2}", ("params", "sise"), 7, "unknown parameter 'sise'", "did you mean 'size'?"),
    ("{env: qa}", ("params", "env"), 7, "'qa' is not one of the allowed values ['dev', 'prod']", None),
    ("{env: dev, size: big}", ("params", "size"), 7, "'big' is not an integer", None),
    ("{size: 2}", (), 6, "required parameter 'env' has no default and {kind} runs do not set it",
     "give it a default or set it under {section}[0].params"),
])
def test_schedules_and_triggers_must_set_known_params_of_the_right_type(section, entry, given, path, line, message,
                                                                        hint) -> None:
    # GIVEN a schedule or trigger (line 6) whose params (line 7) are unknown, wrong, or leave a required one unset
    text = f"name: demo\n{PARAMS}{section}:\n{entry}    params: {given}\n{TASK}"
    # WHEN the pipeline is validated
    _, problems = load_text(text)
    # THEN one problem points at the offending value (or at the entry, for a missing one)
    kind = "scheduled" if section == "schedules" else "triggered"
    assert [(p.path, p.line, p.message, p.hint) for p in problems] == [
        ((section, 0, *path), line, message.format(kind=kind),
         hint.format(section=section) if hint else None)]


def test_schedules_and_triggers_that_set_every_required_param_are_valid() -> None:
    text = (f"name: demo\n{PARAMS}schedules:\n  - {{rate: 1 day, params: {{env: prod}}}}\n"
            f"triggers:\n  - {{s3: {{bucket: drop-zone}}, params: {{env: dev, size: '5'}}}}\n{TASK}")
    pipeline, problems = load_text(text)
    assert problems == [] and pipeline is not None
    assert pipeline.triggers[0].params == {"env": "dev", "size": "5"}


# ---- params that name the resources a task runs on (scenario 16) ---------------------------------------------
ROLE = "arn:aws:iam::123456789012:role/"
NAMING = [
    ("glue", "{job: 'etl-{{ params.x }}'}", ("job",)),
    ("emr", "{cluster_id: '{{ params.x }}', jar: command-runner.jar}", ("cluster_id",)),
    ("emr_serverless", "{application_id: '{{ params.x }}', execution_role_arn: " + ROLE + "r, entry_point: s3://b/m}",
     ("application_id",)),
    ("emr_serverless", "{application_id: app, execution_role_arn: '{{ params.x }}', entry_point: s3://b/m}",
     ("execution_role_arn",)),
    ("ecs", "{cluster: '{{ params.x }}', task_definition: t, launch_type: EC2}", ("cluster",)),
    ("ecs", "{cluster: c, task_definition: 'loader:{{ params.x }}', launch_type: EC2}", ("task_definition",)),
    ("ecs", "{cluster: c, task_definition: t, launch_type: EC2, roles: ['" + ROLE + "{{ params.x }}']}",
     ("roles", 0)),
    ("lambda", "{function: 'notify-{{ params.x }}'}", ("function",)),
]


def _naming(kind: str, block: str, param: str = "{type: string, default: a}") -> str:
    return f"name: demo\nparams:\n  x: {param}\ntasks:\n  t:\n    {kind}: {block}\n"


@pytest.mark.parametrize(("kind", "block", "field"), NAMING)
def test_a_param_naming_a_resource_must_declare_its_allowed_values(kind: str, block: str, field: tuple) -> None:
    # GIVEN a task whose job, cluster, role or function (line 6) is named by a param without `allowed`
    # WHEN the pipeline is validated
    pipeline, problems = load_text(_naming(kind, block))
    # THEN one problem at that field says the param must list its values, and how
    assert pipeline is None
    assert [(p.path, p.line) for p in problems] == [(("tasks", "t", kind, *field), 6)], problems
    assert "'{{ params.x }}' names the resource Sluice grants access to" in problems[0].message
    assert problems[0].hint == "declare params.x.allowed: [...], the only values a run may give it"


@pytest.mark.parametrize(("kind", "block", "field"), NAMING)
def test_a_param_with_allowed_values_may_name_a_resource(kind: str, block: str, field: tuple) -> None:
    pipeline, problems = load_text(_naming(kind, block, "{type: string, default: a, allowed: [a, b]}"))
    assert problems == [] and pipeline is not None


@pytest.mark.parametrize("ref", ["{{ ds }}", "{{ run_id }}", "{{ tasks.up.output.name }}", "{{ event.detail.job }}",
                                 "{{ item }}", "{{ logical_date.strftime('%Y') }}"])
def test_a_resource_name_may_not_come_from_run_values_outputs_or_events(ref: str) -> None:
    # GIVEN a Glue job named by something a run decides (date, upstream output, event, foreach item)
    text = ("name: demo\ntriggers:\n  - s3: {bucket: drop-zone}\ntasks:\n  up: {lambda: {function: f}}\n"
            f"  t:\n    depends_on: up\n    foreach: {{items: [a]}}\n    glue: {{job: \"etl-{ref}\"}}\n")
    # WHEN validated THEN it is refused at the field (line 9), saying what may name a resource
    pipeline, problems = load_text(text)
    assert pipeline is None
    assert [(p.path, p.line) for p in problems] == [(("tasks", "t", "glue", "job"), 9)], problems
    assert f"'{ref}' names the resource Sluice grants access to" in problems[0].message
    assert "only '{{ params.NAME }}' with allowed values" in problems[0].message


@pytest.mark.parametrize("allowed", ["['*']", "['a?']", "['']"])
def test_allowed_values_may_not_make_a_resource_name_a_pattern_or_empty(allowed: str) -> None:
    _, problems = load_text(_naming("lambda", "{function: '{{ params.x }}'}", f"{{type: string, allowed: {allowed}}}"))
    assert [(p.path, p.line) for p in problems] == [(("tasks", "t", "lambda", "function"), 6)], problems
    assert "is not a name IAM can grant exactly" in problems[0].message


def test_a_run_giving_a_resource_naming_param_a_value_outside_allowed_is_refused() -> None:
    # GIVEN a pipeline whose Glue job is named by params.job, allowed [a, b]
    from sluice.run_request import RunRequestError, resolve_params
    pipeline, problems = load_text(_naming("glue", "{job: '{{ params.x }}'}", "{type: string, allowed: [a, b]}"))
    assert problems == [] and pipeline is not None
    # WHEN a run asks for another job THEN the request is refused, naming the param and the allowed values
    with pytest.raises(RunRequestError) as err:
        resolve_params(pipeline, {"x": "someone-elses-job"})
    assert err.value.problems == [("params.x", "'someone-elses-job' is not one of the allowed values ['a', 'b'] "
                                               "(type is string)")]
    assert resolve_params(pipeline, {"x": "b"}) == {"x": "b"}


def _parent_and_child(directory: Path, parent_allows: str, given: str) -> list:
    """A child whose Glue job is named by params.x (allowed a, b), and a parent that starts it on line 5."""
    (directory / "child.yaml").write_text(
        _naming("glue", "{job: '{{ params.x }}'}", "{type: string, allowed: [a, b]}").replace("demo", "child"))
    (directory / "parent.yaml").write_text(
        f"name: parent\nparams: {{p: {{type: string, default: a, allowed: {parent_allows}}}}}\n"
        f"tasks:\n  start:\n    pipeline: {{name: child, params: {given}}}\n")
    return load_paths([directory]).problems


@pytest.mark.parametrize(("given", "message"), [
    ("{x: c}", "'c' is not one of the allowed values ['a', 'b']"),
    ("{x: '{{ params.p }}'}", "'{{ params.p }}' may be 'c', which is refused: 'c' is not one of the allowed values"),
    ("{x: '{{ ds }}'}", "'{{ ds }}' names the resource Sluice grants access to"),
])
def test_a_child_run_is_given_only_allowed_values(tmp_path: Path, given: str, message: str) -> None:
    # GIVEN a parent that gives the child's resource-naming param a value, or a template, outside its allowed ones
    # WHEN both are loaded THEN it is refused at the parent's params.x, naming the child's allowed values
    problems = _parent_and_child(tmp_path, "[a, c]", given)
    assert [(p.path, p.line) for p in problems] == [(("tasks", "start", "pipeline", "params", "x"), 5)], problems
    assert message in problems[0].message and problems[0].hint == "allowed for 'child': ['a', 'b']"


def test_a_child_run_given_a_param_whose_allowed_values_fit_is_valid(tmp_path: Path) -> None:
    assert _parent_and_child(tmp_path, "[a, b]", "{x: '{{ params.p }}'}") == []
