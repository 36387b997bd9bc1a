"""The operations commands: runs started, listed, shown, cancelled, resumed and backfilled through the run API, and
`sluice local serve`, which runs that API on one's own machine.

Where the API is: `--local` (`sluice local serve` on 127.0.0.1, unsigned), `--endpoint URL` or $SLUICE_API_URL,
or `--stack NAME` (the stack's RunApiUrl output); a deployed API is called with SigV4 signatures from the usual
AWS credentials (`--profile`, `--region`). Every command prints a human summary, or the API's JSON with `--json`;
a follow-up hint it prints (`follow it: sluice show ...`) carries the flags that reached the API, so it can be pasted.
An error the API answers, or an API that cannot be reached, is one line on stderr and exit status 1; bad usage
is exit status 2.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import signal
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, NoReturn, TypeVar

import click

from . import api_view as view
from .api_client import ApiClient, ApiError, endpoint_from_stack_outputs
from .task_seconds import METAVAR, FlagError, split_task_seconds

SCENARIO_HEADER = "X-Sluice-Scenario"  # sluice/local/run_scenarios.py HEADER: read by `sluice local serve` only
LOCAL_PORT = 8377  # `sluice local serve`'s default port (sluice/local/serve.py DEFAULT_PORT)
ENDPOINT_ENV = "SLUICE_API_URL"
STATUSES = ("RUNNING", "SUCCEEDED", "FAILED", "TIMED_OUT", "ABORTED", "PENDING_REDRIVE")
_BACKFILL_ID = re.compile(r"^[a-f0-9]{16}$")

F = TypeVar("F", bound=Callable[..., Any])


def register_api_commands(main: click.Group) -> None:
    for command in (pipelines, trigger, runs, show, cancel, resume, backfill, local):
        main.add_command(command)


# ---- where the API is ------------------------------------------------------------------------------------------

def target_options(function: F) -> F:
    """--local/--port, --endpoint, --stack, --region, --profile and --json."""
    options = [
        click.option("--json", "as_json", is_flag=True, help="print the API's JSON answer"),
        click.option("--profile", metavar="NAME", help="AWS profile for --stack and signing"),
        click.option("--region", metavar="REGION", help="AWS region for --stack and signing"),
        click.option("--stack", metavar="NAME", help="the deployed stack whose RunApiUrl output is the API"),
        click.option("--endpoint", metavar="URL", help=f"the run API's URL (default: ${ENDPOINT_ENV})"),
        click.option("--port", type=click.IntRange(1, 65535), default=LOCAL_PORT, show_default=True,
                     help="with --local: the port `sluice local serve` listens on"),
        click.option("--local", "local", is_flag=True, help="the API `sluice local serve` runs on this machine"),
    ]
    for option in options:
        function = option(function)
    return function


def connection_flags(opts: dict[str, Any]) -> str:
    """The flags that reach the API this command reached, for a follow-up hint to carry: pasted, it calls the same
    API (" --local --port 9000", " --endpoint URL", " --stack NAME --region R"; "" for $SLUICE_API_URL alone)."""
    given: list[str] = []
    if opts.get("local"):
        given.append("--local")
        if opts.get("port") not in (None, LOCAL_PORT):
            given += ["--port", str(opts["port"])]
    elif opts.get("endpoint"):
        given += ["--endpoint", opts["endpoint"]]
    elif opts.get("stack"):
        given += ["--stack", opts["stack"]]
    if not opts.get("local"):
        for flag in ("region", "profile"):
            if opts.get(flag):
                given += [f"--{flag}", opts[flag]]
    return "".join(f" {shlex.quote(str(part))}" for part in given)


def _client(opts: dict[str, Any]) -> ApiClient:
    chosen = [flag for flag, given in (("--local", opts["local"]), ("--endpoint", opts["endpoint"]),
                                       ("--stack", opts["stack"])) if given]
    if len(chosen) > 1:
        _usage(f"{' and '.join(chosen)}: give only one of them")
    if opts["local"]:
        return ApiClient(f"http://127.0.0.1:{opts['port']}", sign=False)
    session = None
    if opts["stack"]:
        session = _session(opts)
        url = _stack_endpoint(session, opts["stack"])
    else:
        url = opts["endpoint"] or os.environ.get(ENDPOINT_ENV, "")
        if not url:
            _usage(f"where is the run API? give --local (`sluice local serve`), --endpoint URL (or set "
                   f"{ENDPOINT_ENV}), or --stack NAME")
    try:
        probe = ApiClient(url, sign=False)
        if probe.loopback:  # `sluice local serve` has no authentication: nothing to sign for
            return probe
        return ApiClient(url, sign=True, region=opts["region"], session=session or _session(opts))
    except ValueError as exc:
        if "URL" in str(exc):
            _usage(f"--endpoint {url}: {exc}")
        _error(str(exc))


def _session(opts: dict[str, Any]) -> Any:
    try:
        import boto3
        from botocore.exceptions import BotoCoreError
    except ImportError:
        _error("calling a deployed run API needs boto3 (pip install -e '.[runtime]')")
    try:
        return boto3.Session(profile_name=opts["profile"], region_name=opts["region"])
    except BotoCoreError as exc:
        _error(str(exc))


def _stack_endpoint(session: Any, stack: str) -> str:
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        described = session.client("cloudformation").describe_stacks(StackName=stack)["Stacks"]
        return endpoint_from_stack_outputs(described[0].get("Outputs", []) if described else [])
    except ClientError as exc:
        _error(f"stack {stack}: {exc.response.get('Error', {}).get('Message') or exc}")
    except (BotoCoreError, LookupError) as exc:
        _error(f"stack {stack}: {exc}")


def _call(opts: dict[str, Any], method: str, path: str, *, body: Any = None, query: dict[str, Any] | None = None,
          headers: dict[str, str] | None = None) -> Any:
    client = _client(opts)
    opts["_loopback"] = client.loopback
    if opts.get("scenario") and not client.loopback:
        _usage(f"--scenario {opts['scenario']}: scenarios script the jobs of `sluice local serve` only; a deployed "
               "run API runs real jobs (give --local, or leave --scenario out)")
    if opts.get("scenario"):
        headers = {**(headers or {}), SCENARIO_HEADER: opts["scenario"]}
    clean = {key: value for key, value in (query or {}).items() if value is not None}
    try:
        if method == "GET":
            return client.get(path, query=clean or None, headers=headers).body_json
        return client.post(path, json_body=body if body is not None else {}, query=clean or None,
                           headers=headers).body_json
    except ApiError as exc:
        _error(str(exc))


def _usage(message: str) -> NoReturn:
    click.echo(f"error: {message}", err=True)
    sys.exit(2)


def _error(message: str) -> NoReturn:
    click.echo(f"error: {' '.join(message.split())}", err=True)
    sys.exit(1)


def _emit_json(answer: Any) -> None:
    click.echo(json.dumps(answer, indent=2))


def _pairs(items: Sequence[str], flag: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for item in items:
        key, found, value = item.partition("=")
        if not key or not found:
            _usage(f"{flag} takes KEY=VALUE, got {item!r}")
        out[key] = value  # sent as text: the API parses it as the parameter's declared type
    return out


def _quoted(segment: str) -> str:
    """One path segment: a run id keeps its ':'; '/' and '?' cannot end up as path or query."""
    from urllib.parse import quote

    return quote(segment, safe=":")


# ---- commands ----------------------------------------------------------------------------------------------------

@click.command(name="pipelines")
@click.argument("name", required=False)
@target_options
def pipelines(name: str | None, **opts: Any) -> None:
    """The pipelines the run API knows; with NAME, one in detail (params, tasks, next scheduled runs)."""
    if name is None:
        answer = _call(opts, "GET", "/pipelines")
        if opts["as_json"]:
            return _emit_json(answer)
        rows = [[p["name"], str(p.get("tasks", "")), view.schedules_text(p.get("schedules") or []),
                 ", ".join(p.get("params") or {}) or "-", p.get("owner") or "-"] for p in answer.get("pipelines", [])]
        view.table(["PIPELINE", "TASKS", "SCHEDULE", "PARAMS", "OWNER"], rows, empty="no pipelines")
        return None
    answer = _call(opts, "GET", f"/pipelines/{_quoted(name)}")
    if opts["as_json"]:
        return _emit_json(answer)
    click.echo(f"{answer['name']}: {answer.get('description') or ''}".rstrip(": "))
    view.fields([("owner", answer.get("owner")), ("config hash", answer.get("config_hash")),
             ("schedules", view.schedules_text(answer.get("schedules") or []))])
    params = answer.get("params") or {}
    if params:
        click.echo("params")
        view.table(["  NAME", "TYPE", "DEFAULT"], [[f"  {n}", p.get("type", ""), "required" if p.get("required") else
                                                json.dumps(p.get("default"))] for n, p in params.items()])
    click.echo("tasks")
    tasks = [[f"  {t['name']}", t.get("kind", ""), ", ".join(t.get("depends_on") or []) or "-"]
             for t in answer.get("task_list", [])]
    view.table(["  TASK", "KIND", "DEPENDS ON"], tasks)
    if answer.get("next_runs"):
        click.echo("next scheduled runs")
        for run in answer["next_runs"]:
            click.echo(f"  {run['at']}  ({run.get('local', '')})")
    return None


@click.command()
@click.argument("pipeline")
@click.option("--param", "-p", "params", multiple=True, metavar="KEY=VALUE",
              help="run parameter (the API parses it as the declared type)")
@click.option("--date", "logical_date", metavar="DATE", help="logical date: YYYY-MM-DD or an ISO 8601 time")
@click.option("--reason", metavar="TEXT", help="why the run is started (kept on its record)")
@click.option("--idempotency-key", metavar="KEY", help="the same key again returns the same run, starting nothing")
@click.option("--scenario", metavar="NAME", help="local server only: script this run's jobs by the scenario "
              "NAME.yaml in the server's --scenarios directory, instead of the server's own scenario")
@target_options
def trigger(pipeline: str, params: tuple[str, ...], logical_date: str | None, reason: str | None,
            idempotency_key: str | None, **opts: Any) -> None:
    """Start a run of PIPELINE through the run API."""
    body: dict[str, Any] = {"params": _pairs(params, "--param")}
    if logical_date is not None:
        body["logical_date"] = logical_date
    if reason is not None:
        body["reason"] = reason
    answer = _call(opts, "POST", f"/pipelines/{_quoted(pipeline)}/runs", body=body,
                   headers={"Idempotency-Key": idempotency_key} if idempotency_key else None)
    if opts["as_json"]:
        return _emit_json(answer)
    view.started(answer, "started" if answer.get("created", True) else "already started (same idempotency key)",
                 local=opts["_loopback"], flags=connection_flags(opts))
    return None


@click.command()
@click.argument("pipeline")
@click.option("--status", type=click.Choice(STATUSES, case_sensitive=False), help="only runs with this status")
@click.option("--since", metavar="TIME", help="started at or after (date or ISO 8601 time)")
@click.option("--until", metavar="TIME", help="started at or before (a date alone: its whole day)")
@click.option("--limit", type=click.IntRange(1, 100), default=20, show_default=True, help="runs per page")
@click.option("--next-token", metavar="TOKEN", help="the next page, as the previous page said")
@target_options
def runs(pipeline: str, status: str | None, since: str | None, until: str | None, limit: int,
         next_token: str | None, **opts: Any) -> None:
    """A pipeline's runs, newest first."""
    answer = _call(opts, "GET", f"/pipelines/{_quoted(pipeline)}/runs", query={
        "status": status.upper() if status else None, "since": since, "until": until, "limit": str(limit),
        "next_token": next_token})
    if opts["as_json"]:
        return _emit_json(answer)
    rows = [[r["id"], r.get("status") or "-", r.get("logical_date") or "-", r.get("started_at") or "-",
             view.duration(r.get("started_at"), r.get("ended_at")), view.usd(r.get("cost_usd")),
             view.trigger_text(r.get("trigger"))]
            for r in answer.get("runs", [])]
    view.table(["RUN", "STATUS", "LOGICAL DATE", "STARTED", "TOOK", "COST", "TRIGGER"], rows, empty="no runs")
    if answer.get("next_token"):
        again = "".join(f" {flag} {shlex.quote(value)}" for flag, value in (("--status", status), ("--since", since),
                                                                ("--until", until)) if value)
        click.echo(f"more: sluice runs {pipeline}{again} --limit {limit} --next-token {answer['next_token']}"
                   f"{connection_flags(opts)}")
    return None


