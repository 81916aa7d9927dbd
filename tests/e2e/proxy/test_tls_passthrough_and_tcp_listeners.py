"""TCP and TLS passthrough listeners of the real meshproxy, with real TLS and TCP servers.

The TLS clients trust only a private CA that signed the backends' certificates and verify the
host name: a handshake that succeeds through the proxy proves the proxy did not terminate TLS
(it holds no certificate at all), and the peer certificate is compared with the backend's.
"""

from __future__ import annotations

import json
import shutil
import socket
import ssl
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from meshproxy_e2e import free_port, running, wait_until
from passthrough_servers import (
    CountAfterFinServer,
    NamingTLSServer,
    PrivateCA,
    tls_lines,
)

pytestmark = pytest.mark.e2e


def _passthrough_config(
    port: int,
    protocol: str,
    routes: list[dict[str, Any]],
    clusters: list[dict[str, Any]],
    **limits: Any,
) -> dict[str, Any]:
    listener: dict[str, Any] = {
        "name": "db" if protocol == "TCP" else "tls",
        "address": "127.0.0.1",
        "port": port,
        "role": "edge",
        "passthrough": {"protocol": protocol, "routes": routes},
    }
    if limits:
        listener["connectionLimits"] = limits
    return {
        "schema": "meshproxy/v1",
        "node": {"role": "gateway"},
        "listeners": [listener],
        "clusters": clusters,
        "observability": {"accessLog": {"enabled": True, "path": "-"}},
    }


def _cluster(name: str, *ports: int, **extra: Any) -> dict[str, Any]:
    endpoints = [{"address": "127.0.0.1", "port": p} for p in ports]
    return {"name": name, "endpoints": endpoints, **extra}


def _route(name: str, cluster: str, sni: list[str] | None = None) -> dict[str, Any]:
    route: dict[str, Any] = {"name": name, "clusters": [{"cluster": cluster}]}
    if sni is not None:
        route["sni"] = sni
    return route


