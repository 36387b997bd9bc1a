"""YAML loading that keeps line numbers and refuses what PyYAML would silently accept."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import yaml

from .problems import Problem

Path = tuple[str | int, ...]

MAX_FILE_BYTES = 1_000_000
MAX_NODES = 200_000
# Deeper values cannot be compiled (pydantic's serializer stops at its own depth limit) and no real payload is.
MAX_DEPTH = 64


@dataclass
class YamlDocument:
    """Plain Python data plus the line (1-based) of every node, keyed by its path in the document."""

    data: Any
    lines: dict[Path, int] = field(default_factory=dict)

    def line_of(self, path: Path) -> int | None:
        """The line of the deepest node on `path` that the document has."""
        for end in range(len(path), -1, -1):
            line = self.lines.get(tuple(path[:end]))
            if line is not None:
                return line
        return None


class _Builder:
    """Turns a composed node tree into Python data, recording lines and duplicate keys."""

    def __init__(self, file: str) -> None:
        self.file = file
        self.lines: dict[Path, int] = {}
        self.problems: list[Problem] = []
        self.count = 0
        self._scalars = yaml.SafeLoader("")

    def build(self, node: yaml.Node, path: Path) -> Any:
        self.count += 1
        if self.count > MAX_NODES:
            raise _TooBig(node)
        if len(path) > MAX_DEPTH:
            raise _TooDeep(node, path)
        self.lines[path] = node.start_mark.line + 1
        if isinstance(node, yaml.MappingNode):
            return self._mapping(node, path)
        if isinstance(node, yaml.SequenceNode):
            return [self.build(item, (*path, i)) for i, item in enumerate(node.value)]
        return self._scalar(node)

    def _scalar(self, node: yaml.Node) -> Any:
        try:
            return self._scalars.construct_object(node, deep=True)
        except ValueError as exc:  # e.g. a timestamp such as 2026-02-30 that names no real day
            kind = str(node.tag).rsplit(":", 1)[-1]
            raise yaml.constructor.ConstructorError(
                None, None, f"{node.value!r} is not a valid {kind} ({exc}); quote it to keep it a string",
                node.start_mark) from None

    def _mapping(self, node: yaml.MappingNode, path: Path) -> dict[Any, Any]:
        out: dict[Any, Any] = {}
        first_line: dict[Any, int] = {}
        for key_node, value_node in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":
                self.problems.append(
                    Problem(self.file, path, "YAML merge keys ('<<') are not supported: write the keys out",
                            line=key_node.start_mark.line + 1)
                )
                continue
            key = self._scalar(key_node)
            if not isinstance(key, str | int | float | bool) or key is None:
                self.problems.append(Problem(self.file, path, "mapping keys must be plain strings",
                                             line=key_node.start_mark.line + 1))
                continue
            key = str(key) if not isinstance(key, str) else key
            line = key_node.start_mark.line + 1
            if key in out:
                self.problems.append(
                    Problem(self.file, (*path, key),
                            f"duplicate key '{key}' (first at line {first_line[key]}); YAML would keep only the last",
                            line=line, hint="remove or rename one of them")
                )
                continue
            first_line[key] = line
            out[key] = self.build(value_node, (*path, key))
            self.lines[(*path, key)] = line
        return out


class _TooDeep(Exception):
    def __init__(self, node: yaml.Node, path: Path) -> None:
        self.node, self.path = node, path


class _TooBig(Exception):
    def __init__(self, node: yaml.Node) -> None:
        self.node = node


def load_yaml(text: str, file: str, kind: str = "pipeline") -> tuple[YamlDocument | None, list[Problem]]:
    """Parse one YAML document; never raises for bad input, returns problems instead. `kind` names the file's
    kind in messages ("pipeline", "scenario")."""
    if len(text.encode()) > MAX_FILE_BYTES:
        return None, [Problem(file, (), f"file is larger than {MAX_FILE_BYTES:,} bytes", hint=f"split the {kind}")]
    try:
        nodes = list(yaml.compose_all(text, Loader=yaml.SafeLoader))
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else None
        return None, [Problem(file, (), f"not valid YAML: {exc.problem or exc.context}", line=line)]
    except yaml.reader.ReaderError as exc:  # not a MarkedYAMLError: it has a character position, not a mark
        line = text[:exc.position].count("\n") + 1
        return None, [Problem(file, (), f"not valid YAML: {exc.reason} character {exc.character!r} (control "
                                        "characters may not appear in YAML)", line=line)]
    except yaml.YAMLError as exc:
        return None, [Problem(file, (), f"not valid YAML: {exc}")]
    except RecursionError:
        return None, [Problem(file, (), "YAML nesting is too deep")]
    if len(nodes) != 1 or nodes[0] is None:
        what = "is empty" if not nodes or nodes[0] is None else f"holds {len(nodes)} documents"
        second = nodes[1].start_mark.line + 1 if len(nodes) > 1 and nodes[1] is not None else None  # extra doc
        return None, [Problem(file, (), f"file {what}; a {kind} file holds exactly one YAML document", line=second)]
    builder = _Builder(file)
    try:
        data = builder.build(nodes[0], ())
    except _TooBig as big:
        return None, [Problem(file, (), f"document has more than {MAX_NODES:,} nodes (alias expansion?)",
                              line=big.node.start_mark.line + 1)]
    except _TooDeep as deep:
        return None, [Problem(file, deep.path[:3], f"values nest deeper than {MAX_DEPTH} levels; flatten them",
                              line=deep.node.start_mark.line + 1)]
    except RecursionError:
        return None, [Problem(file, (), "YAML nesting is too deep")]
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        return None, [Problem(file, (), f"not valid YAML: {exc.problem or exc.context}",
                              line=mark.line + 1 if mark else None)]
    except yaml.YAMLError as exc:
        return None, [Problem(file, (), f"not valid YAML: {exc}")]
    return YamlDocument(data, builder.lines), builder.problems
