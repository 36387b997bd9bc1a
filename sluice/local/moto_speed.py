"""Speed-ups for moto that change no answer, applied while local mode (or a test harness) runs (issue 16).

A 200-task local run spent most of its time in three places of moto, each of which does more work than the
answer needs. Each patch below keeps moto's behaviour to the byte, and each is written so it could be offered to
moto as is; tests/integration/test_moto_speed.py checks every one against moto's own path.

- Parsed definitions, cached: moto's Step Functions interpreter parses the definition with ANTLR for every
  execution (about 3.7 s for a 100-task pipeline's 185 KB, and linear in its size). The parsed program is a tree
  of plain objects: it is pickled once per definition text and moto version, kept in memory and on disk
  (`cache_dir`), and every execution gets a fresh copy (unpickled, 20 ms), as a fresh parse would give it. A
  cache file that cannot be read is parsed again and replaced.
- Queries read one partition: moto's Table.query walks and sorts every item of the table for every query, then
  keeps those with the hash key asked for, and sizes every item of the partition whether or not it matches the
  range-key condition. For a query on the table (not an index) the patch hands it only that partition, already in
  range-key order, and of it only what the condition can reach (see `_reachable`): the same answer, pages
  included. For a query on an index it hands
  the items unsorted, since moto sorts them by the index's keys and the table's keys after (a total order).
- Attribute values as they are: moto's response serializer walks the botocore shape of every DynamoDB attribute
  value (the `AttributeValue` union) member by member, although moto holds them in wire form already. A value
  made only of strings (S, N, SS, NS), booleans (BOOL, NULL), lists (L) and maps (M) serializes to itself; the
  patch writes such a value as it is. Anything else (a binary value, an unexpected key or type) goes through
  moto's serializer.
- Response keys looked up once: for every member of every response structure, moto's serializer builds six
  alias providers to list the keys the member's value may sit under in moto's object (the shape's name, the
  key, prefixes, xformed forms). For a plain dict those keys depend only on the member's key, its shape and the
  shape's parent; the patch lists them once per (picker, key, shape, parent) and looks them up in the same
  order, so the value picked is the same.
- One client per service: the interpreter creates a new boto3 client (service model loaded, handlers
  registered) for every Lambda invoke and every service integration, with the same fixed arguments each time.
  botocore clients are thread-safe; the patch keeps one per (region, service) while the patch is on.
- JSONPaths parsed once: jsonpath_ng builds a new PLY parser (its tables read again) for every path the
  interpreter evaluates. Parsed paths are immutable trees; the patch keeps one per path text.
"""

from __future__ import annotations

import hashlib
import os
import pickle  # nosec B403  # only our own cache files, written by this module under the user's cache directory
import tempfile
import threading
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any
from unittest import mock

DEFAULT_CACHE = "SLUICE_CACHE_DIR"


def cache_directory() -> Path:
    """Where parsed definitions are kept: $SLUICE_CACHE_DIR, else $XDG_CACHE_HOME/sluice, else ~/.cache/sluice."""
    if os.environ.get(DEFAULT_CACHE):
        return Path(os.environ[DEFAULT_CACHE])
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "sluice"


