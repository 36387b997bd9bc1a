"""The operations commands (trigger, runs, show, cancel, resume, backfill, pipelines) against `sluice local serve`.

One local server runs in this process for the module (port 0, in a thread): the real run API handler behind the
HTTP bridge, moto with the test pipelines deployed, the event pump and the sweeper in the background. The CLI is
driven with click's CliRunner over HTTP, as a person would drive it.
"""

from __future__ import annotations

import itertools
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import pytest
from click.testing import CliRunner

from sluice.cli import main
from sluice.cli_api import LOCAL_PORT, connection_flags
from sluice.local.scenario import Scenario, Script
from sluice.local.serve import DEFAULT_PORT, PRINCIPAL, LocalServer
from sluice.spec import load_paths

pytestmark = pytest.mark.moto
T = TypeVar("T")

PIPELINES = {
    "quick.yaml": """
name: quick
params:
  size: {type: int, default: 1}
schedules:
  - cron: "0 3 * * ? *"
    timezone: UTC
tasks:
  a: {lambda: {function: fn-a}}
  b: {depends_on: a, lambda: {function: fn-b}}
""",
    "flaky.yaml": """
name: flaky
tasks:
  extract: {lambda: {function: fn-extract}}
  load: {depends_on: extract, lambda: {function: fn-load}}
""",
    "fanout.yaml": """
name: fanout
params:
  regions: {type: list, default: [eu-west, us-east]}
tasks:
  zeta: {lambda: {function: fn-z}}
  alpha: {depends_on: zeta, foreach: {items: "{{ params.regions }}", max_items: 5}, lambda: {function: fn-a}}
  mid: {depends_on: zeta, lambda: {function: fn-m}}
""",
    "slow.yaml": """
name: slow
tasks:
  wait: {lambda: {function: fn-wait}}
""",
}


@pytest.fixture(scope="module")
def marker(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("fix") / "fixed"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, marker: Path) -> Iterator[LocalServer]:
    directory = tmp_path_factory.mktemp("pipelines")
    for name, text in PIPELINES.items():
        (directory / name).write_text(text)
    loaded = load_paths([directory])
    assert not loaded.errors, loaded.errors
    # flaky.load fails (exit 3) until the marker file exists; slow.wait takes a minute
    check = "import os, sys; sys.exit(0 if os.path.exists(sys.argv[1]) else 3)"
    scenario = Scenario({"flaky.load": Script(command=[sys.executable, "-c", check, str(marker)]),
                         "slow.wait": Script(delay=60), "fanout.zeta": Script(delay=3)})
    # scenarios a trigger or resume may name for its run alone
    scenarios = tmp_path_factory.mktemp("scenarios")
    (scenarios / "b-down.yaml").write_text("tasks:\n  quick.b: {fail: always, error: b is down}\n")
    (scenarios / "typo.yaml").write_text("tasks:\n  quick.b: {fial: 1}\n")
    with LocalServer(loaded.pipelines, port=0, scenario=scenario, work_dir=tmp_path_factory.mktemp("work"),
                     sweep_every=0.5, scenarios_dir=scenarios) as running:
        yield running


def sluice(server: LocalServer, *args: str) -> tuple[int, str, str]:
    port = server.url.rsplit(":", 1)[-1]
    result = CliRunner().invoke(main, [*args, "--local", "--port", port])
    assert not isinstance(result.exception, Exception) or isinstance(result.exception, SystemExit), \
        result.exc_info
    return result.exit_code, result.stdout, result.stderr


def answer(server: LocalServer, *args: str) -> Any:
    code, out, err = sluice(server, *args, "--json")
    assert code == 0, err
    return json.loads(out)


def until(condition: Callable[[], T | None], what: str, timeout: float = 20.0) -> T:
    deadline = time.monotonic() + timeout
    while True:
        found = condition()
        if found:
            return found
        assert time.monotonic() < deadline, f"still waiting for {what}"
        time.sleep(0.05)


