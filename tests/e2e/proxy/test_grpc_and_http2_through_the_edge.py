"""HTTP/2 through a real meshproxy process: a grpcio client calls a grpcio server through an
edge listener (h2c with prior knowledge) in all four call kinds, an HTTP/1.1 client is served by
an HTTP/2 upstream, an h2c client by an HTTP/1.1 backend, and a gRPC call's outcome is in the
metrics and the access log."""

from __future__ import annotations

import json
import socket
import struct
import time
from collections.abc import Iterator
from pathlib import Path

import grpc
import h2.config
import h2.connection
import h2.events
import pytest
from grpc_apps import EchoClient, GrpcServer
from meshproxy_e2e import (
    Backends,
    Behaviour,
    Client,
    cluster,
    config,
    forward,
    free_port,
    running,
    wait_until,
)

pytestmark = pytest.mark.e2e


@pytest.fixture
def grpc_server() -> Iterator[GrpcServer]:
    server = GrpcServer("127.0.0.1", free_port())
    try:
        yield server
    finally:
        server.stop()


def test_all_four_grpc_call_kinds_pass_an_edge_listener(
    tmp_path: Path, grpc_server: GrpcServer, port: int
) -> None:
    cfg = config(port, [forward("r", "g")], [cluster("g", grpc_server.port, protocol="HTTP2")])
    with running(tmp_path, cfg) as proxy:
        client = EchoClient(f"127.0.0.1:{port}")
        try:
            assert client.unary(b"hello", timeout=10) == b"echo:hello"
            assert list(client.server_stream(b"5", timeout=10)) == [
                b"message %d" % i for i in range(5)
            ]
            sent = iter([b"x" * 1000] * 50)
            assert client.client_stream(sent, timeout=10) == b"50 messages, 50000 bytes"
            assert list(client.bidi(iter([b"a", b"b", b"c"]), timeout=10)) == [
                b"echo:a",
                b"echo:b",
                b"echo:c",
            ]
        finally:
            client.close()
        assert proxy.metric("meshproxy_grpc_requests_total", grpc_status="0") == 4
        assert proxy.metric("meshproxy_requests_by_protocol_total", protocol="HTTP/2") == 4
        wait_until(lambda: proxy.output().count('"grpc_status"') >= 4, 10, "access log lines")
        lines = [json.loads(x) for x in proxy.output().splitlines() if '"protocol"' in x]
        assert {(x["protocol"], x["grpc_status"]) for x in lines} == {("HTTP/2", "0")}


def test_a_server_stream_is_relayed_message_by_message_not_buffered(
    tmp_path: Path, grpc_server: GrpcServer, port: int
) -> None:
    cfg = config(port, [forward("r", "g")], [cluster("g", grpc_server.port, protocol="HTTP2")])
    with running(tmp_path, cfg):
        client = EchoClient(f"127.0.0.1:{port}")
        try:
            stream = client.server_stream(b"200", timeout=30)  # 200 messages, 10 ms apart
            first = next(stream)
            # The first message arrives while the server is still sending: 2 s of messages
            # remain, and the call has not ended.
            assert first == b"message 0"
            assert stream.running()
            assert len(list(stream)) == 199
        finally:
            client.close()


def test_an_http1_client_is_served_by_an_http2_upstream(
    tmp_path: Path, grpc_server: GrpcServer, port: int
) -> None:
    cfg = config(port, [forward("r", "g")], [cluster("g", grpc_server.port, protocol="HTTP2")])
    with running(tmp_path, cfg):
        # A gRPC message framed by hand (flag, 4-byte length, payload) over HTTP/1.1.
        status, headers, body = Client(port).request(
            "POST",
            "/meshgate.test.Echo/Unary",
            b"\x00" + struct.pack(">I", 2) + b"hi",
            headers={"content-type": "application/grpc", "te": "trailers"},
        )
        assert status == 200
        assert headers["content-type"] == "application/grpc"
        assert body == b"\x00" + struct.pack(">I", 7) + b"echo:hi"


