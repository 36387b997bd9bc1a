"""`when` conditions: parsing and type checks, the ASL Choice rules they compile to, and local evaluation."""

from __future__ import annotations

import pytest

from sluice import condition
from sluice.asl_eval import choice_matches
from sluice.condition import ConditionError
from sluice.spec import load_text

TYPES = {"env": "string", "n": "int", "ratio": "number", "full": "bool", "day": "date", "regions": "list"}


def _var(name: str) -> str:
    return f"$.params.{name}"


@pytest.mark.parametrize(("text", "parsed", "rule"), [
    ("params.env == 'prod'", ("cmp", "env", "==", "prod"), {"Variable": _var("env"), "StringEquals": "prod"}),
    ("params.env != 'prod'", ("cmp", "env", "!=", "prod"),
     {"Not": {"Variable": _var("env"), "StringEquals": "prod"}}),
    ("params.n < 10", ("cmp", "n", "<", 10), {"Variable": _var("n"), "NumericLessThan": 10}),
    ("params.n >= -3", ("cmp", "n", ">=", -3), {"Variable": _var("n"), "NumericGreaterThanEquals": -3}),
    ("params.ratio <= 0.5", ("cmp", "ratio", "<=", 0.5), {"Variable": _var("ratio"), "NumericLessThanEquals": 0.5}),
    ("10 < params.n", ("cmp", "n", ">", 10), {"Variable": _var("n"), "NumericGreaterThan": 10}),
    ("'prod' == params.env", ("cmp", "env", "==", "prod"), {"Variable": _var("env"), "StringEquals": "prod"}),
    ("params.day < '2026-02-01'", ("cmp", "day", "<", "2026-02-01"),
     {"Variable": _var("day"), "StringLessThan": "2026-02-01"}),
    ("params.full", ("truthy", "full"), {"Variable": _var("full"), "BooleanEquals": True}),
    ("params.full == false", ("cmp", "full", "==", False), {"Variable": _var("full"), "BooleanEquals": False}),
    ("params.full != True", ("cmp", "full", "!=", True),
     {"Not": {"Variable": _var("full"), "BooleanEquals": True}}),
    ("params.env in ['dev', 'test']", ("or", [("cmp", "env", "==", "dev"), ("cmp", "env", "==", "test")]),
     {"Or": [{"Variable": _var("env"), "StringEquals": "dev"}, {"Variable": _var("env"), "StringEquals": "test"}]}),
    ("params.n not in (1, 2)", ("not", ("or", [("cmp", "n", "==", 1), ("cmp", "n", "==", 2)])),
     {"Not": {"Or": [{"Variable": _var("n"), "NumericEquals": 1}, {"Variable": _var("n"), "NumericEquals": 2}]}}),
    ("not params.full", ("not", ("truthy", "full")), {"Not": {"Variable": _var("full"), "BooleanEquals": True}}),
    ("params.env == 'prod' and params.n > 3 and params.full",
     ("and", [("cmp", "env", "==", "prod"), ("cmp", "n", ">", 3), ("truthy", "full")]),
     {"And": [{"Variable": _var("env"), "StringEquals": "prod"}, {"Variable": _var("n"), "NumericGreaterThan": 3},
              {"Variable": _var("full"), "BooleanEquals": True}]}),
    ("params.full or (params.n == 1 and not params.env == 'x')",
     ("or", [("truthy", "full"), ("and", [("cmp", "n", "==", 1), ("not", ("cmp", "env", "==", "x"))])]),
     {"Or": [{"Variable": _var("full"), "BooleanEquals": True},
             {"And": [{"Variable": _var("n"), "NumericEquals": 1},
                      {"Not": {"Variable": _var("env"), "StringEquals": "x"}}]}]}),
])
def test_conditions_parse_and_compile_to_exact_choice_rules(text: str, parsed: tuple, rule: dict) -> None:
    # GIVEN a condition on typed params
    # WHEN it is parsed and compiled
    cond = condition.parse(text, TYPES)
    # THEN the parsed form and the ASL Choice rule are exactly as expected
    assert cond == parsed
    assert condition.to_choice_rule(cond, TYPES) == rule


RUNS = [
    {"env": "prod", "n": 5, "ratio": 0.5, "full": True, "day": "2026-01-31"},
    {"env": "dev", "n": 1, "ratio": 0.9, "full": False, "day": "2026-02-01"},
    {"env": "test", "n": 2, "ratio": 0.1, "full": False, "day": "2025-12-31"},
]


