"""Messages built from optional parts (error texts of events and of job services alike)."""

from __future__ import annotations

from typing import Any


def joined(*parts: object, sep: str = ": ") -> str:
    """The parts that say something, joined: joined("FAILED", None, "out of memory") == "FAILED: out of memory"."""
    return sep.join(str(part) for part in parts if part not in (None, ""))


def shown(value: Any) -> str:
    """A value taken from an event, for a message: short whatever it holds."""
    if value is None:
        return "missing"
    if isinstance(value, str):
        return repr(value if len(value) <= 80 else value[:77] + "...")
    return f"of type {type(value).__name__}"