def test_an_h2c_client_is_served_by_an_http1_backend(
    tmp_path: Path, backends: Backends, port: int
) -> None:
    backend = backends.start(Behaviour("b"))
    cfg = config(port, [forward("r", "b")], [cluster("b", backend)])
    with running(tmp_path, cfg) as proxy:
        with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
            conn = h2.connection.H2Connection(h2.config.H2Configuration(client_side=True))
            conn.initiate_connection()
            conn.send_headers(
                1,
                [(":method", "GET"), (":path", "/p"), (":scheme", "http"), (":authority", "a")],
                end_stream=True,
            )
            sock.sendall(conn.data_to_send())
            body = b""
            status = ""
            ended = False
            while not ended:
                data = sock.recv(65536)
                assert data
                for event in conn.receive_data(data):
                    if isinstance(event, h2.events.ResponseReceived):
                        status = dict(event.headers)[b":status"].decode()
                    elif isinstance(event, h2.events.DataReceived):
                        body += event.data
                    elif isinstance(event, h2.events.StreamEnded):
                        ended = True
                sock.sendall(conn.data_to_send())
        assert status == "200"
        assert json.loads(body)["path"] == "/p"
        assert proxy.metric("meshproxy_requests_by_protocol_total", protocol="HTTP/2") == 1


def test_grpc_outcome_counts_as_the_status_for_metrics(tmp_path: Path, port: int) -> None:
    server = GrpcServer("127.0.0.1", free_port(), fail_ratio=1.0)
    cfg = config(port, [forward("r", "g")], [cluster("g", server.port, protocol="HTTP2")])
    try:
        with running(tmp_path, cfg) as proxy:
            client = EchoClient(f"127.0.0.1:{port}")
            with pytest.raises(grpc.RpcError) as failed:
                client.flaky(b"", timeout=10)
            client.close()
            assert failed.value.code() == grpc.StatusCode.UNAVAILABLE
            assert proxy.metric("meshproxy_grpc_requests_total", grpc_status="14") == 1
    finally:
        server.stop()


RETRY_UNAVAILABLE = {
    "attempts": 5,
    "retryOn": ["unavailable"],
    "backoff": {"baseInterval": 0.001, "maxInterval": 0.005},
}


@pytest.mark.parametrize("retry", [RETRY_UNAVAILABLE, None], ids=["retried", "not-retried"])
def test_a_thirty_percent_unavailable_backend_is_rescued_by_grpc_retries(
    tmp_path: Path, port: int, retry: dict[str, object] | None
) -> None:
    server = GrpcServer("127.0.0.1", free_port(), fail_ratio=0.3)
    route = forward("r", "g", retry=retry) if retry else forward("r", "g")
    cfg = config(port, [route], [cluster("g", server.port, protocol="HTTP2")])
    try:
        with running(tmp_path, cfg) as proxy:
            client = EchoClient(f"127.0.0.1:{port}")
            codes = [_code(client, b"") for _ in range(300)]
            client.close()
            assert set(codes) <= {grpc.StatusCode.OK, grpc.StatusCode.UNAVAILABLE}
            ok = codes.count(grpc.StatusCode.OK)
            if retry:
                assert ok >= 297  # 0.3^6 per call: all but a rare one
                assert proxy.metric("meshproxy_upstream_retries_total") > 30
            else:
                assert ok < 270  # the control: 30 % really fail without the policy
                assert proxy.metric("meshproxy_grpc_requests_total", grpc_status="14") > 30
    finally:
        server.stop()


def _code(client: EchoClient, message: bytes) -> grpc.StatusCode:
    try:
        client.flaky(message, timeout=10)
    except grpc.RpcError as failed:
        return failed.code()  # type: ignore[no-any-return]
    return grpc.StatusCode.OK


def test_a_client_deadline_is_honoured_through_the_proxy(
    tmp_path: Path, grpc_server: GrpcServer, port: int
) -> None:
    cfg = config(port, [forward("r", "g")], [cluster("g", grpc_server.port, protocol="HTTP2")])
    with running(tmp_path, cfg):
        client = EchoClient(f"127.0.0.1:{port}")
        start = time.monotonic()
        with pytest.raises(grpc.RpcError) as failed:
            client.slow(b"3", timeout=0.3)  # the server would answer after 3 s
        client.close()
        assert failed.value.code() == grpc.StatusCode.DEADLINE_EXCEEDED
        assert time.monotonic() - start < 2


def test_the_proxy_answers_deadline_exceeded_at_the_grpc_timeout_itself(
    tmp_path: Path, grpc_server: GrpcServer, port: int
) -> None:
    cfg = config(port, [forward("r", "g")], [cluster("g", grpc_server.port, protocol="HTTP2")])
    with running(tmp_path, cfg) as proxy:
        # A client that sends grpc-timeout but never enforces it: only the proxy can.
        start = time.monotonic()
        status, headers = _h2_call(port, "/meshgate.test.Echo/Slow", b"3", {"grpc-timeout": "300m"})
        took = time.monotonic() - start
        assert status == "200"
        assert headers["grpc-status"] == "4"  # DEADLINE_EXCEEDED, from the proxy
        assert 0.3 <= took < 2
        assert proxy.metric("meshproxy_grpc_requests_total", grpc_status="4") == 1


