"""Messages built from optional parts (error texts of events and of job services alike)."""

from __future__ import annotations


def joined(*parts: object, sep: str = ": ") -> str:
    """The parts that say something, joined: joined("FAILED", None, "out of memory") == "FAILED: out of memory"."""
    return sep.join(str(part) for part in parts if part not in (None, ""))
