"""A validation problem: where (file, YAML path, line), what is wrong, and what would be valid."""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from dataclasses import dataclass

Path = tuple[str | int, ...]
Found = tuple[Path, str, str | None]  # what a check finds: path, message, hint


@dataclass(frozen=True)
class Problem:
    file: str
    path: Path
    message: str
    line: int | None = None
    hint: str | None = None
    severity: str = "error"

    @property
    def where(self) -> str:
        """`file:line: path` as editors and terminals link it."""
        loc = f"{self.file}:{self.line}" if self.line else self.file
        return f"{loc}: {format_path(self.path)}" if self.path else loc

    def __str__(self) -> str:
        text = f"{self.where}: {self.severity}: {self.message}"
        return f"{text} ({self.hint})" if self.hint else text

    def to_dict(self) -> dict[str, object]:
        return {"file": self.file, "path": format_path(self.path), "line": self.line, "severity": self.severity,
                "message": self.message, "hint": self.hint}


def format_path(path: Path) -> str:
    """YAML path as people read it: tasks.load.ecs.command[0]."""
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out


def did_you_mean(word: str, choices: Iterable[str]) -> str | None:
    """A 'did you mean' hint naming the closest valid choice, if one is close."""
    close = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return f"did you mean '{close[0]}'?" if close else None


class SpecError(Exception):
    """Raised by loaders when a pipeline file is not valid; carries every problem found."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))