class ProgramCache:
    """Parsed Step Functions programs by definition text: pickled bytes in memory, and files under `directory`
    (None: memory only). Thread-safe; two processes writing the same file each write a whole file and rename it."""

    def __init__(self, directory: Path | None) -> None:
        import moto

        self.directory = directory / "asl" if directory is not None else None
        self._version = moto.__version__
        self._memory: dict[str, bytes] = {}
        self._lock = threading.Lock()
        self.parses = 0  # how many definitions had to be parsed (the rest came from the cache)

    def program(self, definition: str) -> Any:
        key = hashlib.sha256(f"{self._version}\n{definition}".encode()).hexdigest()
        with self._lock:
            blob = self._memory.get(key)
        if blob is None:
            blob = self._read(key)
        if blob is not None:
            try:
                return pickle.loads(blob)  # nosec B301  # bytes this module pickled (see the class docstring)
            except Exception:  # a damaged cache entry is parsed again and replaced
                blob = None
        program = parse(definition)
        self.parses += 1
        blob = pickle.dumps(program, protocol=pickle.HIGHEST_PROTOCOL)
        with self._lock:
            self._memory[key] = blob
        self._write(key, blob)
        return pickle.loads(blob)  # nosec B301  # a fresh copy, as every execution gets one

    def _read(self, key: str) -> bytes | None:
        if self.directory is None:
            return None
        try:
            blob = (self.directory / f"{key}.pickle").read_bytes()
        except OSError:
            return None
        with self._lock:
            self._memory[key] = blob
        return blob

    def _write(self, key: str, blob: bytes) -> None:
        if self.directory is None:
            return
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
            with tempfile.NamedTemporaryFile(dir=self.directory, prefix=f".{key}.", delete=False) as out:
                out.write(blob)
            os.replace(out.name, self.directory / f"{key}.pickle")
        except OSError:
            return  # a cache that cannot be written only costs the next run a parse


def parse(definition: str) -> Any:
    """moto's parse of a definition, in ANTLR's two-stage way: SLL prediction first (about 40 % faster here),
    and moto's own full-LL parse whenever SLL reports anything, so an error reads exactly as moto's does."""
    from antlr4 import CommonTokenStream, InputStream, PredictionMode  # type: ignore[import-untyped]
    from antlr4.error.ErrorStrategy import BailErrorStrategy  # type: ignore[import-untyped]
    from moto.stepfunctions.parser.asl.antlr.runtime.ASLLexer import ASLLexer
    from moto.stepfunctions.parser.asl.antlr.runtime.ASLParser import ASLParser
    from moto.stepfunctions.parser.asl.parse.asl_parser import AmazonStateLanguageParser
    from moto.stepfunctions.parser.asl.parse.preprocessor import Preprocessor

    try:
        parser: Any = ASLParser(CommonTokenStream(ASLLexer(InputStream(definition))))
        parser.removeErrorListeners()
        parser._errHandler = BailErrorStrategy()
        parser._interp.predictionMode = PredictionMode.SLL
        tree = parser.state_machine()
    except Exception:  # SLL gave up: moto's own parse decides, and words any error its way
        return AmazonStateLanguageParser.parse(definition)[0]
    return Preprocessor().visit(tree)


@contextmanager
def programs_cached(cache: ProgramCache) -> Iterator[ProgramCache]:
    """Every execution's program comes from `cache` (see the module docstring)."""
    from moto.stepfunctions.parser.backend.execution_worker import ExecutionWorker

    def entrypoint(self: Any) -> Any:
        return cache.program(self._evaluation_details.state_machine_details.definition)

    with mock.patch.object(ExecutionWorker, "_get_evaluation_entrypoint", entrypoint):
        yield cache


_querying = threading.local()


