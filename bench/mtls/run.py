"""mTLS hop vs plaintext hop, and handshake cost with/without session resumption.

Two asyncio echo servers on loopback in one process thread (plaintext and mTLS with the
proxy's own contexts, certificates from the operator's issuer), measured side by side in one
run by a blocking client in the main thread. Bounded loops, 127.0.0.1 only. Prints Markdown.

    .venv/bin/python bench/mtls/run.py [--requests 2000] [--handshakes 300]
"""

from __future__ import annotations

import argparse
import asyncio
import socket
import ssl
import statistics
import tempfile
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

from meshgate.certs.bundle import TrustBundle
from meshgate.certs.ca import CertificateAuthority, create_root_ca
from meshgate.certs.workload import issue_workload_certificate
from meshproxy.config import Identity
from meshproxy.tls.contexts import mesh_client_context, server_context

PAYLOAD = b"x" * 256 + b"\n"


def _identity(directory: Path, sa: str, ca: CertificateAuthority, bundle: TrustBundle) -> Identity:
    issued = issue_workload_certificate(
        ca,
        bundle,
        trust_domain="cluster.local",
        namespace="bench",
        service_account=sa,
        now=datetime.now(UTC),
    )
    directory.mkdir()
    for name, text in (("c", issued.cert_pem), ("k", issued.key_pem), ("b", bundle.to_pem())):
        (directory / name).write_text(text)
    return Identity(
        cert_file=str(directory / "c"), key_file=str(directory / "k"), ca_file=str(directory / "b")
    )


async def _echo(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while line := await reader.readline():
            writer.write(line)
            await writer.drain()
    except OSError:
        pass
    finally:
        writer.close()


def _serve(ctx: ssl.SSLContext, ready: threading.Event, ports: list[int]) -> None:
    async def main() -> None:
        plain = await asyncio.start_server(_echo, "127.0.0.1", 0)
        tls = await asyncio.start_server(_echo, "127.0.0.1", 0, ssl=ctx)
        ports.extend([plain.sockets[0].getsockname()[1], tls.sockets[0].getsockname()[1]])
        ready.set()
        await asyncio.Event().wait()

    asyncio.run(main())


def _connect(
    port: int, ctx: ssl.SSLContext | None, session: ssl.SSLSession | None = None
) -> socket.socket:
    raw = socket.create_connection(("127.0.0.1", port))
    raw.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    if ctx is None:
        return raw
    return ctx.wrap_socket(raw, server_hostname="127.0.0.1", session=session)


def _roundtrip(sock: socket.socket) -> None:
    sock.sendall(PAYLOAD)
    got = b""
    while not got.endswith(b"\n"):
        chunk = sock.recv(4096)
        if not chunk:
            raise ConnectionError("closed")
        got += chunk


def _requests(port: int, ctx: ssl.SSLContext | None, n: int) -> tuple[list[float], float]:
    sock = _connect(port, ctx)
    _roundtrip(sock)  # warm-up; completes the handshake and ticket exchange
    lat: list[float] = []
    start = time.perf_counter()
    for _ in range(n):
        t0 = time.perf_counter()
        _roundtrip(sock)
        lat.append(time.perf_counter() - t0)
    elapsed = time.perf_counter() - start
    sock.close()
    return lat, n / elapsed


def _handshakes(port: int, ctx: ssl.SSLContext, n: int, resume: bool) -> tuple[list[float], int]:
    session: ssl.SSLSession | None = None
    times: list[float] = []
    reused = 0
    for _ in range(n):
        t0 = time.perf_counter()
        sock = _connect(port, ctx, session if resume else None)
        _roundtrip(sock)  # TLS 1.3 finishes (and delivers tickets) with the first exchange
        times.append(time.perf_counter() - t0)
        reused += int(isinstance(sock, ssl.SSLSocket) and bool(sock.session_reused))
        if resume:
            session = sock.session if isinstance(sock, ssl.SSLSocket) else None
        sock.close()
    return times, reused


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--handshakes", type=int, default=300)
    args = parser.parse_args()
    ca = create_root_ca("cluster.local", datetime.now(UTC))
    bundle = TrustBundle.of([ca.cert])
    with tempfile.TemporaryDirectory() as tmp:
        srv = server_context(_identity(Path(tmp) / "s", "server", ca, bundle), True)
        cli = mesh_client_context(_identity(Path(tmp) / "c", "client", ca, bundle))
        ready, ports = threading.Event(), list[int]()
        threading.Thread(target=_serve, args=(srv, ready, ports), daemon=True).start()
        ready.wait(10)
        plain_port, tls_port = ports
        # Interleave the two hops so drift on the shared machine hits both alike.
        plain_lat, tls_lat = list[float](), list[float]()
        plain_rps, tls_rps = list[float](), list[float]()
        for _ in range(2):
            lat, rps = _requests(plain_port, None, args.requests // 2)
            plain_lat += lat
            plain_rps.append(rps)
            lat, rps = _requests(tls_port, cli, args.requests // 2)
            tls_lat += lat
            tls_rps.append(rps)
        full, full_reused = _handshakes(tls_port, cli, args.handshakes, resume=False)
        resumed, resumed_reused = _handshakes(tls_port, cli, args.handshakes, resume=True)

    def us(xs: list[float], percentile: int) -> str:
        return f"{statistics.quantiles(xs, n=100)[percentile - 1] * 1e6:.0f}"

    print(f"requests per hop: {args.requests} (256-byte line echo, one connection, TCP_NODELAY)\n")
    print("| hop | p50 µs | p99 µs | requests/s |")
    print("|---|---|---|---|")

    def row(name: str, lat: list[float], rps: list[float]) -> str:
        return f"| {name} | {us(lat, 50)} | {us(lat, 99)} | {statistics.mean(rps):.0f} |"

    print(row("plaintext", plain_lat, plain_rps))
    print(row("mTLS", tls_lat, tls_rps))
    added = (statistics.median(tls_lat) - statistics.median(plain_lat)) * 1e6
    print(f"\nmTLS adds {added:.0f} µs at the median per request on an open connection.\n")
    print(f"handshakes: {args.handshakes} each (connect + handshake + first round trip)\n")
    print("| handshake | median µs | p90 µs | resumed |")
    print("|---|---|---|---|")
    print(f"| full | {us(full, 50)} | {us(full, 90)} | {full_reused}/{args.handshakes} |")
    n = args.handshakes
    print(f"| resumed (ticket) | {us(resumed, 50)} | {us(resumed, 90)} | {resumed_reused}/{n} |")


if __name__ == "__main__":
    main()
