"""New connections to an inbound sidecar, one at a time: full TLS, resumed TLS, or plaintext;
and the same handshakes between two in-memory TLS objects, OpenSSL's own cost without sockets.

Each connection is: TCP connect, the TLS handshake (none for plaintext), one GET through the
sidecar to the app, then close. TLS 1.3 sends its session tickets after the handshake, so the
session is taken once the response is read; with `resume` the next connection offers it
(`SSLContext.wrap_socket(session=...)`, which asyncio's `create_connection` cannot do) and
`session_reused` says whether the server took it. The handshake time is the client's view
(`wrap_socket` returns once the client has sent its Finished); the server checks the client
certificate after that, so that cost lands in the first request's time, and in the inbound
sidecar's CPU, which the runner reads from /proc around the loop.

Sequential and synchronous on purpose: the rate is one connection after another, so it is a
latency figure, not a capacity. Bounded by `count` and by `seconds`. 127.0.0.1 only.
"""

from __future__ import annotations

import http.client
import socket
import ssl
import statistics
import time
from dataclasses import dataclass


@dataclass(frozen=True)
class Connections:
    """One loop of new connections."""

    connections: int
    failures: int
    reused: int  # TLS sessions the server resumed
    elapsed_s: float
    client_cpu_s: float  # this thread's CPU, user + kernel
    handshake_us: list[float]  # client view; empty for plaintext
    total_us: list[float]  # connect + handshake + one request and response

    @property
    def per_second(self) -> float:
        return self.connections / self.elapsed_s if self.elapsed_s > 0 else 0.0

    def median_handshake_us(self) -> float | None:
        return statistics.median(self.handshake_us) if self.handshake_us else None

    def median_total_us(self) -> float | None:
        return statistics.median(self.total_us) if self.total_us else None


def _request(sock: socket.socket, host: str) -> int:
    sock.sendall(f"GET / HTTP/1.1\r\nHost: {host}\r\nUser-Agent: meshgate-bench\r\n\r\n".encode())
    response = http.client.HTTPResponse(sock)
    response.begin()
    response.read()
    return response.status


def connect_loop(
    port: int,
    host: str,
    context: ssl.SSLContext | None,
    *,
    resume: bool,
    count: int,
    seconds: float,
) -> Connections:
    """`count` new connections to 127.0.0.1:`port`, or as many as fit in `seconds`."""
    session: ssl.SSLSession | None = None
    handshakes: list[float] = []
    totals: list[float] = []
    failures = reused = 0
    cpu0 = time.thread_time()
    start = time.perf_counter()
    deadline = start + seconds
    for _ in range(count):
        if time.perf_counter() > deadline:
            break
        t0 = time.perf_counter()
        try:
            raw = socket.create_connection(("127.0.0.1", port), timeout=5)
        except OSError:
            failures += 1
            continue
        sock: socket.socket = raw
        try:
            raw.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            if context is not None:
                sock = context.wrap_socket(raw, server_hostname=None, session=session)
                handshakes.append((time.perf_counter() - t0) * 1e6)
            status = _request(sock, host)
            totals.append((time.perf_counter() - t0) * 1e6)
            if status != 200:
                failures += 1
            if isinstance(sock, ssl.SSLSocket):
                reused += 1 if sock.session_reused else 0
                if resume:
                    session = sock.session
        except (OSError, http.client.HTTPException):
            failures += 1
        finally:
            sock.close()
    elapsed = time.perf_counter() - start
    return Connections(
        connections=len(totals),
        failures=failures,
        reused=reused,
        elapsed_s=elapsed,
        client_cpu_s=time.thread_time() - cpu0,
        handshake_us=handshakes,
        total_us=totals,
    )


@dataclass(frozen=True)
class InMemory:
    """TLS handshakes between two `SSLObject`s over memory BIOs: OpenSSL's own cost, no sockets."""

    handshakes: int
    reused: int
    client_us: list[float]  # CPU per handshake, the client's steps
    server_us: list[float]  # CPU per handshake, the server's steps


def _step(obj: ssl.SSLObject) -> tuple[bool, float]:
    t0 = time.thread_time()
    try:
        obj.do_handshake()
        done = True
    except ssl.SSLWantReadError:
        done = False
    return done, time.thread_time() - t0


def _one_in_memory(
    client: ssl.SSLContext, server: ssl.SSLContext, session: ssl.SSLSession | None
) -> tuple[float, float, ssl.SSLObject]:
    c_in, c_out, s_in, s_out = (ssl.MemoryBIO() for _ in range(4))
    c = client.wrap_bio(c_in, c_out, server_hostname=None, session=session)
    s = server.wrap_bio(s_in, s_out, server_side=True)
    c_cpu = s_cpu = 0.0
    c_done = s_done = False
    for _ in range(10):  # TLS 1.3 with client certificates needs three flights
        if not c_done:
            c_done, spent = _step(c)
            c_cpu += spent
        s_in.write(c_out.read())
        if not s_done:
            s_done, spent = _step(s)
            s_cpu += spent
        c_in.write(s_out.read())
        if c_done and s_done:
            break
    else:
        raise ssl.SSLError("in-memory handshake did not finish")
    # One byte each way, so the client reads the server's session tickets, as on a socket.
    t0 = time.thread_time()
    s.write(b"x")
    s_cpu += time.thread_time() - t0
    c_in.write(s_out.read())
    t0 = time.thread_time()
    c.read(16)
    c_cpu += time.thread_time() - t0
    return c_cpu * 1e6, s_cpu * 1e6, c


def in_memory(
    client: ssl.SSLContext,
    server: ssl.SSLContext,
    *,
    resume: bool,
    count: int,
    seconds: float,
) -> InMemory:
    """`count` handshakes between `client` and `server` in this thread, or fewer in `seconds`."""
    session: ssl.SSLSession | None = None
    client_us: list[float] = []
    server_us: list[float] = []
    reused = 0
    deadline = time.perf_counter() + seconds
    for _ in range(count):
        if time.perf_counter() > deadline:
            break
        c_cpu, s_cpu, obj = _one_in_memory(client, server, session)
        client_us.append(c_cpu)
        server_us.append(s_cpu)
        reused += 1 if obj.session_reused else 0
        if resume:
            session = obj.session
    return InMemory(len(client_us), reused, client_us, server_us)