def ended(server: LocalServer, run_id: str, status: str | None = None) -> dict[str, Any]:
    """The run once it has ended and its end (and cost) is recorded."""
    def done() -> dict[str, Any] | None:
        run: dict[str, Any] = answer(server, "show", run_id)
        return run if run["status"] not in (None, "RUNNING") and run["cost"] else None

    run = until(done, f"{run_id} to end")
    assert status is None or run["status"] == status, run
    return run


def started_id(out: str) -> str:
    first = out.splitlines()[0]  # "started <id> (RUNNING)" / "resumed <old> as <id> (RUNNING)"
    return first.split()[-2]


# ---- a run from start to end -----------------------------------------------------------------------------------

def test_trigger_then_runs_and_show_follow_the_run_to_success(server: LocalServer) -> None:
    code, out, err = sluice(server, "trigger", "quick", "-p", "size=3", "--date", "2026-11-27",
                            "--reason", "late data")
    assert code == 0, err
    run_id = started_id(out)
    assert out.startswith(f"started {run_id} (RUNNING)") and run_id.startswith("quick:api-")
    assert "logical date: 2026-11-27T00:00:00Z" in out and "size=3" in out and "console" not in out
    # the hint carries the flags that reached this server: pasted, it shows the run
    port = server.url.rsplit(":", 1)[-1]
    assert out.splitlines()[-1] == f"follow it: sluice show {run_id} --local --port {port}"
    run = ended(server, run_id, "SUCCEEDED")
    # the parameter was sent as text and typed by the API; who started it is the local principal
    assert run["params"] == {"size": 3} and run["trigger"] == {"type": "api", "by": PRINCIPAL, "reason": "late data"}
    assert [t["status"] for t in run["tasks"]] == ["SUCCEEDED", "SUCCEEDED"]
    assert all(a["external_id"] for t in run["tasks"] for a in t["attempts"]) and run["cost"]["total_usd"] > 0
    code, out, _ = sluice(server, "runs", "quick")
    assert code == 0 and out.splitlines()[0].split() == ["RUN", "STATUS", "LOGICAL", "DATE", "STARTED", "TOOK",
                                                         "COST", "TRIGGER"]
    assert any(line.startswith(run_id) and "SUCCEEDED" in line and "api by local: late data" in line
               for line in out.splitlines())
    code, out, _ = sluice(server, "show", run_id)
    assert code == 0 and out.splitlines()[0] == f"{run_id}  SUCCEEDED"
    assert "  logical date: 2026-11-27T00:00:00Z" in out and "  params:       size=3" in out
    assert "tasks\n  a  SUCCEEDED\n    #1  SUCCEEDED  lambda " in out
    assert "cost (list prices as of " in out and "Step Functions Standard state transitions" in out
    shown = out.rstrip().splitlines()
    assert any(line.split()[:1] == ["total"] for line in shown)
    assert shown[-1].startswith("  the total includes Step Functions Standard state transitions")


def test_show_lists_tasks_in_dag_order_pending_ones_too_with_item_values_and_default_params(
        server: LocalServer) -> None:
    # GIVEN fanout, declared zeta, alpha (a foreach over the regions), mid; both after zeta, which takes 3 s
    started = answer(server, "trigger", "fanout")

    def zeta_running() -> dict[str, Any] | None:
        run: dict[str, Any] = answer(server, "show", started["id"])
        return run if run["tasks"] and run["tasks"][0]["attempts"] else None

    # WHEN it is shown while zeta runs
    run = until(zeta_running, "zeta to start")
    # THEN every task is there in DAG order (ties by declaration), those not started PENDING
    assert [(t["name"], t["status"]) for t in run["tasks"]] == [
        ("zeta", "RUNNING"), ("alpha", "PENDING"), ("mid", "PENDING")]
    # AND the params say the defaults the run took
    assert run["params"] == {} and run["param_defaults"] == {"regions": ["eu-west", "us-east"]}
    # WHEN it has ended THEN each foreach attempt names its item's value
    run = ended(server, started["id"], "SUCCEEDED")
    assert [t["name"] for t in run["tasks"]] == ["zeta", "alpha", "mid"]
    alpha = run["tasks"][1]
    assert [(a["item"], a["item_value"]) for a in alpha["attempts"]] == [(0, "eu-west"), (1, "us-east")]
    code, out, _ = sluice(server, "show", started["id"])
    assert code == 0 and '  params:       regions=["eu-west", "us-east"] (default)' in out
    assert "\n  zeta   SUCCEEDED\n" in out and "#1  item 1 (us-east)  SUCCEEDED  lambda " in out
    assert out.index("  alpha  ") < out.index("  mid    ")