@click.command()
@click.argument("run_id", metavar="RUN")
@target_options
def show(run_id: str, **opts: Any) -> None:
    """A run: status, tasks with their attempts (jobs, durations, errors) and its cost. RUN is
    <pipeline>:<execution name> or the execution ARN; a backfill's id shows the backfill.

    Tasks are in the pipeline's DAG order (ties in declaration order); one not started is PENDING (NOT_RUN once
    the run has ended); a foreach attempt shows its item's value; params show the defaults taken, marked."""
    if _BACKFILL_ID.match(run_id):
        answer = _call(opts, "GET", f"/backfills/{run_id}")
        return _emit_json(answer) if opts["as_json"] else view.backfill_view(answer, flags=connection_flags(opts))
    answer = _call(opts, "GET", f"/runs/{_quoted(run_id)}")
    if opts["as_json"]:
        return _emit_json(answer)
    view.run_view(answer, local=opts["_loopback"])
    return None


@click.command()
@click.argument("run_id", metavar="RUN")
@click.option("--reason", required=True, metavar="TEXT", help="why (kept on the run's record)")
@target_options
def cancel(run_id: str, reason: str, **opts: Any) -> None:
    """Stop a running run and its jobs."""
    answer = _call(opts, "POST", f"/runs/{_quoted(run_id)}/cancel", body={"reason": reason})
    if opts["as_json"]:
        return _emit_json(answer)
    click.echo(f"{answer['id']}: {answer.get('status')} (cancelled by {answer.get('cancelled_by')}: "
               f"{answer.get('reason')}); {answer.get('jobs_stopped', 0)} job(s) stopped")
    return None


