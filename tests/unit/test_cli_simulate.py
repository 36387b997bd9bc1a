"""`sluice simulate` as a user runs it: durations, and the flags' syntax shared with `run --local`."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from sluice.cli import main
from sluice.task_seconds import FlagError, split_task_seconds, task_seconds
from tests.support.pipelines import EXAMPLES


def simulate(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, ["simulate", "daily-sales-etl", "--dir", str(EXAMPLES), *args])
    return result.exit_code, result.stdout, result.stderr


@pytest.mark.parametrize("flag", [["-d", "extract_orders=600"], ["--duration", "extract_orders:600"],
                                  ["--delay", "extract_orders=600"]])
def test_durations_are_task_equals_seconds_and_the_older_colon_is_read_too(flag: list[str]) -> None:
    # GIVEN the syntax `run --local --delay` takes, or the older TASK:SECONDS
    code, out, err = simulate(*flag)
    # THEN both set the task's duration
    assert code == 0, err
    assert "extract_orders" in out and "600s" in out.split("extract_orders", 1)[1].splitlines()[0]


@pytest.mark.parametrize(("value", "message"), [
    ("extract_orders=-5", "--duration extract_orders=-5: seconds must be a number 0 or more, got '-5'"),
    ("extract_orders=soon", "--duration extract_orders=soon: 'soon' is not a number of seconds"),
    ("extract_orders=nan", "--duration extract_orders=nan: seconds must be a number 0 or more"),
    ("extract_orders", "--duration takes TASK=SECONDS, got 'extract_orders'"),
])
def test_negative_or_non_numeric_durations_are_refused_naming_the_flag_and_value(value: str, message: str) -> None:
    code, out, err = simulate("-d", value)
    assert code == 2 and message in err, err
    assert "critical path" not in out


def test_the_shared_reader_splits_on_equals_first() -> None:
    assert split_task_seconds("kid.step=3", "--delay") == ("kid.step", "3")
    assert split_task_seconds("kid.step:3", "--delay") == ("kid.step", "3")
    assert task_seconds("a=0", "-d") == ("a", 0.0)
    with pytest.raises(FlagError, match="-d a=inf"):
        task_seconds("a=inf", "-d")


def test_a_scenario_file_gives_durations_and_failures_as_run_local_takes_it(tmp_path) -> None:
    # GIVEN a scenario file: one task slow, one failing its first attempt with a message
    scenario = tmp_path / "s.yaml"
    scenario.write_text("tasks:\n  extract_orders: {delay: 600}\n  load_warehouse: {fail: 1, error: flaky}\n")
    # WHEN simulated with it (and a flag that wins over the file for another task)
    code, out, err = simulate("--scenario", str(scenario), "-d", "aggregate_sales=5")
    # THEN the durations and the retry are the scenario's, and the others keep the default 60 s
    assert code == 0, err
    rows = {line.split()[0]: line for line in out.splitlines() if line.startswith("  ")}
    assert "0s ->      600s" in rows["extract_orders"] and "attempts=2" in rows["load_warehouse"]
    assert "best possible for the tasks that ran" in out


def test_a_scenario_naming_an_unknown_task_is_refused_with_a_did_you_mean(tmp_path) -> None:
    scenario = tmp_path / "s.yaml"
    scenario.write_text("tasks:\n  extract_order: {delay: 1}\n")
    code, _, err = simulate("--scenario", str(scenario))
    assert code == 2 and f"{scenario}:2: tasks.extract_order: error: " in err and "did you mean 'extract_orders'" in err


def test_the_best_makespan_counts_foreach_waves_of_max_concurrency() -> None:
    # GIVEN ml-training's train task: foreach over regions at max_concurrency 4, here 6 regions of 100 s each
    result = CliRunner().invoke(main, ["simulate", "ml-training", "--dir", str(EXAMPLES), "-d", "train=100",
                                       "-p", 'regions=["a","b","c","d","e","f"]'])
    # THEN the bound takes two waves for it (60 + 2 x 100 + 60 + 60), and says so
    assert result.exit_code == 0, result.stderr
    assert "foreach train: 6 item(s) at max_concurrency 4: 2 wave(s) of 100s" in result.stdout
    assert "foreach in waves of max_concurrency: 380s" in result.stdout
    assert "SUCCEEDED in 380s" in result.stdout  # the simulation, too, runs 4 items at a time