def test_local_replies_to_grpc_clients_carry_a_grpc_status(tmp_path: Path, port: int) -> None:
    # No route for the client's authority: the proxy's 404, as gRPC's UNIMPLEMENTED.
    cfg = config(port, [forward("r", "g")], [cluster("g", 1)], domains=("other.test",))
    with running(tmp_path, cfg):
        client = EchoClient(f"127.0.0.1:{port}")
        with pytest.raises(grpc.RpcError) as failed:
            client.unary(b"x", timeout=10)
        client.close()
        assert failed.value.code() == grpc.StatusCode.UNIMPLEMENTED


def _h2_call(
    port: int, path: str, message: bytes, extra: dict[str, str]
) -> tuple[str, dict[str, str]]:
    """One gRPC call made with the h2 library; (HTTP status, headers and trailers)."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        conn = h2.connection.H2Connection(
            h2.config.H2Configuration(client_side=True, header_encoding="latin-1")
        )
        conn.initiate_connection()
        headers = [
            (":method", "POST"),
            (":path", path),
            (":scheme", "http"),
            (":authority", "app.test"),
            ("content-type", "application/grpc"),
            ("te", "trailers"),
            *extra.items(),
        ]
        conn.send_headers(1, headers)
        conn.send_data(1, b"\x00" + struct.pack(">I", len(message)) + message, end_stream=True)
        sock.sendall(conn.data_to_send())
        status = ""
        seen: dict[str, str] = {}
        while True:
            data = sock.recv(65536)
            assert data, "the proxy closed the connection"
            for event in conn.receive_data(data):
                if isinstance(event, (h2.events.ResponseReceived, h2.events.TrailersReceived)):
                    fields = dict(event.headers)
                    status = fields.pop(":status", status)
                    seen.update(fields)
                elif isinstance(event, h2.events.StreamEnded):
                    return status, seen
            sock.sendall(conn.data_to_send())


def test_http2_max_requests_bounds_the_streams_in_flight_on_one_multiplexed_connection(
    tmp_path: Path, grpc_server: GrpcServer, port: int
) -> None:
    pool = {"http2MaxRequests": 2, "maxPendingRequests": 10}
    g = cluster("g", grpc_server.port, protocol="HTTP2", connectionPool=pool)
    with running(tmp_path, config(port, [forward("r", "g")], [g])) as proxy:
        clients = [EchoClient(f"127.0.0.1:{port}") for _ in range(6)]
        try:
            calls = [c.slow.future(b"0.3", timeout=20) for c in clients]
            assert [call.result() for call in calls] == [b"late"] * 6
        finally:
            for c in clients:
                c.close()
        assert grpc_server.observed.most_active == 2  # two streams at a time, the rest waited
        # Six calls from six client connections share one upstream connection.
        assert proxy.metric("meshproxy_upstream_connections_opened_total", cluster="g") == 1


def test_requests_beyond_http2_max_requests_and_the_pending_queue_overflow(
    tmp_path: Path, grpc_server: GrpcServer, port: int
) -> None:
    pool = {"http2MaxRequests": 1, "maxPendingRequests": 1}
    g = cluster("g", grpc_server.port, protocol="HTTP2", connectionPool=pool)
    with running(tmp_path, config(port, [forward("r", "g")], [g])) as proxy:
        clients = [EchoClient(f"127.0.0.1:{port}") for _ in range(4)]
        try:
            # Warm: the upstream connection is open, so no call waits on a connect.
            assert clients[0].slow(b"0", timeout=20) == b"late"
            calls = [c.slow.future(b"0.5", timeout=20) for c in clients]
            codes = [call.code() for call in calls]
        finally:
            for c in clients:
                c.close()
        # One in flight, one waiting; the others are refused at once (circuit breaking),
        # answered as gRPC's UNAVAILABLE.
        assert codes.count(grpc.StatusCode.OK) == 2
        assert codes.count(grpc.StatusCode.UNAVAILABLE) == 2
        assert proxy.metric("meshproxy_upstream_overflow_total", cluster="g") == 2