@click.command()
@click.argument("run_id", metavar="RUN")
@click.option("--reason", metavar="TEXT", help="why (kept on the new run's record)")
@click.option("--scenario", metavar="NAME", help="local server only: script this run's jobs by the scenario "
              "NAME.yaml in the server's --scenarios directory, instead of the server's own scenario")
@target_options
def resume(run_id: str, reason: str | None, **opts: Any) -> None:
    """Re-run what did not succeed in an ended run (what succeeded is skipped)."""
    answer = _call(opts, "POST", f"/runs/{_quoted(run_id)}/resume", body={"reason": reason} if reason else {})
    if opts["as_json"]:
        return _emit_json(answer)
    view.started(answer, f"resumed {run_id} as" if answer.get("created", True) else f"{run_id} was already resumed as",
                 local=opts["_loopback"], flags=connection_flags(opts))
    return None


@click.command()
@click.argument("pipeline")
@click.option("--start", required=True, metavar="TIME",
              help="first logical date considered: ISO 8601 time, or a date (from the start of that day in the "
              "schedule's time zone)")
@click.option("--end", required=True, metavar="TIME",
              help="last logical date considered, inclusive: ISO 8601 time, or a date (to the end of that day in "
              "the schedule's time zone)")
@click.option("--mode", type=click.Choice(["missing", "failed", "all"]), default="missing", show_default=True,
              help="missing: dates without a run; failed: dates whose latest run failed; all: every date")
