"""Validation: every rule reports one clear Problem at the right YAML path and line; valid pipelines report none."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from sluice.cli import main
from sluice.spec import load_paths, load_text, yaml_source
from sluice.spec.kinds import KINDS

ROOT = Path(__file__).resolve().parents[2]
BAD = ROOT / "tests" / "data" / "bad"
GLUE = "glue: {job: j}"
LINE = re.compile(r"^(?P<file>[^:]+):(?P<line>\d+): (?:(?P<path>\S+): )?error: (?P<message>.+)$")


def task(*lines: str) -> str:
    """A pipeline whose only task 'a' has these lines; the first is line 4."""
    return "name: demo\ntasks:\n  a:\n" + "".join(f"    {line}\n" for line in lines)


def top(*lines: str) -> str:
    """A pipeline with these top-level lines from line 2, then one valid task."""
    return "name: demo\n" + "".join(f"{line}\n" for line in lines) + f"tasks:\n  a:\n    {GLUE}\n"


VALID = """\
name: everything-valid
params:
  env: {type: string, default: dev, allowed: [dev, prod]}
  regions: {type: list, default: [eu, us]}
  full: {type: bool, default: false}
schedules:
  - {cron: "0 5 ? * MON-FRI *", timezone: Europe/Berlin, start: 2026-01-01, end: 2027-01-01}
  - {rate: 15 minutes, params: {env: prod}}
triggers:
  - s3: {bucket: acme-drop.zone, prefix: in/}
  - event: {pattern: {source: [acme.app], detail-type: [done]}}
