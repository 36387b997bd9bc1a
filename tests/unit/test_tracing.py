"""X-Ray never gets a run's data from Sluice's handlers: Powertools' response and error capture is off for each."""

from __future__ import annotations

import ast
import contextlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from aws_lambda_powertools import Tracer

from functions.observability import _Untraced
from tests.support.pipelines import ROOT

HANDLERS = sorted((ROOT / "functions").glob("*/handler.py"))
OFF = {"capture_response": False, "capture_error": False}


def _tracer_decorators(path: Path) -> list[ast.expr]:
    tree = ast.parse(path.read_text())
    return [d for node in ast.walk(tree) if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
            for d in node.decorator_list
            if "capture_lambda_handler" in ast.unparse(d) or "capture_method" in ast.unparse(d)]


def test_there_are_handlers_to_check():
    assert {p.parent.name for p in HANDLERS} >= {"api", "complete", "dispatch", "record", "start", "sweep"}


@pytest.mark.parametrize("path", HANDLERS, ids=lambda p: p.parent.name)
def test_every_handler_is_traced_without_its_response_or_error(path: Path):
    # GIVEN a function's handler module WHEN its tracer decorators are read
    decorators = _tracer_decorators(path)
    # THEN there is one, and it turns off both captures explicitly (a new handler copying another keeps them off)
    assert len(decorators) == 1, f"{path}: expected one @tracer.capture_lambda_handler(...)"
    (decorator,) = decorators
    assert isinstance(decorator, ast.Call), f"{path}: bare {ast.unparse(decorator)} records responses and errors"
    given = {k.arg: ast.literal_eval(k.value) for k in decorator.keywords}
    assert {k: given.get(k) for k in OFF} == OFF, f"{path}: {ast.unparse(decorator)}"


class _Subsegment:
    def __init__(self) -> None:
        self.metadata: list[tuple[str, Any]] = []

    def put_annotation(self, key: str, value: Any) -> None:
        pass

    def put_metadata(self, key: str, value: Any, namespace: str = "default") -> None:
        self.metadata.append((key, value))


class _Provider:
    def __init__(self) -> None:
        self.subsegment = _Subsegment()

    @contextlib.contextmanager
    def in_subsegment(self, name: str = "", **_: Any) -> Iterator[_Subsegment]:
        yield self.subsegment

    def patch(self, *_: Any, **__: Any) -> None:
        pass


@pytest.mark.parametrize("fails", [False, True])
def test_powertools_puts_neither_response_nor_error_in_metadata_with_captures_off(monkeypatch, fails: bool):
    # GIVEN Powertools' Tracer over a recording provider (its instances share config: this one is kept apart)
    monkeypatch.setattr(Tracer, "_config", dict(Tracer._config))
    provider = _Provider()
    tracer = Tracer(service="t", provider=provider)  # type: ignore[arg-type]

    @tracer.capture_lambda_handler(**OFF)
    def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
        if fails:
            raise ValueError(f"bad params {event['params']}")
        return {"params": event["params"]}

    # WHEN a handler answers with, or fails quoting, a run's params
    with contextlib.suppress(ValueError):
        handler({"params": {"token": "planted-9f3"}}, None)
    # THEN nothing reaches the trace's metadata
    assert provider.subsegment.metadata == []


def test_the_stand_in_tracer_takes_the_same_decorator_forms():
    untraced = _Untraced()

    def handler(event: Any, context: Any) -> str:
        return "ok"

    assert untraced.capture_lambda_handler(**OFF)(handler) is handler
    assert untraced.capture_lambda_handler(handler) is handler


class _Emitter:
    def send_entity(self, entity: Any) -> None:
        pass

    def set_daemon_address(self, address: Any) -> None:
        pass


@pytest.fixture
def recorder(monkeypatch) -> Iterator[Any]:
    """A real X-Ray recorder with a segment open, sending nowhere (the SDK is enabled for the test only)."""
    from aws_xray_sdk import global_sdk_config
    from aws_xray_sdk.core.recorder import AWSXRayRecorder

    monkeypatch.setattr(Tracer, "_config", dict(Tracer._config))
    enabled = global_sdk_config.sdk_enabled()
    global_sdk_config.set_sdk_enabled(True)
    xray = AWSXRayRecorder()
    xray.configure(sampling=False, context_missing="LOG_ERROR", emitter=_Emitter())
    xray.begin_segment("test")
    yield xray
    xray.end_segment()
    global_sdk_config.set_sdk_enabled(enabled)


def test_xray_is_told_a_handler_exception_by_its_type_never_its_message(recorder):
    # GIVEN a handler traced as Sluice's are, over a real X-Ray recorder
    from aws_xray_sdk import global_sdk_config

    from functions.observability import WithheldError, _Withholding
    tracer = Tracer(service="t", provider=_Withholding(recorder), auto_patch=False)  # type: ignore[arg-type]
    global_sdk_config.set_sdk_enabled(True)  # the Tracer turns the SDK off outside Lambda

    @tracer.capture_lambda_handler(**OFF)
    def handler(event: dict[str, Any], context: Any) -> None:
        raise ValueError(f"bad params {event['params']}")

    # WHEN it fails with a message quoting a run's params
    with pytest.raises(ValueError, match="planted-9f3"):  # the caller (Step Functions, the API) still sees it
        handler({"params": {"token": "planted-9f3"}}, None)
    # THEN the trace records the error's type, and the params appear nowhere in it
    (subsegment,) = recorder.current_segment().subsegments
    (told,) = subsegment.cause["exceptions"]
    assert (told.type, told.message) == (WithheldError.__name__, "ValueError (message withheld)")
    assert "planted-9f3" not in repr(subsegment.to_dict()) and subsegment.metadata == {}