@click.option("--dry-run", is_flag=True, help="only say which dates would run")
@click.option("--max-concurrent", type=click.IntRange(1, 50), default=1, show_default=True,
              help="runs of the backfill at a time")
@click.option("--param", "-p", "params", multiple=True, metavar="KEY=VALUE", help="parameter for every run")
@click.option("--idempotency-key", metavar="KEY", help="the same key again returns the same backfill")
@target_options
def backfill(pipeline: str, start: str, end: str, mode: str, dry_run: bool, max_concurrent: int,
             params: tuple[str, ...], idempotency_key: str | None, **opts: Any) -> None:
    """Run PIPELINE's scheduled logical dates between --start and --end, at most N at a time.

    A date alone (YYYY-MM-DD) is a whole day in the time zone of the pipeline's first enabled schedule: --end
    2026-11-29 includes that day's runs. A time is exact (UTC unless it has an offset). The dry run prints the
    window the dates were read as."""
    body = {"start": start, "end": end, "mode": mode, "dry_run": dry_run, "max_concurrent": max_concurrent,
            "params": _pairs(params, "--param")}
    answer = _call(opts, "POST", f"/pipelines/{_quoted(pipeline)}/backfill", body=body,
                   headers={"Idempotency-Key": idempotency_key} if idempotency_key else None)
    if opts["as_json"]:
        return _emit_json(answer)
    view.backfill_view(answer, flags=connection_flags(opts))
    return None


# ---- sluice local serve ------------------------------------------------------------------------------------------

@click.group()
def local() -> None:
    """Local mode: Sluice on moto in this process, no AWS account needed."""


@local.command()
@click.option("--dir", "directory", default="pipelines", show_default=True, help="where pipelines live")
@click.option("--port", type=click.IntRange(0, 65535), default=LOCAL_PORT, show_default=True,
              help="port on 127.0.0.1 (0: any free one)")
