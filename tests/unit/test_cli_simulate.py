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