def test_an_idempotency_key_makes_a_repeated_trigger_the_same_run(server: LocalServer) -> None:
    first = answer(server, "trigger", "quick", "--idempotency-key", "deploy-42")
    again = answer(server, "trigger", "quick", "--idempotency-key", "deploy-42")
    # the same run (the API replays its first answer, `created` included: see the report on functions/api)
    assert again["id"] == first["id"] and again["execution_arn"] == first["execution_arn"]
    ended(server, first["id"], "SUCCEEDED")
    runs = answer(server, "runs", "quick", "--limit", "100")["runs"]
    assert [r["id"] for r in runs].count(first["id"]) == 1
    # WHEN the key comes again after the run ended THEN the replay says what the run is now, and the CLI prints it
    late = answer(server, "trigger", "quick", "--idempotency-key", "deploy-42")
    assert (late["created"], late["status"], late["current_status"]) == (False, "RUNNING", "SUCCEEDED")
    code, out, _ = sluice(server, "trigger", "quick", "--idempotency-key", "deploy-42")
    assert code == 0 and out.startswith(f"already started (same idempotency key) {first['id']} (SUCCEEDED)")


# ---- failure, resume, cancel -----------------------------------------------------------------------------------

def test_a_failed_run_is_resumed_after_the_fix_and_succeeds_without_rerunning_what_succeeded(
        server: LocalServer, marker: Path) -> None:
    failed = answer(server, "trigger", "flaky")
    run = ended(server, failed["id"], "FAILED")
    load = next(t for t in run["tasks"] if t["name"] == "load")
    assert load["status"] == "FAILED" and "local command exited with code 3" in load["attempts"][0]["error"]
    code, out, _ = sluice(server, "show", failed["id"])
    assert "  load     FAILED" in out and "FAILED  lambda " in out and "exited with code 3" in out and "error:" in out
    marker.touch()  # the fix
    code, out, err = sluice(server, "resume", failed["id"], "--reason", "the warehouse is back")
    assert code == 0, err
    resumed = started_id(out)
    assert out.startswith(f"resumed {failed['id']} as {resumed} (RUNNING)")
    run = ended(server, resumed, "SUCCEEDED")
    assert run["resume_of"] == failed["execution_arn"]
    extract = next(t for t in run["tasks"] if t["name"] == "extract")
    assert extract["attempts"][0]["resumed_from"]["run"] == failed["execution_arn"]
    code, out, _ = sluice(server, "show", resumed)
    assert f"  resume of:    {failed['execution_arn']}" in out and "resumed from " in out
    assert f"  resumed by:   {resumed}" in sluice(server, "show", failed["id"])[1]
    # resuming the original again answers the same resumed run, as it is now
    code, out, _ = sluice(server, "resume", failed["id"])
    assert code == 0 and out.startswith(f"{failed['id']} was already resumed as {resumed} (SUCCEEDED)")
    # a succeeded run has nothing to resume: the API's 409, one line, exit 1
    code, _, err = sluice(server, "resume", resumed)
    assert code == 1 and "succeeded: there is nothing to resume" in err and len(err.strip().splitlines()) == 1