@pytest.mark.parametrize(("text", "expected"), [
    ("params.env == 'prod'", [True, False, False]),
    ("params.env != 'prod'", [False, True, True]),
    ("params.n < 2", [False, True, False]),
    ("params.ratio >= 0.5", [True, True, False]),
    ("params.full", [True, False, False]),
    ("not params.full", [False, True, True]),
    ("params.full == false", [False, True, True]),
    ("params.env in ['dev', 'test']", [False, True, True]),
    ("params.n not in [1, 2]", [True, False, False]),
    ("params.day < '2026-02-01'", [True, False, True]),
    ("params.env == 'dev' or params.n > 4", [True, True, False]),
    ("params.env != 'prod' and not params.n == 2", [False, True, False]),
])
def test_evaluate_agrees_with_the_compiled_choice_rule(text: str, expected: list[bool]) -> None:
    # GIVEN a condition and three runs' params
    cond = condition.parse(text, TYPES)
    rule = condition.to_choice_rule(cond, TYPES)
    # WHEN it is evaluated locally and as ASL  THEN both give the expected outcome for every run
    assert [condition.evaluate(cond, params) for params in RUNS] == expected
    assert [choice_matches(rule, {"params": params}, {}) for params in RUNS] == expected


@pytest.mark.parametrize(("text", "message"), [
    ("params.nn == 1", "'params.nn == 1': unknown parameter 'nn'; declared: ['day', 'env', 'full', 'n'"),
    ("params.n == 'ten'", "'ten' does not fit an int parameter"),
    ("params.env == 3", "3 does not fit a string parameter"),
    ("params.n == true", "True does not fit an int parameter"),
    ("params.full == 1", "1 does not fit a bool parameter"),
    ("params.day == 'tomorrow'", "'tomorrow' is not a date; write 'YYYY-MM-DD'"),
    ("params.day < '2026-02-30'", "'2026-02-30' is not a date"),
    ("params.env", "params.env is a string; compare it, e.g. params.env == ..."),
    ("not params.n", "params.n is an int; compare it"),
    ("params.full < true", "booleans compare with == or != only"),
    ("params.regions == 'eu'", "list params cannot be compared in a condition"),
    ("len(params.env) > 2", "one side of a comparison must be params.NAME"),
    ("upper(params.env)", "use params.NAME, literals, comparisons, and, or, not"),
    ("params.n + 1 == 2", "one side of a comparison must be params.NAME"),
    ("params.n == 1 + 1", "compare with a literal (string, number, true/false)"),
    ("params.env == -'x'", "compare with a literal"),
    ("params.n == params.n", "compare with a literal"),
    ("1 < params.n < 5", "compare one pair at a time"),
    ("params.env is None", "compare one pair at a time"),
    ("params.env in 'dev'", "'in' takes a literal list, e.g. params.env in ['dev', 'test']"),
    ("params.env in []", "'in' needs at least one value in its list"),
    ("params.env.lower == 'x'", "one side of a comparison must be params.NAME"),
    ("env == 'prod'", "one side of a comparison must be params.NAME"),
    ("params.env = 'prod'", "is not a condition: invalid syntax"),
    ("", "is not a condition"),
    ("params.full\0", "contains a NUL character"),
    ("not " * 5000 + "params.full", "is nested too deeply to be a condition"),
])
def test_invalid_conditions_raise_a_clear_error(text: str, message: str) -> None:
    # GIVEN a condition that is unknown, mistyped or unsupported
    # WHEN it is parsed  THEN ConditionError (never another exception) says what is wrong
    with pytest.raises(ConditionError) as err:
        condition.parse(text, TYPES)
    assert message in str(err.value)


@pytest.mark.parametrize("text", ["(" * 10_000 + "params.full" + ")" * 10_000, "params.env = " + "'x' " * 5_000])
def test_a_long_broken_condition_is_quoted_by_its_start_and_length(text: str) -> None:
    # GIVEN a 20,000-character condition that does not parse WHEN it is parsed THEN the message quotes its first
    # characters and says how long it is, instead of echoing all of it
    with pytest.raises(ConditionError) as err:
        condition.parse(text, TYPES)
    assert str(err.value).startswith(f"'{text[:80]}...' ({len(text):,} characters) ") and len(str(err.value)) < 200


PIPELINE = """\
name: demo
params:
  batch: {type: int, default: 100}
  label: {type: string, default: x}
  dry_run: {type: bool, default: false}
tasks:
  first:
    when: WHEN
    glue: {job: j}
"""


@pytest.mark.parametrize(("when", "message"), [
    ("params.batch_size > 10", "unknown parameter 'batch_size'; declared: ['batch', 'dry_run', 'label']"),
    ("params.batch == 'big'", "'big' does not fit an int parameter"),
    ("params.label", "params.label is a string; compare it"),
    ("len(params.label) > 2", "one side of a comparison must be params.NAME"),
    ("params.batch * 2 > 10", "one side of a comparison must be params.NAME"),
])
def test_a_bad_when_is_reported_at_the_task_when_key(when: str, message: str) -> None:
    # GIVEN a task whose `when` (line 8) is invalid
    pipeline, problems = load_text(PIPELINE.replace("WHEN", when))
    # THEN one problem points at tasks.first.when, line 8
    assert pipeline is None
    assert [(p.path, p.line) for p in problems] == [(("tasks", "first", "when"), 8)]
    assert message in problems[0].message


def test_a_valid_when_gives_no_problems() -> None:
    pipeline, problems = load_text(PIPELINE.replace("WHEN", "not params.dry_run and params.batch >= 10"))
    assert problems == [] and pipeline is not None
    assert pipeline.tasks["first"].when == "not params.dry_run and params.batch >= 10"
