"""`TASK=SECONDS` on the command line: `simulate --duration`, `run --local --delay` and `local serve --delay`.

One syntax everywhere, `TASK=SECONDS` (as `--param KEY=VALUE`); the older `TASK:SECONDS` of `--delay` is still
read, so scripts written for it keep working.
"""

from __future__ import annotations

import math

METAVAR = "TASK=SECONDS"


class FlagError(ValueError):
    """A flag's value that cannot be read; the message names the flag and the value."""


def split_task_seconds(item: str, flag: str) -> tuple[str, str]:
    """TASK and SECONDS (as text) of `TASK=SECONDS`, or of the older `TASK:SECONDS`."""
    task, sep, value = item.partition("=")
    if not sep:
        task, sep, value = item.partition(":")
    if not task or not sep:
        raise FlagError(f"{flag} takes {METAVAR}, got {item!r}")
    return task, value


def task_seconds(item: str, flag: str) -> tuple[str, float]:
    """TASK and SECONDS of `TASK=SECONDS`: a finite number, 0 or more."""
    task, text = split_task_seconds(item, flag)
    return task, seconds(text, f"{flag} {task}={text}")


def seconds(text: str, where: str) -> float:
    """`text` as a number of seconds, 0 or more; FlagError naming `where` otherwise."""
    try:
        value = float(text)
    except ValueError:
        raise FlagError(f"{where}: {text!r} is not a number of seconds") from None
    if not math.isfinite(value) or value < 0:
        raise FlagError(f"{where}: seconds must be a number 0 or more, got {text!r}")
    return value
