"""A cron time that a daylight saving change skips is a warning from `validate`, not an error."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from click.testing import CliRunner

from sluice.cli import main
from sluice.spec import load_text
from sluice.spec.dst import skipped_schedules

DOC = "name: dst-demo\nschedules:\n  - cron: '{cron}'\n    timezone: {zone}\ntasks:\n  a: {{glue: {{job: j}}}}\n"
SINCE = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)


def _warnings(cron: str, zone: str) -> list[tuple[tuple[str | int, ...], str, str | None]]:
    pipeline, problems = load_text(DOC.format(cron=cron, zone=zone), "f.yaml")
    assert pipeline is not None and not [p for p in problems if p.severity == "error"]
    return list(skipped_schedules(pipeline, since=SINCE, years=1))


def test_0230_in_berlin_is_skipped_on_the_last_sunday_of_march() -> None:
    # GIVEN a daily 02:30 cron in Europe/Berlin  WHEN checked over 2026
    [(path, message, hint)] = _warnings("30 2 * * ? *", "Europe/Berlin")
    # THEN the warning names the day clocks go forward and the gap
    assert path == ("schedules", 0, "cron")
    assert message == ("02:30 does not exist in Europe/Berlin on 2026-03-29 (clocks go forward from 02:00 to 03:00): "
                       "EventBridge Scheduler skips that run")
    assert hint == "to run every day, pick a time outside 02:00-03:00 or the time zone UTC"


def test_times_outside_the_gap_and_zones_without_dst_give_no_warning() -> None:
    assert _warnings("0 5 * * ? *", "Europe/Berlin") == []
    assert _warnings("30 2 * * ? *", "UTC") == []
    assert _warnings("30 2 ? * MON-FRI *", "Europe/Berlin") == []  # the change is on a Sunday


def test_validate_prints_it_as_a_warning_and_exits_0(tmp_path: Path) -> None:
    (tmp_path / "p.yaml").write_text(DOC.format(cron="30 2 * * ? *", zone="Europe/Berlin"))
    result = CliRunner().invoke(main, ["validate", str(tmp_path)])
    assert result.exit_code == 0
    expected = f"{tmp_path / 'p.yaml'}:3: schedules[0].cron: warning: 02:30 does not exist in Europe/Berlin"
    assert expected in result.stderr
    assert "1 file(s), 1 valid pipeline(s): OK (1 warning(s))" in result.stdout
