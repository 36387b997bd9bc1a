"""CDK synth benchmark: time and peak memory of synthesizing the infra app for 1, 10 and 50 generated pipelines.

Run from the repository root:

    .venv/bin/python bench/synth.py                      # 1, 10 and 50 pipelines, one run each (~1 min)
    .venv/bin/python bench/synth.py --repeat 3           # medians of 3 runs
    .venv/bin/python bench/synth.py --sizes 50 --no-lint --json
    .venv/bin/python bench/synth.py --no-validation      # as `cdk synth --no-validation` (CDK_VALIDATION=false)

The pipelines are `bench/fleet.py`'s (10 tasks each over every job kind, schedules, S3 triggers, child runs),
synthesized with `infra.app.build_app(..., nag=True)` and `app.synth()` in the "dev" environment, with
cdk-nag's AwsSolutions checks and CDK's built-in CloudFormation validation on, and the context the CDK CLI
passes to the app (`npx cdk synth`: path and asset metadata, version reporting, bundling of every stack;
cdk.json's context). The CLI's own start-up and its reading of the cloud assembly are not counted.

Every measurement is a fresh `python bench/synth.py --one N --outdir DIR` process, so imports, the start of the
jsii kernel (Node) and loading aws-cdk-lib into it count as a user sees them. The Lambda layer is built once
before timing (pip does not count); each process still copies the function code, as `infra.app` does.

Columns:
* **process s**: wall time of the whole process, start to exit.
* **import s**: `import infra.app` (aws_cdk, cdk_nag, the jsii kernel start).
* **assets s**: `default_assets()` (copies functions/ into build/lambda/code-<content hash>; the layer is cached).
* **build s**: `build_app()` (compiling the pipelines, sharding, constructing every stack);
  **synth s**: `app.synth()` (cdk-nag, CloudFormation validation, writing templates and staging the assets);
  **build+synth s** is their sum.
* **py MiB**: the Python process's peak RSS (VmHWM); **node MiB**: the jsii kernel's peak RSS, summed over the
  Node processes under the Python process (jsii runs a launcher and the kernel), read from
  /proc/<pid>/status VmHWM just before the process exits (RUSAGE_CHILDREN only counts them once reaped).
* **stacks**, **max res**, **max KB**, **total KB**: templates written (`*.template.json`), the largest
  template's resource count and size, and the size of all templates.
* **lint s**: `cfn-lint` over the templates of the first run of a size (not repeated), and its findings.

Target: 50 pipelines synthesized in under 60 s (whole process), on a 2-core machine. Figures are printed,
never asserted.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

_STARTED = time.perf_counter()

ROOT = Path(__file__).resolve().parent.parent
for path in (ROOT, ROOT / "bench"):
    if str(path) not in sys.path:
        sys.path.insert(0, str(path))

SIZES = (1, 10, 50)
ENV = "dev"
TARGET_PIPELINES = 50
TARGET_SECONDS = 60.0
CFN_LINT = ROOT / ".venv" / "bin" / "cfn-lint"
# The context `cdk synth` gives the app by default (aws-cdk CLI 2.1148: contextFromSettings), besides cdk.json's.
# @aws-cdk/core:failSynthOnValidationErrors (false under the CLI, which then reports the findings) is left at
# its default so that a cdk-nag finding fails the benchmark's process instead of passing unnoticed.
CLI_CONTEXT: dict[str, Any] = {"aws:cdk:enable-path-metadata": True, "aws:cdk:enable-asset-metadata": True,
                               "aws:cdk:version-reporting": True, "aws:cdk:bundling-stacks": ["**"]}


def _vm_hwm_kib(pid: int | str) -> int:
    """Peak resident set size of a live process, KiB (0 if it is gone)."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def _descendants(root: int) -> list[tuple[int, str]]:
    """(pid, command name) of every live process under root, from /proc/*/stat."""
    parents: dict[int, list[tuple[int, str]]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        name, rest = stat[stat.index("(") + 1: stat.rindex(")")], stat[stat.rindex(")") + 2:].split()
        parents.setdefault(int(rest[1]), []).append((int(entry), name))
    found, todo = [], [root]
    while todo:
        for child in parents.get(todo.pop(), []):
            found.append(child)
            todo.append(child[0])
    return found


def one(n: int, outdir: Path) -> dict[str, Any]:
    """The child process: synthesize fleet(n) into outdir; the figures as a dict (printed as the last line)."""
    t0 = time.perf_counter()
    from fleet import fleet

    import infra  # noqa: F401  (quiet jsii before aws_cdk is imported)
    from infra.app import build_app, default_assets
    from infra.config import load_env

    t1 = time.perf_counter()
    pipelines = fleet(n)
    config = load_env(ENV)
    t2 = time.perf_counter()
    assets = default_assets(config.architecture)
    t3 = time.perf_counter()
    built = build_app(pipelines, config, assets=assets, outdir=str(outdir))
    t4 = time.perf_counter()
    built.app.synth()
    t5 = time.perf_counter()
    nodes = [(pid, _vm_hwm_kib(pid)) for pid, name in _descendants(os.getpid()) if name.startswith("node")]
    return {"pipelines": n, "tasks": sum(len(p.tasks) for p in pipelines.values()),
            "startup_s": t0 - _STARTED, "import_s": t1 - t0, "fleet_s": t2 - t1, "assets_s": t3 - t2,
            "build_s": t4 - t3, "synth_s": t5 - t4, "py_mib": _vm_hwm_kib("self") / 1024,
            "node_mib": sum(kib for _, kib in nodes) / 1024, "node_processes": len(nodes),
            "node_max_mib": max((kib for _, kib in nodes), default=0) / 1024}


def templates(outdir: Path) -> dict[str, Any]:
    stacks = {}
    for file in sorted(outdir.glob("*.template.json")):
        stacks[file.name.removesuffix(".template.json")] = (
            len(json.loads(file.read_text()).get("Resources", {})), file.stat().st_size)
    return {"stacks": len(stacks), "max_resources": max((r for r, _ in stacks.values()), default=0),
            "max_kb": max((b for _, b in stacks.values()), default=0) / 1000,
            "total_kb": sum(b for _, b in stacks.values()) / 1000,
            "largest": max(stacks, key=lambda s: stacks[s][1], default=None)}


def lint(outdir: Path) -> dict[str, Any]:
    files = sorted(str(f) for f in outdir.glob("*.template.json"))
    started = time.perf_counter()
    done = subprocess.run([str(CFN_LINT), "--format", "parseable", "--", *files], capture_output=True, text=True)
    findings = [line for line in done.stdout.splitlines() if line.strip()]
    if done.returncode and not findings:
        raise SystemExit(f"cfn-lint exited {done.returncode}:\n{done.stderr[-2000:]}")
    return {"lint_s": time.perf_counter() - started, "lint_findings": len(findings), "lint_sample": findings[:5]}


def child_env(validation: bool) -> dict[str, str]:
    cdk_json = json.loads((ROOT / "cdk.json").read_text())
    env = {**os.environ, "CDK_CONTEXT_JSON": json.dumps({**cdk_json.get("context", {}), **CLI_CONTEXT})}
    env.pop("CDK_VALIDATION", None)
    if not validation:
        env["CDK_VALIDATION"] = "false"
    return env


def run_one(n: int, env: dict[str, str], do_lint: bool) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix=f"synth-{n}-") as tmp:
        outdir = Path(tmp) / "cdk.out"
        started = time.perf_counter()
        done = subprocess.run([sys.executable, str(Path(__file__).resolve()), "--one", str(n), "--outdir",
                               str(outdir)], capture_output=True, text=True, cwd=ROOT, env=env)
        wall = time.perf_counter() - started
        if done.returncode != 0:
            raise SystemExit(f"{n} pipelines: the synth process exited {done.returncode}:\n{done.stderr[-4000:]}")
        result = json.loads(done.stdout.strip().splitlines()[-1])
        result.update(process_s=wall, build_synth_s=result["build_s"] + result["synth_s"], **templates(outdir))
        if do_lint:
            result.update(lint(outdir))
        return result


