"""HTTP/2 through a real meshproxy process: a grpcio client calls a grpcio server through an
edge listener (h2c with prior knowledge) in all four call kinds, an HTTP/1.1 client is served by
an HTTP/2 upstream, an h2c client by an HTTP/1.1 backend, and a gRPC call's outcome is in the
metrics and the access log."""

from __future__ import annotations

import json
import socket
import struct
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