def test_a_run_scripted_to_fail_by_its_own_scenario_succeeds_on_resume(server: LocalServer) -> None:
    # GIVEN a run triggered with a scenario of its own, in which task b always fails
    code, out, err = sluice(server, "trigger", "quick", "--scenario", "b-down")
    assert code == 0, err
    failed = started_id(out)
    run = ended(server, failed, "FAILED")
    b = next(t for t in run["tasks"] if t["name"] == "b")
    assert b["status"] == "FAILED" and all("b is down" in a["error"] for a in b["attempts"])
    # WHEN it is resumed with no scenario named
    code, out, err = sluice(server, "resume", failed, "--reason", "b is back")
    assert code == 0, err
    # THEN the resumed run is scripted as the server's other runs are (b succeeds), and a is not run again
    run = ended(server, started_id(out), "SUCCEEDED")
    a = next(t for t in run["tasks"] if t["name"] == "a")
    assert a["attempts"][0]["resumed_from"]["run"] == run["resume_of"]
    # AND a run triggered meanwhile without a scenario was never scripted by that one
    other = answer(server, "trigger", "quick")
    assert ended(server, other["id"], "SUCCEEDED")


def test_a_scenario_named_per_run_that_is_unknown_or_bad_is_refused_saying_why(server: LocalServer) -> None:
    before = len(answer(server, "runs", "quick", "--limit", "100")["runs"])
    code, out, err = sluice(server, "trigger", "quick", "--scenario", "b-dwn")
    assert code == 1 and out == "" and len(err.strip().splitlines()) == 1, err
    assert "X-Sluice-Scenario: no scenario 'b-dwn' in " in err and "(did you mean 'b-down'?)" in err
    code, _, err = sluice(server, "resume", "quick:no-such-run", "--scenario", "typo")
    assert code == 1 and "typo.yaml:2: tasks.quick.b.fial: error: unknown key 'fial' (did you mean 'fail'?)" in err
    code, _, err = sluice(server, "trigger", "quick", "--scenario", "../etc/passwd")
    assert code == 1 and "is not a scenario name" in err
    assert len(answer(server, "runs", "quick", "--limit", "100")["runs"]) == before  # nothing was started


def test_a_scenario_is_refused_against_a_deployed_api() -> None:
    result = CliRunner().invoke(main, ["trigger", "quick", "--scenario", "b-down", "--endpoint",
                                       "https://abc123.execute-api.eu-west-1.amazonaws.com/prod"])
    assert result.exit_code == 2 and "scenarios script the jobs of `sluice local serve` only" in result.stderr


def test_cancel_stops_a_long_running_run_and_its_job(server: LocalServer) -> None:
    started = answer(server, "trigger", "slow")

    def job_running() -> bool:
        run = answer(server, "show", started["id"])
        return any(a["status"] == "RUNNING" for t in run["tasks"] for a in t["attempts"])

    until(job_running, "the slow job to start")
    code, out, err = sluice(server, "cancel", started["id"], "--reason", "wrong input")
    assert code == 0, err
    assert out.strip() == f"{started['id']}: ABORTED (cancelled by {PRINCIPAL}: wrong input); 1 job(s) stopped"
    run = ended(server, started["id"], "ABORTED")  # long before the job's minute is up
    assert run["error"] == "Sluice.Cancelled" and run["cancelled"]["reason"] == "wrong input"
    [attempt] = run["tasks"][0]["attempts"]
    assert attempt["status"] == "STOPPED"
    code, out, _ = sluice(server, "show", started["id"])
    assert "  cancelled:    by " in out and "STOPPED  lambda " in out
    code, _, err = sluice(server, "cancel", started["id"], "--reason", "again")
    # the status word is show's (the recorded ABORTED), not moto's FAILED for the stopped execution
    assert code == 1 and f"run {started['id']} is ABORTED: only a running run can be cancelled" in err, err


def test_a_background_failure_names_the_log_that_holds_its_traceback(server: LocalServer) -> None:
    # GIVEN a server whose background work fails once
    told: list[str] = []
    server.on_error = told.append
    try:
        server._report(RuntimeError("boom in the background"))
    finally:
        server.on_error = None
    # WHEN the functions go on logging to the same file (a run)
    ended(server, answer(server, "trigger", "quick")["id"], "SUCCEEDED")
    # THEN the one line names the log, and the log still holds the traceback (it was once written over)
    [message] = told
    assert message.endswith(f"(details: {server.log})")
    assert "RuntimeError: boom in the background" in server.log.read_text(encoding="utf-8")


