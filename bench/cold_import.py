"""Cold start: import time of each Lambda handler module in a fresh interpreter, and the size of the asset.

    .venv/bin/python bench/cold_import.py [--runs 7] [--no-layer]

Targets (issue 3): under 150 ms per handler import; function asset under 5 MB without shared layers.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

HANDLERS = ["functions.dispatch.handler", "functions.complete.handler", "functions.record.handler",
            "functions.sweep.handler"]
# A Lambda container's environment (the function's settings as the Runtime construct sets them).
LAMBDA_ENV = {"RUN_TABLE": "sluice-runs", "AWS_DEFAULT_REGION": "eu-west-1", "AWS_LAMBDA_FUNCTION_NAME": "bench",
              "PYDANTIC_DISABLE_PLUGINS": "__all__", "PATH": "/usr/bin:/bin"}
MODES = {"tracing on": {}, "tracing off": {"POWERTOOLS_TRACE_DISABLED": "true"}}
# What a cold start also pays before the first request is served: the clients the dispatcher needs.
FIRST_CLIENTS = "from functions.adapters.clients import client; client('dynamodb'); client('stepfunctions')"


def import_ms(module: str, asset: Path, env: dict[str, str]) -> tuple[float, float]:
    """(import, import + first clients) in ms, in a fresh interpreter started in the built asset (as Lambda does:
    the asset first on sys.path); interpreter start-up itself is not counted."""
    code = (f"import time; t = time.perf_counter(); import {module}; a = time.perf_counter(); {FIRST_CLIENTS}; "
            "print((a - t) * 1000, (time.perf_counter() - t) * 1000)")
    out = subprocess.run([sys.executable, "-c", code], cwd=asset, env=LAMBDA_ENV | env, capture_output=True,
                         text=True, check=True)
    first, second = out.stdout.split()
    return float(first), float(second)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--no-layer", action="store_true", help="skip building the dependency layer (pip)")
    args = parser.parse_args()
    from infra.lambda_asset import build_code, build_layer, zipped_size

    code = build_code()
    print(f"function asset (functions/ + core): {code.bytes / 1e6:.2f} MB, {zipped_size(code.path) / 1e6:.2f} MB "
          f"zipped  ({code.path})")
    for mode, env in MODES.items():
        import_ms(HANDLERS[0], code.path, env)  # warm the file cache and write .pyc files, as Lambda has them
        print(f"{mode}: median of {args.runs} fresh interpreters (Python {sys.version.split()[0]}), "
              "import / import + first clients:")
        for module in HANDLERS:
            runs = [import_ms(module, code.path, env) for _ in range(args.runs)]
            imports, ready = [r[0] for r in runs], [r[1] for r in runs]
            print(f"  {module:28} {statistics.median(imports):6.1f} ms / {statistics.median(ready):6.1f} ms  "
                  f"(import min {min(imports):.1f}, max {max(imports):.1f})")
    started = time.perf_counter()
    if not args.no_layer:
        layer = build_layer()
        print(f"dependency layer (Powertools, X-Ray SDK, pydantic): {layer.bytes / 1e6:.2f} MB, "
              f"{zipped_size(layer.path) / 1e6:.2f} MB zipped  ({layer.path}, {time.perf_counter() - started:.1f} s)")


if __name__ == "__main__":
    main()
