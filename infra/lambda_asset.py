"""Build the Lambda code asset and its dependency layer offline, without Docker.

The function asset holds only Sluice's code (functions/ and the core modules it imports). Dependencies go into
a layer built by pip for the Lambda platform (manylinux wheels only), so the function asset stays small and
the layer is shared by every Sluice function. boto3 is not packaged: the Lambda Python runtime has it.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import io
import shutil
import subprocess
import sys
import tempfile
import time
import zipfile
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BUILD = ROOT / "build" / "lambda"
# The core modules the functions import; sluice.spec and sluice.compile stay out (synth-time only).
CORE = ("__init__.py", "contract.py", "template.py", "ledger.py", "run_store_schema.py")
# Installed without their dependencies' dependencies: botocore, urllib3, jmespath, dateutil and six come with
# the Lambda Python runtime (with boto3), and packaging them again would add ~30 MB.
LAYER_REQUIREMENTS = ("aws-lambda-powertools>=3.0,<4", "aws-xray-sdk>=2.12", "wrapt", "pydantic>=2.7,<3",
                      "pydantic-core", "annotated-types", "typing-extensions", "typing-inspection",
                      "jsonpath-ng>=1.6")  # Powertools Data Masking: rejected events are logged redacted
PYTHON_VERSION = "3.14"  # the Lambda runtime infra/constructs/runtime.py deploys (cdk-nag L1: the latest)


@dataclass(frozen=True)
class Asset:
    path: Path
    bytes: int


def build_code(target: Path = BUILD / "code") -> Asset:
    """functions/ and the core modules, without tests or caches, in a directory named by their content
    (`code-<hash>`): synths in parallel processes (the test workers, the CDK CLI) never see one another's copy half
    made or deleted. A copy is staged next to it and renamed into place, which is atomic; an equal one is kept."""
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}-", dir=target.parent))
    shutil.copytree(ROOT / "functions", staging / "functions",
                    ignore=shutil.ignore_patterns("__pycache__", "*.pyc", "README.md"))
    (staging / "sluice").mkdir()
    for name in CORE:
        shutil.copy2(ROOT / "sluice" / name, staging / "sluice" / name)
    digest = hashlib.sha256()
    for file in sorted(f for f in staging.rglob("*") if f.is_file()):
        digest.update(f"{file.relative_to(staging)}\0".encode() + file.read_bytes() + b"\0")
    final = target.parent / f"{target.name}-{digest.hexdigest()[:16]}"
    try:
        staging.rename(final)
    except OSError:  # another process made the same copy first
        shutil.rmtree(staging, ignore_errors=True)
    _forget_old(target, keep=final)
    return Asset(final, _size(final))


def _forget_old(target: Path, *, keep: Path) -> None:
    """Copies of older code (and the unversioned `code` of earlier builds), once no synth can still be reading them."""
    cutoff = time.time() - 3600
    for old in [target, *target.parent.glob(f"{target.name}-*"), *target.parent.glob(f".{target.name}-*")]:
        with contextlib.suppress(OSError):
            if old != keep and old.stat().st_mtime < cutoff:
                shutil.rmtree(old, ignore_errors=True)


def build_layer(target: Path = BUILD / "layer", *, architecture: str = "x86_64") -> Asset:
    """pip-installed dependencies for the Lambda platform under python/ (the layer layout); cached by content. One
    process builds it at a time (a file lock): the others wait and find it built."""
    platform = {"x86_64": "manylinux2014_x86_64", "arm64": "manylinux2014_aarch64"}[architecture]
    stamp = target / ".requirements"
    wanted = "\n".join((*LAYER_REQUIREMENTS, platform, PYTHON_VERSION, "no-compile"))
    target.parent.mkdir(parents=True, exist_ok=True)
    with open(target.parent / f".{target.name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not (stamp.exists() and stamp.read_text() == wanted):
            shutil.rmtree(target, ignore_errors=True)
            pip = subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check",  # nosec B603  # pip of this interpreter, a fixed argument list, no shell
                                  "--no-deps", "--no-compile", "--target", str(target / "python"), "--platform",
                                  platform, "--implementation", "cp", "--python-version", PYTHON_VERSION,
                                  "--only-binary=:all:", *LAYER_REQUIREMENTS], capture_output=True, text=True)
            if pip.returncode:
                raise RuntimeError(f"building the Lambda layer failed:\n{pip.stderr}")
            stamp.write_text(wanted)
    return Asset(target, _size(target / "python"))


def _size(path: Path) -> int:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file())


def zipped_size(path: Path) -> int:
    """The size of the directory as the zip file CDK uploads."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for file in sorted(f for f in path.rglob("*") if f.is_file() and "__pycache__" not in f.parts):
            archive.write(file, file.relative_to(path))
    return buffer.tell()
