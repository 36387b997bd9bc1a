"""Templates: parsing `{{ ... }}`, rendering at dispatch time, and validating references in a pipeline."""

from __future__ import annotations

import pytest

from sluice import template
from sluice.spec import load_text
from sluice.template import Ref, TemplateError

# ---------------------------------------------------------------- parse


@pytest.mark.parametrize(("text", "refs"), [
    ("no templates here", []),
    ("{{ ds }}", [Ref("ds", (), None, "ds")]),
    ("s3://{{params.bucket}}/{{ ds_nodash }}/", [Ref("params", ("bucket",), None, "params.bucket"),
                                                 Ref("ds_nodash", (), None, "ds_nodash")]),
    ("{{ tasks.a.output.files[0].key }}", [Ref("tasks", ("a", "output", "files", 0, "key"), None,
                                               "tasks.a.output.files[0].key")]),
    ("{{ logical_date.strftime('%Y/%m/%d') }}", [Ref("logical_date", (), "%Y/%m/%d",
                                                     "logical_date.strftime('%Y/%m/%d')")]),
    ('{{ logical_date.strftime("%H") }}', [Ref("logical_date", (), "%H", 'logical_date.strftime("%H")')]),
    ("{{ item.region-name }}", [Ref("item", ("region-name",), None, "item.region-name")]),
])
def test_parse_finds_every_reference(text: str, refs: list[Ref]) -> None:
    # GIVEN a string  WHEN it is parsed  THEN each {{ }} becomes a Ref with its root, path and format
    assert template.parse(text) == refs


@pytest.mark.parametrize(("text", "message"), [
    ("{{ }}", "is not a reference; write e.g. '{{ params.NAME }}'"),
    ("{{ foo() }}", "'{{ foo() }}' is not a reference"),
    ("{{ a + b }}", "'{{ a + b }}' is not a reference"),
    ("{{ params['x'] }}", "is not a reference"),
    ("{{ params.x.strftime('%Y') }}", "only logical_date has .strftime(...)"),
    ("{{ params.x ", "unclosed '{{' in '{{ params.x '"),
    ("{{ ds }} and {{", "unclosed '{{'"),
])
def test_parse_rejects_malformed_expressions(text: str, message: str) -> None:
    with pytest.raises(TemplateError) as err:
        template.parse(text)
    assert message in str(err.value)


def test_walk_yields_every_string_with_its_path() -> None:
    assert list(template.walk({"a": ["x", {"b": "y"}], "c": 3, "d": None}, ("cfg",))) == [
        (("cfg", "a", 0), "x"), (("cfg", "a", 1, "b"), "y")]


# ---------------------------------------------------------------- render

CONTEXT = {
    "params": {"n": 5, "regions": ["eu", "us"], "flags": {"b": 1, "a": True}, "name": "sales"},
    "tasks": {"extract": {"output": {"files": [{"key": "k0"}, {"key": "k1"}]}}},
    **template.context_values("2026-01-31T05:30:00Z"),
}


@pytest.mark.parametrize(("value", "expected"), [
    ("{{ params.n }}", 5),
    ("  {{ params.regions }} ", ["eu", "us"]),
    ("{{ params.flags }}", {"b": 1, "a": True}),
    ("{{ tasks.extract.output.files[1].key }}", "k1"),
    ("n={{ params.n }}", "n=5"),
    ("{{ params.name }}-{{ params.n }}", "sales-5"),
    ("r={{ params.regions }} f={{ params.flags }}", 'r=["eu", "us"] f={"a": true, "b": 1}'),
    ("s3://b/{{ ds }}/{{ ds_nodash }}", "s3://b/2026-01-31/20260131"),
    ("{{ logical_date.strftime('%Y/%m/%d %H:%M') }}", "2026/01/31 05:30"),
    ("{{ ts }}", "2026-01-31T05:30:00+00:00"),
    ("no refs", "no refs"),
    (42, 42),
    ({"k": ["{{ params.n }}", "x{{ params.n }}"], "z": None}, {"k": [5, "x5"], "z": None}),
])
def test_render_fills_references(value: object, expected: object) -> None:
    # GIVEN a value and a run context
    # WHEN it is rendered
    # THEN a string that is one whole reference keeps the value's type; anything else is interpolated as text
    assert template.render(value, CONTEXT) == expected