# ---- backfill --------------------------------------------------------------------------------------------------

def test_a_dry_run_backfill_lists_the_dates_and_starts_nothing(server: LocalServer) -> None:
    before = len(answer(server, "runs", "quick", "--limit", "100")["runs"])
    code, out, err = sluice(server, "backfill", "quick", "--start", "2026-09-01", "--end", "2026-09-03T12:00:00Z",
                            "--dry-run")
    assert code == 0, err
    assert out.splitlines()[0] == "dry run: quick would run 3 of 3 date(s) (mode missing, at most 1 at a time)"
    assert out.splitlines()[1] == ("window: 2026-09-01T00:00:00.000Z .. 2026-09-03T12:00:00.000Z (UTC, inclusive; "
                                   "a date alone is a whole day in UTC): 3 scheduled date(s)")
    assert [line.split()[0] for line in out.splitlines()[3:]] == [
        "2026-09-01T03:00:00Z", "2026-09-02T03:00:00Z", "2026-09-03T03:00:00Z"]
    assert len(answer(server, "runs", "quick", "--limit", "100")["runs"]) == before


def test_a_dry_run_backfill_ending_on_a_date_includes_that_day(server: LocalServer) -> None:
    # GIVEN quick, daily at 03:00 UTC WHEN a dry run ends on a date alone
    code, out, err = sluice(server, "backfill", "quick", "--start", "2026-08-01", "--end", "2026-08-07", "--dry-run")
    # THEN that day's run is in, and the window printed says so
    assert code == 0, err
    assert "window: 2026-08-01T00:00:00.000Z .. 2026-08-07T23:59:59.999Z" in out and "7 scheduled date(s)" in out
    assert out.splitlines()[-1].split()[0] == "2026-08-07T03:00:00Z"


def test_a_backfill_with_max_concurrent_1_runs_its_dates_one_after_another(server: LocalServer) -> None:
    view = answer(server, "backfill", "quick", "--start", "2026-10-01", "--end", "2026-10-03T12:00:00Z",
                  "--max-concurrent", "1", "-p", "size=5")
    assert view["status"] == "RUNNING" and len(view["dates"]) == 3

    def done() -> dict[str, Any] | None:
        found: dict[str, Any] = answer(server, "show", view["id"])
        return found if found["status"] == "DONE" else None

    final = until(done, "the backfill to finish", timeout=30)
    assert {d["status"] for d in final["dates"]} == {"SUCCEEDED"}
    runs = [ended(server, d["id"]) for d in final["dates"]]
    assert [r["logical_date"] for r in runs] == ["2026-10-01T03:00:00Z", "2026-10-02T03:00:00Z",
                                                 "2026-10-03T03:00:00Z"]
    assert all(r["params"] == {"size": 5} and r["trigger"]["type"] == "backfill" for r in runs)
    for earlier, later in itertools.pairwise(runs):  # never two at a time
        assert later["started_at"] >= earlier["ended_at"], (earlier, later)
    _, out, _ = sluice(server, "show", view["id"])
    assert out.startswith(f"backfill {view['id']} of quick: DONE (3 run(s), mode missing, at most 1 at a time)")
    # the same range again in mode missing has nothing left to run
    again = answer(server, "backfill", "quick", "--start", "2026-10-01", "--end", "2026-10-03T12:00:00Z",
                   "--dry-run")
    assert {d["action"] for d in again["dates"]} == {"skip"}


