"""The listener's slow-client limits on HTTP/2, against a running meshproxy speaking raw frames:
a header block trickled in CONTINUATIONs, a request body trickled or stalled, a client that stops
reading its answer, and a connection kept open by PINGs and WINDOW_UPDATEs alone. Each is cut at
its limit (set to a second or two here), counted in `meshproxy_limit_hits_total` under the
limit's name, and a new connection is served afterwards.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest
from hpack import Decoder
from hyperframe.frame import (
    ContinuationFrame,
    DataFrame,
    GoAwayFrame,
    HeadersFrame,
    PingFrame,
    RstStreamFrame,
    SettingsFrame,
    WindowUpdateFrame,
)
from meshproxy_e2e import Backends, Behaviour, Proxy, cluster, config, forward, running, wait_until
from raw_h2 import Bounded, RawH2, still_serves

pytestmark = pytest.mark.e2e

MARGIN = 10.0  # seconds past a limit by which its cut must be seen: generous, the machine is shared
NO_ERROR = 0
BIG = 8 * 1024 * 1024  # a direct response far larger than socket buffers and the write high-water


def _config(
    port: int, backend: int, limits: dict[str, Any], listener: dict[str, Any] | None = None
) -> dict[str, Any]:
    routes = [
        {
            "name": "big",
            "match": {"path": {"type": "Exact", "value": "/big"}},
            "directResponse": {"status": 200, "body": "x" * BIG},
        },
        forward("r", "b"),
    ]
    cfg = config(port, routes, [cluster("b", backend)], limits=limits)
    if listener:
        cfg["listeners"][0]["connectionLimits"] = listener
    return cfg


def _hits(proxy: Proxy, limit: str) -> float:
    return proxy.metric("meshproxy_limit_hits_total", listener="web", limit=limit)


def _logged(proxy: Proxy, limit: str) -> bool:
    return f'"limit":"{limit}"' in proxy.output()


def _served(client: RawH2, stream_id: int) -> None:
    client.send(client.headers(stream_id, client.request_block("/first")))
    for frame in client.frames(MARGIN):
        if isinstance(frame, DataFrame) and frame.stream_id == stream_id and frame.flags:
            return  # END_STREAM: DATA has no other flag the proxy sets
    raise AssertionError(f"stream {stream_id} was not answered")


def test_a_header_block_trickled_in_continuations_ends_the_connection_at_the_header_timeout(
    tmp_path: Path, backends: Backends, port: int
) -> None:
    backend = backends.start(Behaviour("b", record=False))
    cfg = _config(port, backend, {"headerTimeout": 1, "idleTimeout": 60})
    with running(tmp_path, cfg) as proxy:
        bounded = Bounded(proxy)
        client = RawH2(port)
        _served(client, 1)  # a stream served: the idle timeout (60 s) would keep it open
        block = client.request_block("/slow")
        first = HeadersFrame(3, block[:2])  # no END_HEADERS: CONTINUATIONs follow, slowly
        first.flags.add("END_STREAM")
        client.send(bytes(first.serialize()))
        goaway = None
        deadline = time.monotonic() + 1 + MARGIN
        while goaway is None and time.monotonic() < deadline:
            if not client.send(bytes(ContinuationFrame(3, b"").serialize())):
                break
            goaway = next((f for f in client.frames(0.2) if isinstance(f, GoAwayFrame)), None)
        assert goaway is not None, "the slow header block was never cut"
        assert goaway.last_stream_id == 1  # the unfinished stream was never started
        assert client.closed()
        client.close()
        assert _hits(proxy, "header_timeout") >= 1
        wait_until(lambda: _logged(proxy, "header_timeout"), 5, "the limit's log line")
        bounded.check()
        still_serves(port)


@pytest.mark.parametrize(
    ("limit", "listener", "trickle"),
    [
        ("body_timeout", {"bodyTimeout": 1}, False),  # one byte, then nothing
        ("request_timeout", {"bodyTimeout": 1, "requestTimeout": 2}, True),  # a byte each 0.2 s
    ],
)
def test_a_request_body_too_slow_is_answered_408_and_its_stream_reset(
    tmp_path: Path,
    backends: Backends,
    port: int,
    limit: str,
    listener: dict[str, Any],
    trickle: bool,
) -> None:
    behaviour = Behaviour("b")
    backend = backends.start(behaviour)
    with running(tmp_path, _config(port, backend, {"headerTimeout": 5}, listener)) as proxy:
        bounded = Bounded(proxy)
        client = RawH2(port)
        fields = [(":method", "POST"), (":scheme", "http"), (":path", "/upload")]
        fields += [(":authority", "a"), ("content-length", "100")]
        head = HeadersFrame(1, bytes(client.encoder.encode(fields)))
        head.flags.add("END_HEADERS")
        client.send(bytes(head.serialize()) + bytes(DataFrame(1, b"x").serialize()))
        decoder = Decoder()
        status = reset = None
        deadline = time.monotonic() + 2 + MARGIN
        while (status is None or reset is None) and time.monotonic() < deadline:
            if trickle and status is None:
                client.send(bytes(DataFrame(1, b"x").serialize()))
            for frame in client.frames(0.2):
                if isinstance(frame, HeadersFrame) and frame.stream_id == 1:
                    status = dict(decoder.decode(frame.data, raw=True))[b":status"]
                elif isinstance(frame, RstStreamFrame) and frame.stream_id == 1:
                    reset = frame.error_code
        assert status == b"408", f"the slow body was not answered 408 ({status!r})"
        assert reset == NO_ERROR  # the client is told to stop sending the rest
        assert _hits(proxy, limit) >= 1
        wait_until(lambda: _logged(proxy, limit), 5, "the limit's log line")
        assert behaviour.seen == []  # no slow body reached the backend whole
        client.close()
        bounded.check()
        still_serves(port)


def test_a_grpc_call_pausing_past_the_body_and_request_timeouts_is_not_cut(
    tmp_path: Path, backends: Backends, port: int
) -> None:
    """A gRPC client-streaming or bidirectional call sends for as long as it lasts, with pauses
    between messages: the listener's body and request timeouts (1 s and 2 s here) do not cut it."""
    behaviour = Behaviour("b")
    backend = backends.start(behaviour)
    listener = {"bodyTimeout": 1, "requestTimeout": 2}
    with running(tmp_path, _config(port, backend, {"headerTimeout": 5}, listener)) as proxy:
        client = RawH2(port)
        fields = [(":method", "POST"), (":scheme", "http"), (":path", "/echo.Echo/Chat")]
        fields += [(":authority", "a"), ("content-type", "application/grpc"), ("te", "trailers")]
        head = HeadersFrame(1, bytes(client.encoder.encode(fields)))
        head.flags.add("END_HEADERS")
        client.send(bytes(head.serialize()) + bytes(DataFrame(1, b"\0\0\0\0\1x").serialize()))
        # The stimulus is the pause itself: past both timeouts, and past a sweep after them.
        time.sleep(3.5)
        last = DataFrame(1, b"\0\0\0\0\1y")
        last.flags.add("END_STREAM")
        client.send(bytes(last.serialize()))
        decoder = Decoder()
        status = None
        deadline = time.monotonic() + MARGIN
        while status is None and time.monotonic() < deadline:
            for frame in client.frames(0.2):
                if isinstance(frame, HeadersFrame) and frame.stream_id == 1:
                    status = dict(decoder.decode(frame.data, raw=True))[b":status"]
                elif isinstance(frame, RstStreamFrame) and frame.stream_id == 1:
                    raise AssertionError(f"the call was reset ({frame.error_code})")
        assert status == b"200", f"the paused call was not answered by the backend ({status!r})"
        assert _hits(proxy, "body_timeout") == 0
        assert _hits(proxy, "request_timeout") == 0
        client.close()