def test_context_values_keep_the_logical_dates_own_day() -> None:
    # GIVEN a logical date with an offset  THEN ds is that local day, not the UTC one
    values = template.context_values("2026-01-31T23:30:00-02:00")
    assert values == {"logical_date": "2026-01-31T23:30:00-02:00", "ds": "2026-01-31", "ds_nodash": "20260131",
                      "ts": "2026-01-31T23:30:00-02:00"}


@pytest.mark.parametrize(("value", "message"), [
    ("{{ item }}", "'{{ item }}': 'item' is not available here"),
    ("{{ params.missing }}", "'{{ params.missing }}': no 'missing' in {"),
    ("x {{ params.regions[5] }}", "no '5' in [\"eu\", \"us\"]"),
    ("{{ params.n.deeper }}", "no 'deeper' in 5"),
])
def test_render_reports_a_missing_value(value: str, message: str) -> None:
    with pytest.raises(TemplateError) as err:
        template.render(value, CONTEXT)
    assert message in str(err.value)


# ---------------------------------------------------------------- validation of templates in a pipeline

HEAD = """\
name: demo
params:
  env: {type: string, default: dev}
  regions: {type: list, default: [eu]}
  size: {type: int, default: 1}
tasks:
  first:
    glue: {job: j}
  second:
    depends_on: first
    glue: {job: j}
"""  # the task under test starts on line 12: depends_on 13, foreach (if any) 14, lambda.payload.value after
# (a template goes in the payload: one in a field naming a resource may reference only params with allowed values)


def _check(value: str, *, foreach: str | None = None, head: str = HEAD) -> list:
    lines = ["  under_test:", "    depends_on: second"]
    if foreach is not None:
        lines.append(f"    foreach: {{items: {foreach}}}")
    lines += ["    lambda:", "      function: f", f"      payload: {{value: {value}}}"]
    _, problems = load_text(head + "\n".join(lines) + "\n")
    return problems


@pytest.mark.parametrize(("value", "message", "hint"), [
    ("'{{ params.evn }}'", "'{{ params.evn }}': unknown parameter 'evn'", "did you mean 'env'?"),
    ("'{{ params.zzz }}'", "unknown parameter 'zzz'", "declared params: env, regions, size"),
    ("'{{ params }}'", "'{{ params }}': name the parameter, e.g. '{{ params.NAME }}'", None),
    ("'{{ tasks.thrid.output }}'", "'{{ tasks.thrid.output }}': unknown task 'thrid'", None),
    ("'{{ tasks.secnd.output }}'", "unknown task 'secnd'", "did you mean 'second'?"),
    ("'{{ tasks.second }}'", "write tasks.second.output (or tasks.second.output.KEY)", None),
    ("'{{ item }}'", "'{{ item }}': 'item' exists only in a task with 'foreach'", None),
    ("'{{ event.detail.key }}'", "'event' needs the pipeline to have 'triggers'", None),
    ("'{{ dss }}'", "'{{ dss }}': unknown name 'dss'", "did you mean 'ds'?"),
    ("'{{ ds.year }}'", "'{{ ds.year }}': 'ds' has no fields", None),
    ("'{{ params.env '", "unclosed '{{' in '{{ params.env '", None),
    ("'{{ params.env | upper }}'", "'{{ params.env | upper }}' is not a reference", None),
])
def test_bad_references_are_reported_at_the_templated_value(value: str, message: str, hint: str | None) -> None:
    # GIVEN a task whose lambda payload is a bad template
    # WHEN the pipeline is validated
    problems = _check(value)
    # THEN one problem points at that value and line
    assert [(p.path, p.line) for p in problems] == [(("tasks", "under_test", "lambda", "payload", "value"), 16)]
    assert message in problems[0].message
    assert problems[0].hint == hint