def test_every_follow_up_hint_carries_the_connection_flags_of_its_command(server: LocalServer) -> None:
    # GIVEN a command given --endpoint, --stack (with region and profile) or --local on the default port
    # WHEN its hint flags are worked out THEN they are the ones it was given
    assert connection_flags({"local": True, "port": LOCAL_PORT}) == " --local"
    assert connection_flags({"local": True, "port": 9000}) == " --local --port 9000"
    assert connection_flags({"local": False, "endpoint": "https://x.example/prod", "port": LOCAL_PORT}) == \
        " --endpoint https://x.example/prod"
    assert connection_flags({"local": False, "stack": "sluice", "region": "eu-west-1", "profile": "ops"}) == \
        " --stack sluice --region eu-west-1 --profile ops"
    assert connection_flags({"local": False, "endpoint": None, "stack": None}) == ""  # $SLUICE_API_URL
    # AND a paged listing's "more:" hint keeps its filters and flags
    port = server.url.rsplit(":", 1)[-1]
    for _ in range(2):
        answer(server, "trigger", "quick")
    code, out, _ = sluice(server, "runs", "quick", "--limit", "1", "--since", "2000-01-01")
    more = out.splitlines()[-1]
    assert code == 0 and more.startswith("more: sluice runs quick --since 2000-01-01 --limit 1 --next-token ")
    assert more.endswith(f" --local --port {port}")
    next_page = more.split()[2:]  # pasted, it reads the next page
    assert CliRunner().invoke(main, next_page).exit_code == 0


# ---- output and errors -----------------------------------------------------------------------------------------

def test_pipelines_are_listed_and_described(server: LocalServer) -> None:
    listed = answer(server, "pipelines")
    assert [p["name"] for p in listed["pipelines"]] == ["fanout", "flaky", "quick", "slow"]
    code, out, _ = sluice(server, "pipelines")
    assert code == 0 and out.splitlines()[0].split() == ["PIPELINE", "TASKS", "SCHEDULE", "PARAMS", "OWNER"]
    code, out, _ = sluice(server, "pipelines", "quick")
    assert code == 0 and "cron(0 3 * * ? *) UTC" in out and "next scheduled runs" in out
    assert "  b     lambda  a" in out


def test_an_unknown_pipeline_or_run_is_one_line_on_stderr_and_exit_1(server: LocalServer) -> None:
    for args, message in ((["trigger", "nope"], "no pipeline named 'nope' (known: fanout, flaky, quick, slow)"),
                          (["runs", "nope"], "no pipeline named 'nope'"),
                          (["show", "quick:no-such-run"], "no run quick:no-such-run"),
                          (["show", "garbage"], "is not a run id"),
                          (["trigger", "quick", "-p", "size=many"], "params.size"),
                          (["backfill", "flaky", "--start", "2026-10-01", "--end", "2026-10-02"], "no schedule")):
        code, out, err = sluice(server, *args)
        assert code == 1 and out == "" and message in err, (args, err)
        assert len(err.strip().splitlines()) == 1 and err.startswith("error: ") and "Traceback" not in err


def test_usage_errors_exit_2(server: LocalServer) -> None:
    code, _, err = sluice(server, "trigger", "quick", "-p", "size")
    assert code == 2 and "--param takes KEY=VALUE" in err
    code, _, err = sluice(server, "runs", "quick", "--endpoint", "http://127.0.0.1:1")
    assert code == 2 and "--local and --endpoint: give only one of them" in err
    result = CliRunner().invoke(main, ["runs", "quick"], env={"SLUICE_API_URL": ""})
    assert result.exit_code == 2 and "where is the run API?" in result.stderr


def test_local_with_nothing_listening_says_to_start_the_server() -> None:
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    result = CliRunner().invoke(main, ["runs", "quick", "--local", "--port", str(port)])
    assert result.exit_code == 1 and result.stdout == ""
    assert "cannot reach the run API" in result.stderr and "is `sluice local serve` running?" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_an_endpoint_from_the_environment_is_used(server: LocalServer) -> None:
    result = CliRunner().invoke(main, ["pipelines", "--json"], env={"SLUICE_API_URL": server.url})
    assert result.exit_code == 0 and "quick" in [p["name"] for p in json.loads(result.stdout)["pipelines"]]


def test_a_stack_names_the_api_by_its_run_api_url_output(server: LocalServer) -> None:
    import boto3  # moto answers: the server's mock is on for this module

    template = {"Resources": {"Topic": {"Type": "AWS::SNS::Topic"}},
                "Outputs": {"RunApiUrl": {"Value": server.url}}}
    boto3.client("cloudformation").create_stack(StackName="sluice-local", TemplateBody=json.dumps(template))
    result = CliRunner().invoke(main, ["pipelines", "--json", "--stack", "sluice-local"])
    assert result.exit_code == 0, result.stderr
    assert "quick" in [p["name"] for p in json.loads(result.stdout)["pipelines"]]
    result = CliRunner().invoke(main, ["pipelines", "--stack", "no-such-stack"])
    assert result.exit_code == 1 and result.stderr.startswith("error: stack no-such-stack: ")
    assert len(result.stderr.strip().splitlines()) == 1