def test_a_client_that_stops_reading_its_answer_is_cut_at_the_send_timeout(
    tmp_path: Path, backends: Backends, port: int
) -> None:
    backend = backends.start(Behaviour("b", record=False))
    cfg = _config(port, backend, {"headerTimeout": 5}, {"sendTimeout": 1})
    with running(tmp_path, cfg) as proxy:
        # Windows wide open: only the socket, never HTTP/2 flow control, holds the answer back.
        client = RawH2(port, {SettingsFrame.INITIAL_WINDOW_SIZE: 2**31 - 1}, receive_buffer=4096)
        opened = WindowUpdateFrame(0)
        opened.window_increment = 2**31 - 1 - 65_535
        client.send(bytes(opened.serialize()) + client.headers(1, client.request_block("/big")))
        # Not reading: the proxy's write buffer stays over its high-water mark.
        wait_until(lambda: _hits(proxy, "send_timeout") >= 1, 1 + MARGIN, "the send timeout")
        assert client.closed()
        client.close()
        wait_until(lambda: _logged(proxy, "send_timeout"), 5, "the limit's log line")
        still_serves(port)


def test_pings_and_window_updates_never_keep_an_idle_connection_open(
    tmp_path: Path, backends: Backends, port: int
) -> None:
    backend = backends.start(Behaviour("b", record=False))
    cfg = _config(port, backend, {"headerTimeout": 5, "idleTimeout": 1})
    with running(tmp_path, cfg) as proxy:
        client = RawH2(port)
        _served(client, 1)
        keepalive = bytes(PingFrame(0, b"12345678").serialize())
        window = WindowUpdateFrame(0)
        window.window_increment = 1
        keepalive += bytes(window.serialize())
        goaway = None
        deadline = time.monotonic() + 1 + MARGIN
        while goaway is None and time.monotonic() < deadline:
            if not client.send(keepalive):  # five a second: well within the PING budget
                break
            goaway = next((f for f in client.frames(0.2) if isinstance(f, GoAwayFrame)), None)
        assert goaway is not None, "PINGs and WINDOW_UPDATEs kept an idle connection open"
        assert goaway.error_code == NO_ERROR
        assert client.closed()
        client.close()
        assert _hits(proxy, "idle_timeout") >= 1
        still_serves(port)
