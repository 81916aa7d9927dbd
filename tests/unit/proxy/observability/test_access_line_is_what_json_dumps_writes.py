"""The access log line built with one f-string is byte for byte what `json.dumps` wrote for the
same record (the protocol and a gRPC status included), whatever bytes a client put in the path
or the request id."""

from __future__ import annotations

import json

from hypothesis import given
from hypothesis import strategies as st

from meshproxy.http.message import Exchange, Request
from meshproxy.observability.accessline import AccessLine, milliseconds

_text = st.text(st.characters(min_codepoint=0, max_codepoint=0x2FF), max_size=40)


def _record(
    listener: str, request: Exchange, status: int, duration: float, sent: int, ok: bool
) -> str:
    # The record as ListenerStack.finish built it before the line was pre-encoded.
    record: dict[str, object] = {
        "listener": listener,
        "method": request.request.method,
        "protocol": "HTTP/" + request.request.version,
        "path": request.request.path,
        "status": status,
        "duration_ms": int(duration * 1_000_000 + 0.5) / 1000,  # rounded to the microsecond
        "bytes_sent": sent,
        "route": request.route,
        "cluster": request.cluster,
        "upstream": request.endpoint,
        "request_id": request.request_id,
        "trace_id": request.trace_id,
        "client": request.client_ip,
    }
    if request.grpc_status:
        record["grpc_status"] = request.grpc_status
    if request.identity:
        record["peer_identity"] = request.identity
    if request.attempts:
        record["retries"] = request.attempts
    if request.flags:
        record["flags"] = request.flags
    if not ok:
        record["incomplete"] = True
    return json.JSONEncoder(separators=(",", ":"), ensure_ascii=True).encode(record)


@given(
    listener=_text,
    method=_text,
    path=_text,
    request_id=_text,
    client=_text,
    route=_text,
    identity=st.one_of(st.none(), _text),
    flags=_text,
    version=st.sampled_from(["1.0", "1.1", "2"]),
    grpc_status=st.sampled_from(["", "0", "14"]),
    attempts=st.integers(0, 5),
    status=st.integers(100, 599),
    duration=st.floats(0, 100, allow_nan=False),
    sent=st.integers(0, 2**40),
    ok=st.booleans(),
)
def test_line_equals_json_dumps_of_the_record(
    listener: str,
    method: str,
    path: str,
    request_id: str,
    client: str,
    route: str,
    identity: str | None,
    flags: str,
    version: str,
    grpc_status: str,
    attempts: int,
    status: int,
    duration: float,
    sent: int,
    ok: bool,
) -> None:
    request = Exchange(Request(method, path, "", [], "h", None, version, True), client, "http", 0.0)
    request.route = route
    request.cluster = route[::-1]
    request.endpoint = "127.0.0.1:80"
    request.request_id = request_id
    request.trace_id = "ab" * 16
    request.identity = identity
    request.flags = flags
    request.attempts = attempts
    request.grpc_status = grpc_status

    line = AccessLine(listener)(request, status, duration, sent, ok)

    assert line == _record(listener, request, status, duration, sent, ok)
    assert "\n" not in line


@given(seconds=st.floats(0, 1e12, allow_nan=False))
def test_duration_is_json_of_the_milliseconds_rounded_to_the_microsecond(seconds: float) -> None:
    assert milliseconds(seconds) == json.dumps(int(seconds * 1_000_000 + 0.5) / 1000)


def test_duration_examples() -> None:
    assert [milliseconds(s) for s in (0.0, 0.0000004, 0.0000005, 0.0015, 0.012345, 3.0)] == [
        "0.0",
        "0.0",
        "0.001",
        "1.5",
        "12.345",
        "3000.0",
    ]