# ---- the command itself ----------------------------------------------------------------------------------------

def test_local_serve_prints_its_url_serves_and_stops_on_ctrl_c(tmp_path: Path) -> None:
    assert LOCAL_PORT == DEFAULT_PORT
    (tmp_path / "quick.yaml").write_text(PIPELINES["quick.yaml"])
    command = [sys.executable, "-c", "from sluice.cli import main; main()", "local", "serve", "--dir",
               str(tmp_path), "--port", "0", "--work-dir", str(tmp_path / "work")]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               env={**os.environ, "PYTHONUNBUFFERED": "1"})
    try:
        assert process.stdout is not None
        lines = [process.stdout.readline() for _ in range(4)]
        assert lines[0].startswith("sluice local serve: 1 pipeline(s) on moto: quick"), lines
        url = lines[1].split()[2]
        assert url.startswith("http://127.0.0.1:") and lines[3].strip() == "Ctrl-C to stop"
        result = CliRunner().invoke(main, ["trigger", "quick", "--json"], env={"SLUICE_API_URL": url})
        assert result.exit_code == 0, result.stderr
        run_id = json.loads(result.stdout)["id"]
        until(lambda: json.loads(CliRunner().invoke(main, ["show", run_id, "--json"], env={
            "SLUICE_API_URL": url}).stdout)["status"] == "SUCCEEDED", "the run to succeed")
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=20) == 0
        assert "Traceback" not in (process.stderr.read() if process.stderr else "")
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


def test_sigterm_with_runs_in_flight_stops_them_records_them_aborted_and_exits_cleanly(tmp_path: Path) -> None:
    # GIVEN a server with two runs in flight: one waiting on a minute-long job, one retrying a failing task
    (tmp_path / "slow.yaml").write_text(PIPELINES["slow.yaml"])
    (tmp_path / "quick.yaml").write_text(PIPELINES["quick.yaml"].replace(
        "a: {lambda: {function: fn-a}}", "a: {lambda: {function: fn-a}, retry: {max_attempts: 5, interval: 1m}}"))
    command = [sys.executable, "-c", "from sluice.cli import main; main()", "local", "serve", "--dir",
               str(tmp_path), "--port", "0", "--work-dir", str(tmp_path / "work"), "--delay", "wait:60",
               "--fail", "a"]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               env={**os.environ, "PYTHONUNBUFFERED": "1"})
    try:
        assert process.stdout is not None
        lines = [process.stdout.readline() for _ in range(4)]
        url = lines[1].split()[2]
        env = {"SLUICE_API_URL": url}
        started = []
        for pipeline in ("slow", "quick"):
            result = CliRunner().invoke(main, ["trigger", pipeline, "--json"], env=env)
            assert result.exit_code == 0, result.stderr
            started.append(json.loads(result.stdout)["id"])

        def in_flight() -> bool:
            shown = [json.loads(CliRunner().invoke(main, ["show", run, "--json"], env=env).stdout)
                     for run in started]
            return all(any(a["status"] in ("RUNNING", "FAILED") for t in run["tasks"] for a in t["attempts"])
                       for run in shown)

        until(in_flight, "both runs to have a job under way")
        # WHEN the server gets SIGTERM
        process.send_signal(signal.SIGTERM)
        code = process.wait(timeout=30)
        err = process.stderr.read() if process.stderr else ""
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    # THEN it exits 0, with no traceback and no background failure, having stopped both runs, recorded ABORTED
    assert code == 0, err
    assert "Traceback" not in err and "Error" not in err and "failed" not in err, err
    for run in started:
        assert f"stopped {run}: recorded ABORTED" in err, err