@contextmanager
def queries_by_partition() -> Iterator[None]:
    """Table.query reads one partition, and only the part its key condition can reach (table queries), or skips
    a sort moto redoes (index queries)."""
    from moto.dynamodb.models.table import RESULT_SIZE_LIMIT, Table

    query, all_items = Table.query, Table.all_items

    def partition_query(self: Any, hash_key: Any, *args: Any, **kwargs: Any) -> Any:
        index_name = kwargs.get("index_name", args[6] if len(args) > 6 else None)
        comparison, values = (args[0], args[1]) if len(args) > 1 else (None, None)
        conditions = kwargs.get("range_key_conditions")
        plain = not (set(kwargs) - {"index_name", "consistent_read", "filter_expression", "hash_key_conditions",
                                     "range_key_conditions"}) and len(args) <= 9  # no legacy filter_kwargs
        _querying.scope = (self, hash_key, index_name, comparison if plain else None, values,
                           conditions[-1][0] if conditions else None)
        try:
            return query(self, hash_key, *args, **kwargs)
        finally:
            _querying.scope = None

    def scoped_items(self: Any) -> Any:
        scope = getattr(_querying, "scope", None)
        if scope is None or scope[0] is not self:
            return all_items(self)
        _, hash_key, index_name, comparison, values, compared_attr = scope
        _querying.scope = None  # one use: anything else the query calls sees the whole table
        if index_name:
            return [item for hash_set in self.items.values()
                    for item in (hash_set.values() if self.range_key_attr else [hash_set])]
        if not self.range_key_attr or hash_key is None:
            return all_items(self)
        partition = self.items.get(hash_key)
        ordered = sorted(partition.values(), key=lambda item: item.range_key) if partition else []
        return _reachable(ordered, comparison, values, compared_attr, RESULT_SIZE_LIMIT)

    with mock.patch.object(Table, "query", partition_query), mock.patch.object(Table, "all_items", scoped_items):
        yield


MAX_ITEM_SIZE = 405_000  # moto's LimitedSizeDict refuses an item past this (DynamoDB's 400 KB)


def _reachable(ordered: list[Any], comparison: str | None, values: Any, compared_attr: str | None,
               page_limit: int) -> list[Any]:
    """The items of a partition (in range-key order) that moto's query loop can act on for this key condition:
    the span from the first to the last item that matches (moto's own comparison, as its loop makes it) and one
    item on each side. moto's loop also looks at every other item, but one that does not match only ends a page
    (LastEvaluatedKey) when the page is full, which the neighbour after the span already decides, or when the
    page's size plus its own passes the 1 MB page limit: when the matching items could come that close, every
    item is handed over."""
    if comparison is None or not ordered:
        return ordered

    def matches(item: Any) -> bool:
        value = item.attrs.get(compared_attr) if compared_attr else None
        return bool((value if value else item.range_key).compare(comparison, values))

    hits = [index for index, item in enumerate(ordered) if matches(item)]
    if not hits:
        return []
    if sum(ordered[index].size() for index in hits) > page_limit - MAX_ITEM_SIZE:
        return ordered
    return ordered[max(hits[0] - 1, 0):hits[-1] + 2]


_SCALARS = {"S": str, "N": str, "BOOL": bool, "NULL": bool}
_SETS = {"SS", "NS"}


def _plain(value: Any) -> bool:
    """An attribute value that moto's serializer would give back unchanged."""
    if type(value) is not dict or len(value) != 1:
        return False
    ((kind, inner),) = value.items()
    if kind in _SCALARS:
        return type(inner) is _SCALARS[kind]
    if kind in _SETS:
        return type(inner) is list and all(type(member) is str for member in inner)
    if kind == "L":
        return type(inner) is list and all(_plain(member) for member in inner)
    if kind == "M":
        return type(inner) is dict and all(type(name) is str and _plain(member) for name, member in inner.items())
    return False


@contextmanager
def attribute_values_as_is() -> Iterator[None]:
    """DynamoDB attribute values in wire form skip moto's shape walk (see the module docstring)."""
    from moto.core.serialize import ResponseSerializer

    serialize = ResponseSerializer._serialize

    def _serialize(self: Any, serialized: Any, value: Any, shape: Any, key: str) -> None:
        if shape.name == "AttributeValue" and self.service_model.service_name == "dynamodb" and _plain(value):
            serialized[self.get_serialized_name(shape, key)] = value
            return
        serialize(self, serialized, value, shape, key)

    with mock.patch.object(ResponseSerializer, "_serialize", _serialize):
        yield