def test_a_task_output_must_come_from_upstream() -> None:
    # GIVEN a task reading the output of a task that does not run before it
    text = HEAD + "  other:\n    lambda: {function: f, payload: {value: '{{ tasks.second.output }}'}}\n"
    _, problems = load_text(text)
    # THEN the hint says how to fix it
    assert [(p.path, p.line, p.message, p.hint) for p in problems] == [
        (("tasks", "other", "lambda", "payload", "value"), 13,
         "'{{ tasks.second.output }}': task 'second' is not upstream of this task, so its output may not exist yet",
         "add 'second' to depends_on")]


@pytest.mark.parametrize("value", ["'{{ tasks.first.output.path }}'", "'{{ tasks.second.output }}'",
                                   "'{{ params.env }}-{{ ds }}-{{ run_id }}-{{ attempt }}'",
                                   "\"{{ logical_date.strftime('%Y') }}\""])
def test_valid_references_give_no_problems(value: str) -> None:
    # GIVEN references to params, run values, and upstream tasks (direct or transitive)  THEN all is well
    assert _check(value) == []


def test_item_and_event_are_valid_where_they_exist() -> None:
    assert _check("'{{ item }}'", foreach="'{{ params.regions }}'") == []
    head = HEAD.replace("tasks:\n", "triggers:\n  - event: {pattern: {source: [app]}}\ntasks:\n", 1)
    assert _check("'{{ event.detail }}'", head=head) == []


def test_descriptions_and_conditions_are_not_templates() -> None:
    text = HEAD + "  third:\n    description: '{{ not a template'\n    lambda: {function: f}\n"
    assert load_text(text)[1] == []


@pytest.mark.parametrize(("items", "message", "hint"), [
    ("'{{ params.size }}'", "foreach needs a list parameter", None),
    ("'{{ params.env }}'", "params.env is a string, foreach needs a list parameter", None),
    ("'x-{{ params.regions }}'", "foreach items must be one reference: '{{ params.NAME }}' or "
     "'{{ tasks.NAME.output }}'", "or a YAML list"),
    ("'{{ params.regions }}{{ params.regions }}'", "foreach items must be one reference", "or a YAML list"),
    ("'{{ ds }}'", "foreach items must be one reference", "or a YAML list"),
])
def test_foreach_items_must_be_one_list_reference(items: str, message: str, hint: str | None) -> None:
    # GIVEN a foreach (line 14) over something that is not one list reference
    problems = _check("f", foreach=items)
    # THEN one problem points at foreach.items
    assert [(p.path, p.line, p.hint) for p in problems] == [(("tasks", "under_test", "foreach", "items"), 14, hint)]
    assert message in problems[0].message


@pytest.mark.parametrize("items", ["'{{ params.regions }}'", "'{{ tasks.second.output }}'",
                                   "'{{ tasks.second.output.ids }}'", "[a, b]"])
def test_foreach_over_a_list_param_an_upstream_output_or_a_literal_is_valid(items: str) -> None:
    assert _check("'{{ item }}'", foreach=items) == []


def test_the_depends_on_hint_never_suggests_an_edge_that_makes_a_cycle() -> None:
    # GIVEN a task 'a' reading the output of 'c', which already runs after it (a -> b -> c)
    text = ("name: demo\ntasks:\n  a:\n    lambda: {function: f, payload: {value: '{{ tasks.c.output }}'}}\n"
            "  b: {lambda: {function: f}, depends_on: [a]}\n  c: {lambda: {function: f}, depends_on: [b]}\n"
            "  d:\n    lambda: {function: f, payload: {value: '{{ tasks.d.output }}'}}\n")
    _, problems = load_text(text)
    hints = {p.path[1]: p.hint for p in problems}
    # THEN the hint says why no dependency can be added, with the chain that would become a cycle
    assert hints["a"] == ("no dependency can be suggested: 'c' runs after this task (a -> b -> c), so depending on it "
                          "would make a cycle; read this value in a task downstream of both")
    # AND a task reading its own output is not told to depend on itself
    assert hints["d"] == "a task cannot read its own output; read it in a task that depends on this one"
