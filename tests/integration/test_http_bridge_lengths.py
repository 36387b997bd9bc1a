"""The local HTTP bridge and a bad Content-Length, over a real socket: a 400 at once, never a hang."""

from __future__ import annotations

import json
import socket
from typing import Any

import pytest

from sluice.local.http_bridge import serve


def _handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return {"statusCode": 200, "headers": {"Content-Type": "application/json"}, "body": json.dumps(event["body"])}


def _exchange(port: int, head: str, body: bytes = b"", *, wait: float = 10.0) -> bytes:
    """Send a raw request; the bytes answered until the server closes or `wait` passes (a bridge that hangs
    answers nothing, and the test fails on the empty answer, not on a clock)."""
    with socket.create_connection(("127.0.0.1", port), timeout=wait) as sock:
        sock.sendall(head.encode() + b"\r\n" + body)
        answer = b""
        try:
            while b"\r\n\r\n" not in answer or not answer.endswith(b"}"):
                chunk = sock.recv(65536)
                if not chunk:
                    break
                answer += chunk
        except TimeoutError:
            pass
    return answer


def _head(length: str) -> str:
    return f"POST /runs HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: {length}\r\n"


@pytest.mark.parametrize(("length", "reason"), [("-1", "negative"), ("abc", "not a number"), ("1e3", "not a number")])
def test_a_negative_or_non_numeric_content_length_is_a_400_at_once(length: str, reason: str) -> None:
    # GIVEN a bridge on 127.0.0.1 WHEN a request says Content-Length: <length> (and sends a body)
    with serve(_handler) as bridge:
        port = int(bridge.url.rsplit(":", 1)[1])
        answer = _exchange(port, _head(length), b"{}")
    # THEN it answers 400 problem details naming the header and why, without waiting for anything
    assert answer.startswith(b"HTTP/1.0 400") or answer.startswith(b"HTTP/1.1 400"), answer[:200]
    problem = json.loads(answer.split(b"\r\n\r\n", 1)[1])
    assert "Content-Length" in problem["detail"] and reason in problem["detail"]


def test_a_content_length_larger_than_the_body_sent_times_out_with_a_400() -> None:
    # GIVEN a bridge with a short read timeout WHEN the request promises 100 bytes and sends 2, then waits
    with serve(_handler, read_timeout=0.5) as bridge:
        port = int(bridge.url.rsplit(":", 1)[1])
        answer = _exchange(port, _head("100"), b"{}")
        # THEN the bridge gives up after its timeout with a 400 saying the body was shorter than announced
        assert answer.split(b" ", 2)[1] == b"400", answer[:200]
        assert "100" in json.loads(answer.split(b"\r\n\r\n", 1)[1])["detail"]
        # AND it keeps serving
        answer = _exchange(port, _head("2"), b"{}")
        assert answer.split(b" ", 2)[1] == b"200"