def _closed_without_answer(port: int, data: bytes) -> bool:
    """Send `data` (maybe nothing) and wait, bounded, for the proxy to close the connection."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        if data:
            sock.sendall(data)
        try:
            return sock.recv(4096) == b""
        except ConnectionResetError:
            return True


def _access_lines(output: str) -> list[dict[str, Any]]:
    lines = []
    for line in output.splitlines():
        if line.startswith("{") and '"event":"connection"' in line:
            lines.append(json.loads(line))
    return lines


@pytest.fixture
def ca(tmp_path: Path) -> PrivateCA:
    return PrivateCA(tmp_path)


@pytest.fixture
def two_tls_backends(ca: PrivateCA) -> Iterator[tuple[NamingTLSServer, NamingTLSServer]]:
    alpha = NamingTLSServer("alpha", ca.issue("alpha.example.test"))
    wild = NamingTLSServer("wild", ca.issue("*.wild.example.test"))
    try:
        yield alpha, wild
    finally:
        alpha.stop()
        wild.stop()


def test_tls_is_routed_by_sni_to_the_backend_whose_certificate_the_client_verifies(
    tmp_path: Path, ca: PrivateCA, two_tls_backends: tuple[NamingTLSServer, NamingTLSServer]
) -> None:
    alpha, wild = two_tls_backends
    port = free_port()
    cfg = _passthrough_config(
        port,
        "TLS",
        [
            _route("alpha", "alpha", ["alpha.example.test"]),
            _route("wild", "wild", ["*.wild.example.test"]),
        ],
        [_cluster("alpha", alpha.port), _cluster("wild", wild.port)],
    )
    context = ca.client_context()
    with running(tmp_path, cfg) as proxy:
        answers, peer = tls_lines(port, "alpha.example.test", context, [b"ping\n", b"again\n"])
        assert answers == [b"alpha ping\n", b"alpha again\n"]
        assert peer == alpha.certificate  # the backend's own, verified by the client
        answers, peer = tls_lines(port, "db.wild.example.test", context, [b"ping\n"])
        assert answers == [b"wild ping\n"]
        assert peer == wild.certificate
        assert alpha.server_names == ["alpha.example.test"]
        assert wild.server_names == ["db.wild.example.test"]

        with pytest.raises((ssl.SSLError, ConnectionError)):
            tls_lines(port, "unknown.example.test", context, [b"ping\n"])
        wait_until(
            lambda: proxy.metric("meshproxy_passthrough_refused_total", reason="no_route") == 1,
            what="the unknown server name counted",
        )
        assert alpha.connections == 1
        assert wild.connections == 1
        assert proxy.metric("meshproxy_passthrough_connections_total", route="alpha") == 1
        assert proxy.metric("meshproxy_passthrough_connections_total", route="wild") == 1
        wait_until(
            lambda: len(_access_lines(proxy.output())) == 3, what="one access line a connection"
        )
        lines = _access_lines(proxy.output())
        by_sni = {line["sni"]: line for line in lines}
        assert by_sni["alpha.example.test"]["route"] == "alpha"
        assert by_sni["alpha.example.test"]["result"] == "forwarded"
        assert by_sni["alpha.example.test"]["upstream"] == f"127.0.0.1:{alpha.port}"
        assert by_sni["alpha.example.test"]["bytes_from_client"] > 0
        assert by_sni["unknown.example.test"]["result"] == "no_route"
        assert (
            proxy.metric("meshproxy_passthrough_bytes_total", route="alpha", direction="downstream")
            == by_sni["alpha.example.test"]["bytes_to_client"]
        )


def test_hellos_that_are_not_tls_malformed_oversized_or_never_sent_are_closed_and_counted(
    tmp_path: Path, ca: PrivateCA, two_tls_backends: tuple[NamingTLSServer, NamingTLSServer]
) -> None:
    alpha, _ = two_tls_backends
    port = free_port()
    cfg = _passthrough_config(
        port,
        "TLS",
        [_route("alpha", "alpha", ["alpha.example.test"])],
        [_cluster("alpha", alpha.port)],
        headerTimeout=0.5,
    )
    cfg["listeners"][0]["passthrough"]["maxHelloBytes"] = 2048
    # A handshake record whose ClientHello claims 3000 bytes: over the 2048 allowed.
    oversized = b"\x16\x03\x01\x0b\xbc\x01\x00\x0b\xb8" + b"\x03\x03" + b"\x00" * 3000
    # A ServerHello (type 2) where a ClientHello must be.
    not_a_client_hello = b"\x16\x03\x01\x00\x04\x02\x00\x00\x00"
    with running(tmp_path, cfg) as proxy:
        assert _closed_without_answer(port, b"GET / HTTP/1.1\r\nHost: a\r\n\r\n")
        assert _closed_without_answer(port, not_a_client_hello)
        assert _closed_without_answer(port, oversized)
        assert _closed_without_answer(port, b"")  # silent: closed at the header timeout
        refused = "meshproxy_passthrough_refused_total"
        wait_until(lambda: proxy.metric(refused, reason="hello_timeout") == 1, what="timeout")
        assert proxy.metric(refused, reason="not_tls") == 1
        assert proxy.metric(refused, reason="malformed") == 1
        assert proxy.metric(refused, reason="oversized") == 1
        assert alpha.connections == 0
        # Still serving well-formed clients afterwards.
        answers, _ = tls_lines(port, "alpha.example.test", ca.client_context(), [b"ok\n"])
        assert answers == [b"alpha ok\n"]


@pytest.mark.parametrize("protocol", ["TCP", "TLS"])
def test_a_listener_without_routes_accepts_and_closes_every_connection(
    tmp_path: Path, protocol: str
) -> None:
    port = free_port()
    cfg = _passthrough_config(port, protocol, [], [])
    first_bytes = _client_hello("db.example.test") if protocol == "TLS" else b"PING\r\n"
    with running(tmp_path, cfg) as proxy:
        assert _closed_without_answer(port, first_bytes)
        refused = "meshproxy_passthrough_refused_total"
        wait_until(lambda: proxy.metric(refused) == 1, what="the connection counted")
        assert proxy.metric(refused, reason="no_route") == 1


def _client_hello(server_name: str) -> bytes:
    """The first flight of a real TLS client (OpenSSL through the ssl module)."""
    outgoing = ssl.MemoryBIO()
    tls = ssl.create_default_context().wrap_bio(
        ssl.MemoryBIO(), outgoing, server_hostname=server_name
    )
    with pytest.raises(ssl.SSLWantReadError):
        tls.do_handshake()
    return outgoing.read()


@pytest.mark.skipif(shutil.which("redis-server") is None, reason="needs Debian's redis-server")
def test_tcp_listener_carries_redis_commands_to_a_real_redis(tmp_path: Path) -> None:
    redis_port = free_port()
    redis = subprocess.Popen(
        [
            "redis-server",
            "--port",
            str(redis_port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            str(tmp_path),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_until(lambda: _answers_ping(redis_port), what="redis-server up")
        port = free_port()
        cfg = _passthrough_config(
            port, "TCP", [_route("redis", "redis")], [_cluster("redis", redis_port)]
        )
        with running(tmp_path, cfg) as proxy:
            assert _answers_ping(port)
            cli = ["redis-cli", "-h", "127.0.0.1", "-p", str(port)]
            subprocess.run(
                [*cli, "SET", "meshgate", "passthrough"],
                check=True,
                timeout=10,
                capture_output=True,
            )
            got = subprocess.run(
                [*cli, "GET", "meshgate"], check=True, timeout=10, capture_output=True
            )
            assert got.stdout.strip() == b"passthrough"
            assert proxy.metric("meshproxy_passthrough_connections_total", route="redis") == 3
    finally:
        redis.terminate()
        redis.wait(10)


def _answers_ping(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
            sock.sendall(b"PING\r\n")
            return sock.recv(64) == b"+PONG\r\n"
    except OSError:
        return False


def test_tcp_listener_passes_the_clients_fin_on_and_still_carries_the_answer(
    tmp_path: Path,
) -> None:
    counter = CountAfterFinServer()
    try:
        port = free_port()
        cfg = _passthrough_config(
            port, "TCP", [_route("count", "count")], [_cluster("count", counter.port)]
        )
        payload = b"x" * (3 * 1024 * 1024)  # well past every write buffer: backpressure
        with running(tmp_path, cfg), socket.create_connection(("127.0.0.1", port), 10) as sock:
            sock.sendall(payload)
            sock.shutdown(socket.SHUT_WR)
            answer = b""
            while not answer.endswith(b"\n"):
                chunk = sock.recv(4096)
                assert chunk, f"closed before the answer: {answer!r}"
                answer += chunk
            assert answer == b"received %d\n" % len(payload)
            assert sock.recv(4096) == b""  # then both sides are closed
    finally:
        counter.stop()


def test_tcp_connect_failures_eject_a_dead_endpoint_and_clients_reach_the_live_one(
    tmp_path: Path,
) -> None:
    counter = CountAfterFinServer()
    dead = free_port()  # nothing listens there
    try:
        port = free_port()
        cluster = _cluster(
            "count",
            dead,
            counter.port,
            outlierDetection={"consecutiveGatewayErrors": 1, "interval": 1, "baseEjectionTime": 60},
        )
        cfg = _passthrough_config(port, "TCP", [_route("count", "count")], [cluster])
        with running(tmp_path, cfg) as proxy:
            for _ in range(6):
                with socket.create_connection(("127.0.0.1", port), 10) as sock:
                    sock.sendall(b"abc")
                    sock.shutdown(socket.SHUT_WR)
                    assert sock.recv(64) == b"received 3\n"
            assert counter.connections == 6
            assert proxy.metric("meshproxy_outlier_ejections_total", cluster="count") == 1
            assert proxy.metric("meshproxy_passthrough_refused_total") == 0
    finally:
        counter.stop()


def test_passthrough_listener_caps_connections_and_closes_idle_ones(tmp_path: Path) -> None:
    counter = CountAfterFinServer()
    try:
        port = free_port()
        cfg = _passthrough_config(
            port,
            "TCP",
            [_route("count", "count")],
            [_cluster("count", counter.port)],
            maxConnections=1,
            idleTimeout=0.5,
        )
        with running(tmp_path, cfg) as proxy, socket.create_connection(("127.0.0.1", port), 10):
            wait_until(lambda: counter.connections == 1, what="the first connection forwarded")
            assert _closed_without_answer(port, b"")  # the second is over the cap
            hits = "meshproxy_limit_hits_total"
            assert proxy.metric(hits, limit="max_connections") == 1
            wait_until(lambda: proxy.metric(hits, limit="idle_timeout") == 1, what="idle close")
    finally:
        counter.stop()