@contextmanager
def response_keys_listed_once() -> Iterator[None]:
    """moto's AttributePicker with its candidate keys for plain dicts listed once (see the module docstring)."""
    from moto.core.constants import MISSING
    from moto.core.serialize import AttributePicker
    from moto.core.utils import get_value

    call = AttributePicker.__call__
    listed: dict[tuple[Any, ...], tuple[tuple[str, ...], Any, Any]] = {}

    def picked(self: Any, context: Any) -> Any:
        obj = context.obj
        if type(obj) is not dict:
            return call(self, context)
        shape = context.shape
        parent = getattr(shape, "parent", None)
        key = (type(self), id(self.alias_providers), context.key, id(shape), id(parent))
        entry = listed.get(key)
        if entry is None:
            # The shape and parent are kept with their keys, so their ids are not reused while the entry lives.
            entry = listed[key] = (tuple(self.get_possible_keys(context)), shape, parent)
        for possible_key in entry[0]:
            value = get_value(obj, possible_key, MISSING)
            if value is not MISSING:
                break
        else:
            value = None
        key_path = f"{context.key_path}.{context.key}"
        for transform_path, transform in self.response_transformers.items():
            if key_path.endswith(transform_path):
                return transform(value)
        return value

    with mock.patch.object(AttributePicker, "__call__", picked):
        yield


def _rebound(prefix: str, name: str, original: Any, replacement: Any) -> ExitStack:
    """`name` replaced by `replacement` in every loaded module under `prefix` that imported `original` by name."""
    import sys

    stack = ExitStack()
    for module_name, module in list(sys.modules.items()):
        if module_name.startswith(prefix) and getattr(module, name, None) is original:
            stack.enter_context(mock.patch.object(module, name, replacement))
    return stack


@contextmanager
def clients_reused() -> Iterator[None]:
    """The interpreter's boto3 clients made once per (region, service, endpoint) (see the module docstring)."""
    import moto.stepfunctions.parser.asl.component.state.exec.state_task.state_task_factory  # noqa: F401  # loads every caller
    from moto.core.models import botocore_stubber
    from moto.settings import moto_server_port
    from moto.stepfunctions.parser.asl.utils import boto_client

    original = boto_client.boto_client_for
    made: dict[tuple[Any, ...], Any] = {}
    lock = threading.Lock()

    def boto_client_for(region: str, service: str, state_credentials: Any = None) -> Any:
        # moto's own ignores state_credentials: every client gets the same fixed arguments.
        key = (region, service, botocore_stubber.enabled, moto_server_port())
        with lock:
            if key not in made:
                made[key] = original(region, service, state_credentials)
            return made[key]

    with _rebound("moto.stepfunctions.parser", "boto_client_for", original, boto_client_for):
        yield


@contextmanager
def json_paths_parsed_once() -> Iterator[None]:
    """The interpreter's JSONPaths parsed once per text (see the module docstring)."""
    import functools

    import jsonpath_ng
    import jsonpath_ng.ext
    from moto.stepfunctions.parser.asl.component.common.path import result_path  # noqa: F401  # imports `parse`
    from moto.stepfunctions.parser.asl.utils import json_path  # noqa: F401  # imports `parse`

    with ExitStack() as stack:
        for original in (jsonpath_ng.parse, jsonpath_ng.ext.parse):  # type: ignore[attr-defined]
            stack.enter_context(_rebound("moto.stepfunctions.parser", "parse", original,
                                         functools.lru_cache(maxsize=4096)(original)))
        yield


@contextmanager
def faster(cache: ProgramCache | None = None) -> Iterator[ProgramCache]:
    """Every speed-up above; parsed programs cached in `cache` (default: memory and `cache_directory()`)."""
    with ExitStack() as stack:
        programs = stack.enter_context(programs_cached(cache or ProgramCache(cache_directory())))
        stack.enter_context(queries_by_partition())
        stack.enter_context(attribute_values_as_is())
        stack.enter_context(response_keys_listed_once())
        stack.enter_context(clients_reused())
        stack.enter_context(json_paths_parsed_once())
        yield programs
