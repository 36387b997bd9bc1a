"""Enormous, deeply nested, aliased and otherwise odd pipeline files: the validator must answer each with located
problems (tests/unit/test_valid_pipelines_fuzz.py); bench/validate.py times them against PyYAML alone."""

from __future__ import annotations


def chain(n: int) -> str:
    lines = ["name: big", "tasks:", "  t0: {lambda: {function: f}}"]
    lines += [f"  t{i}: {{depends_on: t{i - 1}, lambda: {{function: f}}}}" for i in range(1, n)]
    return "\n".join(lines) + "\n"


def alias_bomb() -> str:
    lines = ['name: bomb', 'a0: &a0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    lines += [f"a{i}: &a{i} [*a{i - 1}, *a{i - 1}, *a{i - 1}, *a{i - 1}, *a{i - 1}, *a{i - 1}, *a{i - 1}, "
              f"*a{i - 1}, *a{i - 1}]" for i in range(1, 9)]
    return "\n".join([*lines, "tasks: {t: {lambda: {function: f}}}"]) + "\n"


HUGE = {
    "a few MB of description": "name: huge\ndescription: '" + "x" * 3_000_000
                               + "'\ntasks: {t: {lambda: {function: f}}}\n",
    "a few MB of tasks": chain(60_000),
    "2,000 chained tasks": chain(2_000),
    "a 200,000-deep flow list": "name: deep\ntasks: {t: {lambda: {function: f, payload: {x: " + "[" * 200_000 + "]"
                                * 200_000 + "}}}}\n",
    "a 5,000-deep block mapping": "name: deep\ntasks:\n  t:\n    lambda:\n      function: f\n      payload:\n"
                                  + "".join(" " * (8 + 2 * i) + f"k{i}:\n" for i in range(5_000))
                                  + " " * 10_008 + "x: 1\n",
    "an alias bomb": alias_bomb(),
    "150,000 list items": "name: wide\ntasks: {t: {lambda: {function: f, payload: {x: [" + "1," * 150_000 + "1]}}}}\n",
    "a 100,000-character task name": "name: n\ntasks:\n  " + "t" * 100_000 + ": {lambda: {function: f}}\n",
    "a condition nested 10,000 deep": "name: cond\nparams: {x: {type: bool, default: true}}\ntasks:\n  t:\n"
                                     "    when: '" + "(" * 10_000 + "params.x" + ")" * 10_000 + "'\n"
                                     "    lambda: {function: f}\n",
    "a 10,000-term condition": "name: cond\nparams: {x: {type: bool, default: true}}\ntasks:\n  t:\n    when: '"
                               + " and ".join(["params.x"] * 10_000) + "'\n    lambda: {function: f}\n",
    "unicode everywhere": "name: ünï\ntasks:\n  tâche: {lambda: {function: «f»}}\n  任务: {depends_on: tâche, "
                          "glue: {job: ✓}}\n",
}
