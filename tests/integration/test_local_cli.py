"""`sluice run --local` on the command line: exit status, --json, --report, scenarios and bad input."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from sluice.cli import main
from tests.support.pipelines import EXAMPLES

pytestmark = pytest.mark.moto


def sluice(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, [*args, "--dir", str(EXAMPLES)])
    return result.exit_code, result.stdout, result.stderr


def test_a_successful_run_exits_0_and_prints_the_summary_and_the_bill(tmp_path: Path) -> None:
    code, out, _ = sluice("run", "marketing-attribution", "--local", "-p", "lookback_days=7", "--date", "2026-11-27")
    assert code == 0, out
    assert "marketing-attribution: SUCCEEDED" in out and "logical date 2026-11-27T00:00:00Z" in out
    assert "state transitions" in out and "per run" in out and "list prices as of" in out


def test_a_failed_run_exits_1_and_names_the_failing_task_and_its_error(tmp_path: Path) -> None:
    code, out, _ = sluice("run", "daily-sales-etl", "--local", "--fail", "extract_orders")
    assert code == 1
    assert "daily-sales-etl: FAILED" in out
    assert "extract_orders (3 attempt(s)): " in out and "scripted failure of attempt 3" in out


def test_json_and_report_describe_the_same_run(tmp_path: Path) -> None:
    report = tmp_path / "run.html"
    code, out, _ = sluice("run", "daily-sales-etl", "--local", "--json", "--report", str(report),
                          "--fail", "aggregate_sales:1")
    assert code == 0
    result = json.loads(out)
    assert result["status"] == "SUCCEEDED"
    assert [a["status"] for a in result["attempts"] if a["task"] == "aggregate_sales"] == ["FAILED", "SUCCEEDED"]
    html = report.read_text()
    assert result["run_id"] in html and "aggregate_sales" in html


def test_a_scenario_file_scripts_failures_delays_and_messages(tmp_path: Path) -> None:
    scenario = tmp_path / "s.yaml"
    scenario.write_text("tasks:\n  load_warehouse: {fail: always, error: warehouse is read-only, exit_code: 4}\n")
    code, out, _ = sluice("run", "daily-sales-etl", "--local", "--json", "--scenario", str(scenario))
    result = json.loads(out)
    assert code == 1 and result["failed_tasks"] == ["load_warehouse"]
    load = [a for a in result["attempts"] if a["task"] == "load_warehouse"]
    assert len(load) == 5 and all(a["exit_code"] == 4 and "warehouse is read-only" in a["error"] for a in load)


@pytest.mark.parametrize(("args", "message"), [
    (["--fail", "nope"], "--fail nope: error: pipeline 'daily-sales-etl' has no task 'nope'"),
    (["--fail", "extract_orders:x"], "--fail extract_orders:x: N must be a whole number of attempts"),
    (["--delay", "extract_orders"], "--delay takes TASK=SECONDS"),
    (["--delay", "extract_orders=-1"], "--delay extract_orders=-1: seconds must be between 0 and 86400"),
    (["--delay", "extract_orders:soon"], "'soon' is not a number of seconds"),
    (["-p", "shuffle_partitions=many"], "--param shuffle_partitions"),
    (["-p", "nope=1"], "unknown parameter 'nope'"),
    (["--date", "yesterday"], "--date 'yesterday': expected YYYY-MM-DD"),
    (["--fail", "other.task"], "no pipeline 'other' in this run"),
    (["--report", "/no/such/dir/r.html"], "--report /no/such/dir/r.html: cannot write there"),
    (["--timeout", "0"], "--timeout"),
    (["--timeout", "nan"], "--timeout nan: give a number of seconds"),
])
def test_bad_input_exits_2_with_a_message_saying_what_and_where(args: list[str], message: str) -> None:
    code, _, err = sluice("run", "daily-sales-etl", "--local", *args)
    assert code == 2 and message in err, err


def test_a_bad_scenario_file_is_reported_with_its_location(tmp_path: Path) -> None:
    scenario = tmp_path / "bad.yaml"
    scenario.write_text("tasks:\n  extract_orders: {fail: sometimes}\n")
    code, _, err = sluice("run", "daily-sales-etl", "--local", "--scenario", str(scenario))
    assert code == 2 and f"{scenario}:2: tasks.extract_orders.fail: error: " in err and "or 'always'" in err
    scenario.write_text("tasks: [unclosed\n")
    code, _, err = sluice("run", "daily-sales-etl", "--local", "--scenario", str(scenario))
    assert code == 2 and f"{scenario}:" in err and "not valid YAML" in err


def test_without_local_the_command_says_what_to_do() -> None:
    code, _, err = sluice("run", "daily-sales-etl")
    assert code == 2 and "--local" in err


def test_an_unknown_pipeline_exits_2() -> None:
    code, _, err = sluice("run", "no-such-pipeline", "--local")
    assert code == 2 and "no pipeline named 'no-such-pipeline'" in err


def test_a_logical_date_keeps_its_offset_so_its_day_is_its_own() -> None:
    code, out, _ = sluice("run", "marketing-attribution", "--local", "--json", "--date", "2026-11-27T02:30:00+05:00")
    assert code == 0 and json.loads(out)["logical_date"] == "2026-11-27T02:30:00+05:00"