def median_row(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """Medians of the timings, maxima of the memory figures; template figures and lint from the first run."""
    row = dict(runs[0])
    for key in ("process_s", "startup_s", "import_s", "fleet_s", "assets_s", "build_s", "synth_s", "build_synth_s"):
        row[key] = statistics.median(r[key] for r in runs)
    for key in ("py_mib", "node_mib", "node_max_mib"):
        row[key] = max(r[key] for r in runs)
    row["runs"] = len(runs)
    row["process_all_s"] = [round(r["process_s"], 2) for r in runs]
    return row


COLUMNS = [("pipelines", "pipelines", "d"), ("tasks", "tasks", "d"), ("process s", "process_s", ".1f"),
           ("import s", "import_s", ".2f"), ("assets s", "assets_s", ".2f"), ("build s", "build_s", ".1f"),
           ("synth s", "synth_s", ".1f"), ("build+synth s", "build_synth_s", ".1f"), ("runs", "runs", "d"),
           ("py MiB", "py_mib", ".0f"), ("node MiB", "node_mib", ".0f"), ("stacks", "stacks", "d"),
           ("max res", "max_resources", "d"), ("max KB", "max_kb", ".0f"), ("total KB", "total_kb", ".0f"),
           ("lint s", "lint_s", ".1f"), ("findings", "lint_findings", "d")]


def print_table(rows: list[dict[str, Any]]) -> None:
    columns = [c for c in COLUMNS if any(c[1] in r for r in rows)]
    lines = [[format(r[key], spec) if key in r else "-" for _, key, spec in columns] for r in rows]
    widths = [max(len(title), *(len(line[i]) for line in lines)) for i, (title, _, _) in enumerate(columns)]
    print("  ".join(title.rjust(w) for (title, _, _), w in zip(columns, widths, strict=True)))
    print("  ".join("-" * w for w in widths))
    for line in lines:
        print("  ".join(cell.rjust(w) for cell, w in zip(line, widths, strict=True)))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=lambda s: [int(x) for x in s.split(",")], default=list(SIZES),
                        help="numbers of pipelines, default 1,10,50")
    parser.add_argument("--repeat", type=int, default=1, help="runs per size; timings are medians")
    parser.add_argument("--json", action="store_true", help="print the rows as JSON instead of a table")
    parser.add_argument("--no-lint", dest="lint", action="store_false", help="do not time cfn-lint")
    parser.add_argument("--no-validation", dest="validation", action="store_false",
                        help="CDK_VALIDATION=false, as `cdk synth --no-validation` (cdk-nag still runs)")
    parser.add_argument("--one", type=int, metavar="N", help=argparse.SUPPRESS)  # the child process
    parser.add_argument("--outdir", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.one is not None:
        print(json.dumps(one(args.one, args.outdir)))
        return 0

    # Warm the Lambda layer (pip, cached by content) and the code asset, as infra.app.default_assets would, without
    # starting a jsii kernel in this process.
    from infra import lambda_asset
    from infra.config import load_env

    lambda_asset.build_code()
    lambda_asset.build_layer(architecture=load_env(ENV).architecture)

    env = child_env(args.validation)
    began = time.perf_counter()
    if not args.json:
        print(f"CDK synth benchmark - Python {platform.python_version()}, {platform.machine()}, {os.cpu_count()} "
              f"cores; env {ENV}, cdk-nag on, CloudFormation validation {'on' if args.validation else 'off'}")
    rows = []
    for n in args.sizes:
        runs = []
        for i in range(args.repeat):
            runs.append(run_one(n, env, args.lint and i == 0))
            print(f"  {n:>3} pipelines, run {i + 1}: {runs[-1]['process_s']:.1f} s", file=sys.stderr, flush=True)
        rows.append(median_row(runs))
    target = next((r for r in rows if r["pipelines"] == TARGET_PIPELINES), None)
    verdict = None if target is None else target["process_s"] < TARGET_SECONDS
    if args.json:
        print(json.dumps({"python": platform.python_version(), "cores": os.cpu_count(), "env": ENV,
                          "validation": args.validation, "rows": rows, "target_met": verdict}, indent=2))
        return 0
    print()
    print_table(rows)
    print()
    if target is not None:
        print(f"target: synth {TARGET_PIPELINES} pipelines in < {TARGET_SECONDS:g} s (whole process)  "
              f"{target['process_s']:.1f} s  {'ok' if verdict else 'MISS'}")
    for r in rows:
        if r.get("lint_sample"):
            print(f"cfn-lint, {r['pipelines']} pipelines: {r['lint_findings']} finding(s), e.g. {r['lint_sample'][0]}")
    print(f"wall time {time.perf_counter() - began:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