@click.option("--scenario", type=click.Path(dir_okay=False), help="scripted job outcomes from a YAML file")
@click.option("--fail", "failures", multiple=True, metavar="TASK[:N]",
              help="fail the first N attempts of a task in every run (every attempt without N)")
@click.option("--delay", "--duration", "-d", "delays", multiple=True, metavar=METAVAR,
              help="how long each attempt of a task takes (TASK:SECONDS is read too)")
@click.option("--scenarios", "scenarios_dir", default="scenarios", show_default=True, type=click.Path(file_okay=False),
              help="where the scenarios named per run (`sluice trigger --scenario NAME`, `resume --scenario`) are")
@click.option("--real-waits", is_flag=True, help="wait retry intervals in full (default: at most 1 s each)")
@click.option("--work-dir", default="build/local", show_default=True, type=click.Path(file_okay=False),
              help="where the functions' log and the jobs' logs go")
def serve(directory: str, port: int, scenario: str | None, failures: tuple[str, ...], delays: tuple[str, ...],
          scenarios_dir: str, real_waits: bool, work_dir: str) -> None:
    """Serve the run API on 127.0.0.1 over moto, with every pipeline in --dir deployed: runs started through it
    execute as `sluice run --local` runs do (jobs succeed unless scripted)."""
    try:
        from .local.scenario import Scenario, ScenarioError
        from .local.serve import LocalServer, servable
    except ImportError as exc:
        _usage(f"local mode needs the 'local' extra (pip install -e '.[local]'): {exc}")
    from .spec import load_paths

    loaded = load_paths([directory])
    for problem in loaded.problems:
        click.echo(str(problem), err=True)
    found, left_out = servable(loaded.pipelines)
    for note in left_out:
        click.echo(f"warning: {note}", err=True)
    if not found:
        _usage(f"no valid pipeline in {directory}/ to serve")
    try:
        script = Scenario.from_file(scenario) if scenario else Scenario.empty()
        script = script.with_flags([_split(f, ":", "--fail", optional=True) for f in failures],
                                   [_task_seconds(d, "--delay") for d in delays])
        server = LocalServer(found, port=port, scenario=script, work_dir=Path(work_dir),
                             retry_wait_cap=None if real_waits else 1.0, scenarios_dir=Path(scenarios_dir))
    except ScenarioError as exc:
        if exc.problems:  # one line per problem, as `sluice validate` prints them
            click.echo("\n".join(str(p) for p in exc.problems), err=True)
            sys.exit(2)
        _usage(str(exc))
    try:
        server.start()
    except OSError as exc:
        _error(f"cannot listen on 127.0.0.1:{port}: {exc.strerror or exc} (is another `sluice local serve` "
               "running? choose another --port)")
    def interrupted(signum: int, frame: Any) -> None:
        for again in (signal.SIGINT, signal.SIGTERM):  # a second signal must not break the winding down
            signal.signal(again, lambda *_: click.echo("still stopping: the runs are being stopped", err=True))
        raise KeyboardInterrupt  # SIGTERM stops the server as Ctrl-C does: runs stopped, moto left cleanly

    for signum in (signal.SIGINT, signal.SIGTERM):  # SIGINT too: a parent may have started it with SIGINT ignored
        signal.signal(signum, interrupted)
    try:
        click.echo(f"sluice local serve: {len(found)} pipeline(s) on moto: {', '.join(found)}")
        click.echo(f"run API: {server.url}  (e.g. sluice trigger {next(iter(found))} --local"
                   f"{'' if port == LOCAL_PORT else ' --port ' + server.url.rsplit(':', 1)[-1]})")
        click.echo(f"functions log: {server.log}")
        click.echo("Ctrl-C to stop")
        server.serve_forever()
    except KeyboardInterrupt:
        click.echo("stopping: running runs are stopped", err=True)
    finally:
        server.close()
    for run_id, status in server.stopped_runs.items():
        click.echo(f"stopped {run_id}: recorded {status or 'nothing (its end was not recorded in time)'}", err=True)


def _task_seconds(item: str, flag: str) -> tuple[str, str]:
    try:
        return split_task_seconds(item, flag)
    except FlagError as exc:
        _usage(str(exc))


def _split(item: str, sep: str, flag: str, optional: bool = False) -> tuple[str, str]:
    key, found, value = item.partition(sep)
    if not key or (not found and not optional):
        _usage(f"{flag} takes KEY{sep}VALUE, got {item!r}")
    return key, value