defaults: {retry: {max_attempts: 3, interval: 1m}, timeout: 2h, heartbeat: 10m}
tasks:
  extract: {glue: {job: "x-{{ params.env }}", arguments: {date: "{{ ds }}", src: "{{ event.detail.key }}"}}}
  spark: {depends_on: extract, emr: {cluster_id: j-1, jar: command-runner.jar, args: ["{{ ds_nodash }}"]}}
  serverless:
    depends_on: [spark]
    when: params.env == 'prod' and not params.full
    emr_serverless: {application_id: app, execution_role_arn: "arn:aws:iam::123456789012:role/r", entry_point: s3://b/m.py}
  per_region:
    depends_on: serverless
    foreach: {items: "{{ params.regions }}", max_concurrency: 2}
    ecs: {cluster: c, task_definition: t, container: app, command: ["{{ item }}", "{{ tasks.extract.output.path }}"],
          network: {subnets: [s-1], security_groups: [sg-1]}}
  notify: {depends_on: per_region, trigger_rule: all_done, timeout: 5m, heartbeat: 1m, lambda: {function: f}}
"""


def test_a_valid_pipeline_has_no_problems() -> None:
    # GIVEN a pipeline that uses every section and every kind but 'pipeline'
    # WHEN it is validated
    pipeline, problems = load_text(VALID, "valid.yaml")
    # THEN there are no problems and durations are normalised to seconds
    assert problems == []
    assert pipeline is not None and pipeline.timeout_of("spark") == 7200 and pipeline.heartbeat_of("notify") == 60


def test_the_example_pipelines_are_valid() -> None:
    # GIVEN the examples in pipelines/  WHEN they are loaded together  THEN no error is reported, only that the
    # 02:30 Berlin schedule of daily-sales-etl is skipped when clocks go forward (docs/pipelines.md)
    loaded = load_paths([ROOT / "pipelines"])
    assert [(Path(p.file).name, p.path, p.severity) for p in loaded.problems] == [
        ("daily-sales-etl.yaml", ("schedules", 0, "cron"), "warning")] and len(loaded.pipelines) == 3


RULES = [
    # unknown keys, each with a "did you mean" hint
    ("top-level key", top("taks: {}"), ("taks",), 2, "unknown key 'taks'", "did you mean 'tasks'?"),
    ("task key", task("dependson: []", GLUE), ("tasks", "a", "dependson"), 4, "unknown key", "'depends_on'"),
    ("glue key", task("glue:", "  job: j", "  worker: 2"), ("tasks", "a", "glue", "worker"), 6, "'worker'",
     "did you mean 'workers'?"),
    ("retry key", task("retry:", "  max_attempt: 3", GLUE), ("tasks", "a", "retry", "max_attempt"), 5,
     "unknown key 'max_attempt'", "did you mean 'max_attempts'?"),
    ("schedule key", top("schedules:", "  - rate: 1 hour", "    timezon: UTC"), ("schedules", 0, "timezon"), 4,
     "unknown key 'timezon'", "did you mean 'timezone'?"),
    # kind blocks
    ("unknown kind", task("spark:", "  job: j"), ("tasks", "a", "spark"), 4, "unknown key 'spark'",
     ", ".join(KINDS)),
    ("no kind", task("description: nothing to run"), ("tasks", "a"), 3, "a task needs one kind block: glue", None),
    ("two kinds", task(GLUE, "lambda: {function: f}"), ("tasks", "a"), 3, "this one has glue and lambda", None),
    ("partial function ARN", task("lambda: {function: '123456789012:function:f'}"),
     ("tasks", "a", "lambda", "function"), 4,
     "'123456789012:function:f' is not a function Sluice can grant and listen to: use a name", None),
    # schedules
    ("cron field count", top("schedules:", "  - cron: '0 5 * *'"), ("schedules", 0, "cron"), 3,
     "cron expression '0 5 * *' has 4 fields", None),
    ("cron minutes", top("schedules:", "  - cron: '61 5 * * ? *'"), ("schedules", 0, "cron"), 3,
     "minutes field '61': values must be 0-59", None),
    ("cron hours", top("schedules:", "  - cron: '0 24 * * *'"), ("schedules", 0, "cron"), 3, "values must be 0-23",
     None),
    ("rate unit", top("schedules:", "  - rate: 5 fortnights"), ("schedules", 0, "rate"), 3,
     "unit 'fortnights' is not valid", None),
    ("rate zero", top("schedules:", "  - rate: 0 minutes"), ("schedules", 0, "rate"), 3, "must be 1 or more", None),
    ("time zone", top("schedules:", "  - rate: 1 hour", "    timezone: Mars/Olympus"), ("schedules", 0, "timezone"),
     4, "'Mars/Olympus' is not an IANA time zone", None),
    ("cron and rate", top("schedules:", "  - cron: '0 5 * * *'", "    rate: 1 hour"), ("schedules", 0), 3,
     "exactly one of 'cron' or 'rate'", None),
    ("end before start", top("schedules:", "  - rate: 1 hour", "    start: 2026-02-01", "    end: 2026-01-01"),
     ("schedules", 0), 3, "'end' (2026-01-01) must be after 'start' (2026-02-01)", None),
    # durations
    ("duration words", top("timeout: 10 minutes"), ("timeout",), 2, "'10 minutes' is not a duration; write seconds "
     "(300) or '90s', '10m', '1h30m', '2d'", None),
    ("duration negative", task("timeout: -5", GLUE), ("tasks", "a", "timeout"), 4, "at least 1 second", None),
    ("duration bool", task("heartbeat: true", GLUE), ("tasks", "a", "heartbeat"), 4, "number of seconds", None),
    ("duration in retry", task("retry: {interval: 1.5}", GLUE), ("tasks", "a", "retry", "interval"), 4,
     "'1.5' is not a duration", None),
    ("heartbeat = timeout", task("timeout: 10m", "heartbeat: 600", GLUE), ("tasks", "a", "heartbeat"), 5,
     "heartbeat (600s) must be shorter than timeout (600s)", "HeartbeatSeconds"),
    ("heartbeat from defaults", f"name: demo\ndefaults: {{heartbeat: 30m}}\ntasks:\n  a:\n    timeout: 10m\n    {GLUE}",
     ("tasks", "a", "timeout"), 5, "heartbeat (1800s, from defaults) must be shorter than timeout (600s)", None),
    ("defaults heartbeat", top("defaults:", "  heartbeat: 13h"), ("defaults", "heartbeat"), 3,
     "heartbeat (46800s) must be shorter than timeout (43200s, the built-in default)", None),
    # names
    ("name uppercase", "name: Sales\ntasks: {a: {glue: {job: j}}}", ("name",), 1, "'Sales' is not a valid pipeline "
     "name: use 2-48 lowercase letters", None),
    ("name underscore", "name: sales_etl\ntasks: {a: {glue: {job: j}}}", ("name",), 1, "'sales_etl'", None),
    ("name too long", f"name: {'a' * 49}\ntasks: {{a: {{glue: {{job: j}}}}}}", ("name",), 1, "2-48", None),
    ("task digit", "name: demo\ntasks:\n  1load: {glue: {job: j}}", ("tasks", "1load"), 3,
     "'1load' is not a valid task name: use up to 64 letters", None),
    ("task dot", "name: demo\ntasks:\n  load.x: {glue: {job: j}}", ("tasks", "load.x"), 3, "not a valid task", None),
    ("task space", "name: demo\ntasks:\n  load x: {glue: {job: j}}", ("tasks", "load x"), 3, "not a valid task", None),
    # kind-specific rules
    ("fargate without network", task("ecs: {cluster: c, task_definition: t}"), ("tasks", "a", "ecs"), 4,
     "FARGATE tasks need 'network'", None),
    ("ecs command without container", task("ecs: {cluster: c, task_definition: t, launch_type: EC2, command: [x]}"),
     ("tasks", "a", "ecs"), 4, "name it with 'container'", None),
    ("emr both forms", task("emr: {cluster_id: j-1, spark_submit: [a.py], jar: x.jar}"), ("tasks", "a", "emr"), 4,
     "exactly one of 'spark_submit'", None),
    ("emr neither form", task("emr: {cluster_id: j-1}"), ("tasks", "a", "emr"), 4, "or 'jar'", None),
    ("emr serverless role", task("emr_serverless:", "  application_id: app", "  entry_point: s3://b/m.py",
                                 "  execution_role_arn: arn:aws:iam::123:role/r"),
     ("tasks", "a", "emr_serverless", "execution_role_arn"), 7, "'arn:aws:iam::123:role/r' does not match", None),
    ("s3 bucket uppercase", top("triggers:", "  - s3: {bucket: My_Bucket}"), ("triggers", 0, "s3", "bucket"), 3,
     "'My_Bucket' does not match the pattern", None),
    ("s3 bucket too short", top("triggers:", "  - s3: {bucket: ab}"), ("triggers", 0, "s3", "bucket"), 3, "'ab'",
     None),
    ("event pattern field", top("triggers:", "  - event: {pattern: {sauce: [x]}}"),
     ("triggers", 0, "event", "pattern"), 3, "unknown event pattern field(s) ['sauce']; valid: ['account'", None),
    ("trigger with both", top("triggers:", "  - s3: {bucket: abc}", "    event: {pattern: {source: [x]}}"),
     ("triggers", 0), 3, "exactly one of 's3' or 'event'", None),
]


@pytest.mark.parametrize(("text", "path", "line", "message", "hint"), [pytest.param(*r[1:], id=r[0]) for r in RULES])
def test_each_rule_reports_one_problem_at_its_path_and_line(text, path, line, message, hint) -> None:
    # GIVEN a pipeline with exactly one mistake
    # WHEN it is validated
    pipeline, problems = load_text(text, "p.yaml")
    # THEN there is no pipeline and exactly one problem, at the mistake's path and line, saying what is wrong
    assert pipeline is None
    assert len(problems) == 1, problems
    problem = problems[0]
    assert (problem.file, problem.path, problem.line, problem.severity) == ("p.yaml", path, line, "error")
    assert message in problem.message
    assert hint is None or hint in (problem.hint or "")


@pytest.mark.parametrize(("deps", "index", "message", "hint"), [
    ("[ectract]", 0, "unknown task 'ectract' in depends_on", "did you mean 'extract'?"),
    ("[zzz]", 0, "unknown task 'zzz' in depends_on", "tasks are: extract, load"),
    ("[load]", 0, "task 'load' depends on itself", "remove it from its own depends_on"),
    ("[extract, extract]", 1, "'extract' is listed twice in depends_on", None),
])
def test_bad_dependencies_are_reported_at_the_list_item(deps: str, index: int, message: str, hint: str) -> None:
    # GIVEN a task whose depends_on names a missing task, itself, or a task twice
    text = f"name: demo\ntasks:\n  extract: {{{GLUE}}}\n  load:\n    depends_on: {deps}\n    {GLUE}\n"
    # WHEN it is validated
    _, problems = load_text(text)
    # THEN one problem points at that item of depends_on (a self-dependency is not also reported as a cycle)
    assert [(p.path, p.line, p.message, p.hint) for p in problems] == [
        (("tasks", "load", "depends_on", index), 5, message, hint)]


def test_a_cycle_is_reported_once_with_its_path() -> None:
    # GIVEN a -> b -> c -> a
    _, problems = load_text((BAD / "cycle.yaml").read_text(), "cycle.yaml")
    # THEN one problem prints the whole cycle and points at the first task's depends_on
    assert [(p.path, p.line, p.message) for p in problems] == [
        (("tasks", "a", "depends_on"), 5, "dependency cycle: a -> b -> c -> a")]


@pytest.mark.parametrize(("text", "path", "line", "first_line"), [
    ("name: demo\nname: other\ntasks: {a: {glue: {job: j}}}\n", ("name",), 2, 1),
    ((BAD / "duplicate_keys.yaml").read_text(), ("tasks", "load"), 6, 4),
    (task("lambda:", "  function: f", "  payload:", "    x: 1", "    x: 2"), ("tasks", "a", "lambda", "payload", "x"),
     8, 7),
])
def test_duplicate_keys_are_errors_naming_both_lines(text: str, path: tuple, line: int, first_line: int) -> None:
    # GIVEN a mapping with the same key twice (PyYAML would silently keep the last)
    pipeline, problems = load_text(text)
    # THEN the second key is reported, naming the first one's line, and no pipeline is produced
    assert pipeline is None
    assert [(p.path, p.line) for p in problems] == [(path, line)]
    assert f"duplicate key '{path[-1]}' (first at line {first_line})" in problems[0].message


@pytest.mark.parametrize(("name", "message", "line"), [
    ("not_a_mapping.yaml", "a pipeline file is a mapping with at least 'name' and 'tasks'", 2),
    ("empty.yaml", "file is empty; a pipeline file holds exactly one YAML document", None),
    ("two_documents.yaml", "file holds 2 documents", 6),
    ("invalid_syntax.yaml", "not valid YAML: expected ',' or '}', but got ':'", 5),
    ("impossible_date.yaml", "'2026-02-30' is not a valid timestamp (day is out of range for month)", 5),
    ("alias_bomb.yaml", "document has more than 200,000 nodes (alias expansion?)", 3),
])
def test_files_that_are_not_one_yaml_mapping_are_rejected_cleanly(name: str, message: str, line: int | None) -> None:
    # GIVEN a file that cannot be read as one pipeline mapping
    # WHEN it is validated
    pipeline, problems = load_text((BAD / name).read_text(), name)
    # THEN one document-level problem says why, with its line (the alias bomb is cut at the node limit, not
    # expanded; how long each takes: bench/validate.py)
    assert pipeline is None
    assert [(p.path, p.line) for p in problems] == [((), line)]
    assert message in problems[0].message


def test_a_file_over_one_megabyte_is_rejected_before_parsing(monkeypatch: pytest.MonkeyPatch) -> None:
    # GIVEN 1.2 MB of YAML, and a YAML parser that must not be reached
    text = "name: demo\ntasks:\n  a:\n    lambda:\n      function: f\n      payload:\n" + "        k: v\n" * 100_000

    def not_parsed(*args: object, **kwargs: object) -> None:
        raise AssertionError("a file over the limit was parsed")

    monkeypatch.setattr(yaml_source.yaml, "compose_all", not_parsed)
    # WHEN it is validated  THEN it is refused before parsing, with a hint
    _, problems = load_text(text)
    assert [(p.message, p.hint) for p in problems] == [("file is larger than 1,000,000 bytes", "split the pipeline")]


def test_every_problem_in_a_file_is_reported_at_once() -> None:
    # GIVEN a file with six unrelated mistakes
    _, problems = load_text((BAD / "many_errors.yaml").read_text())
    # THEN all six are reported, in line order
    assert [p.path for p in problems] == [("name",), ("params", "limit"), ("schedules", 0, "cron"),
                                          ("schedules", 0, "timezone"), ("tasks", "extract", "timeout"),
                                          ("tasks", "extract", "depends_on", 0), ("tasks", "load", "ecs")]
    assert [p.line for p in problems] == [2, 4, 6, 7, 10, 11, 14]


def _write(directory: Path, name: str, text: str) -> Path:
    path = directory / f"{name}.yaml"
    path.write_text(text)
    return path


def test_pipeline_names_are_unique_across_files(tmp_path: Path) -> None:
    # GIVEN two files that both say 'name: twin'
    for name in ("a", "b"):
        _write(tmp_path, name, "# a comment first\nname: twin\ntasks: {a: {glue: {job: j}}}\n")
    # WHEN the directory is loaded
    loaded = load_paths([tmp_path])
    # THEN the second file is reported at its 'name' line and the first is kept
    assert [(p.file, p.path, p.line, p.message) for p in loaded.problems] == [
        (str(tmp_path / "b.yaml"), ("name",), 2, f"pipeline name 'twin' is also used by {tmp_path / 'a.yaml'}")]
    assert loaded.files == {"twin": str(tmp_path / "a.yaml")}


@pytest.mark.parametrize(("child", "path", "line", "message"), [
    ("{name: missing}", ("tasks", "start", "pipeline", "name"), 4,
     "child pipeline 'missing' is not defined in any file"),
    ("{name: child, params: {colour: red}}", ("tasks", "start", "pipeline", "params"), 4,
     "'child' has no parameter(s) ['colour']"),
    ("{name: parent}", ("tasks", "start", "pipeline", "name"), 4, "pipelines start each other in a loop: "
     "parent -> parent"),
])
def test_child_pipelines_must_exist_take_known_params_and_not_loop(tmp_path, child, path, line, message) -> None:
    # GIVEN a parent whose 'pipeline:' task names a missing pipeline, an unknown param, or the parent itself
    _write(tmp_path, "child", "name: child\nparams: {size: {type: int, default: 1}}\ntasks: {a: {glue: {job: j}}}\n")
    _write(tmp_path, "parent", f"name: parent\ntasks:\n  start:\n    pipeline: {child}\n")
    # WHEN both files are loaded  THEN the parent's task is reported with its line
    assert [(p.path, p.line, p.message) for p in load_paths([tmp_path]).problems] == [(path, line, message)]


def test_two_pipelines_that_start_each_other_are_a_loop(tmp_path: Path) -> None:
    # GIVEN ping starts pong and pong starts ping
    _write(tmp_path, "ping", "name: ping\ntasks:\n  go:\n    pipeline: {name: pong}\n")
    _write(tmp_path, "pong", "name: pong\ntasks:\n  go:\n    pipeline: {name: ping}\n")
    # WHEN they are loaded  THEN each file reports the loop as seen from it
    problems = load_paths([tmp_path]).problems
    assert [(Path(p.file).name, p.line, p.message) for p in problems] == [
        ("ping.yaml", 4, "pipelines start each other in a loop: ping -> pong -> ping"),
        ("pong.yaml", 4, "pipelines start each other in a loop: pong -> ping -> pong")]


def test_cli_validate_exits_0_on_the_examples() -> None:
    result = CliRunner().invoke(main, ["validate", str(ROOT / "pipelines")])
    assert result.exit_code == 0 and ": error: " not in result.stderr
    assert "3 file(s), 3 valid pipeline(s): OK (1 warning(s))" in result.stdout


@pytest.mark.parametrize("name", sorted(p.name for p in BAD.glob("*.yaml")))
def test_cli_validate_reports_bad_files_without_a_traceback(name: str) -> None:
    # GIVEN one of the bad files
    # WHEN `sluice validate` runs on it
    result = CliRunner().invoke(main, ["validate", str(BAD / name)])
    # THEN it exits 2, every stderr line is 'file:line: path: error: message', and no exception escaped
    assert result.exit_code == 2, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert "Traceback" not in result.output
    lines = result.stderr.splitlines()
    assert lines
    for line in lines:
        match = LINE.match(line) or re.match(r"^(?P<file>[^:]+): error: (?P<message>.+)$", line)
        assert match and match["file"] == str(BAD / name), line
    if name != "empty.yaml":  # an empty file has no line to point at
        assert all(LINE.match(line) for line in lines), lines


def test_cli_validate_prints_the_path_of_each_problem() -> None:
    result = CliRunner().invoke(main, ["validate", str(BAD / "unknown_keys.yaml")])
    assert result.stderr.splitlines() == [
        f"{BAD / 'unknown_keys.yaml'}:3: taks: error: unknown key 'taks' (did you mean 'tasks'?)",
        f"{BAD / 'unknown_keys.yaml'}:6: tasks.extract.dependson: error: unknown key 'dependson' "
        "(did you mean 'depends_on'?)",
        f"{BAD / 'unknown_keys.yaml'}:9: tasks.extract.glue.worker: error: unknown key 'worker' "
        "(did you mean 'workers'?)"]


def test_a_pipeline_without_tasks_says_so() -> None:
    # GIVEN an empty tasks mapping  WHEN validated  THEN the message says what is needed, not pydantic's words
    _, problems = load_text("name: empty\ntasks: {}\n", "empty.yaml")
    assert [(p.path, p.line, p.message) for p in problems] == [(("tasks",), 2, "a pipeline needs at least one task")]


@pytest.mark.parametrize(("task", "path", "message"), [
    ("{glue: {job: 5}}", "tasks.t.glue.job", "expected a string, not 5"),
    ("{glue: {job: j, workers: many}}", "tasks.t.glue.workers", "expected a whole number, not 'many'"),
    ("{glue: {job: j, workers: -1}}", "tasks.t.glue.workers", "expected at least 1, not -1"),
    ("{glue: {job: j}, depends_on: 5}", "tasks.t.depends_on", "expected a list, not 5"),
    ("{glue: {job: j}, retry: {jitter: maybe}}", "tasks.t.retry.jitter", "expected true or false, not 'maybe'"),
    ("{glue: {job: j}, trigger_rule: sometimes}", "tasks.t.trigger_rule",
     "expected 'all_success', 'all_done' or 'one_failed', not 'sometimes'"),
])
def test_type_errors_are_worded_like_the_other_messages_not_pydantics(task: str, path: str, message: str) -> None:
    # GIVEN a value of the wrong type or range  WHEN validated
    _, problems = load_text(f"name: demo\ntasks:\n  t: {task}\n", "f.yaml")
    # THEN the message says what was expected and what was written, not "Input should be a valid ..."
    assert [(".".join(map(str, p.path)), p.message) for p in problems] == [(path, message)]
    assert not any("Input should" in str(p) for p in problems)


@pytest.mark.parametrize(("zone", "meant"), [("Europe/Berln", "Europe/Berlin"), ("europe/berlin", "Europe/Berlin"),
                                             ("New York", "America/New_York")])
def test_a_misspelt_time_zone_gets_a_did_you_mean(zone: str, meant: str) -> None:
    # GIVEN a schedule whose time zone is misspelt, miscased or only a city  WHEN validated
    _, problems = load_text(f"name: demo\nschedules:\n  - rate: 1 hour\n    timezone: {zone}\n"
                            "tasks:\n  a: {glue: {job: j}}\n", "f.yaml")
    # THEN the closest IANA zone is named
    assert [(p.path, p.message) for p in problems] == [
        (("schedules", 0, "timezone"), f"'{zone}' is not an IANA time zone (did you mean '{meant}'?)")]
