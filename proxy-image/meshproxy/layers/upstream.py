"""The innermost layer: pick an endpoint (balancer, outlier state), take a pooled connection,
send the request head in one write, and return the response head with its body streaming.

Circuit breaking is the pool's limits; outlier detection sees every result here. A reused
keep-alive connection that dies before any response byte is tried once more on a fresh one when
the request can be replayed (its body is absent or fully buffered): that is the keep-alive race,
not an upstream failure.

This module must never retry for policy reasons (that is `retry.py`) and never leak upstream
error text: failures leave as `UpstreamFailure`.
"""

from __future__ import annotations

import asyncio

from meshproxy.http.heads import HOP_BY_HOP, PROXY_OWNED, connection_tokens, safe_head
from meshproxy.http.message import LocalReply, Request, Response
from meshproxy.policy.balancer import hash_key_for
from meshproxy.upstream.cluster import ClusterRuntime, EndpointTarget
from meshproxy.upstream.connection import UpstreamConnection
from meshproxy.upstream.errors import UpstreamFailure
from meshproxy.upstream.pool import EndpointPool
from meshproxy.upstream.tunnel import Tunnel

# Request headers never copied upstream as they are: hop-by-hop, the ones set here, and the
# ones only a proxy may set (a client's copy of the peer identity must never reach an app).
_SKIP = HOP_BY_HOP | PROXY_OWNED | {"host", "x-forwarded-for", "x-forwarded-proto", "expect"}


class UpstreamLayer:
    __slots__ = ("_clusters", "_loop", "_set_proto")

    def __init__(self, clusters: dict[str, ClusterRuntime], set_forwarded_proto: bool) -> None:
        self._clusters = clusters
        self._loop = asyncio.get_running_loop()
        self._set_proto = set_forwarded_proto

    async def handle(self, request: Request) -> Response:
        target = self.pick(request)
        target.endpoint.active_requests += 1
        return await self.exchange(target, request)

    def pick(self, request: Request) -> EndpointTarget:
        """The endpoint for `request` (balancer, outlier state); 503 when none is left."""
        cluster = self._clusters[request.cluster]
        hash_key = (
            hash_key_for(cluster.hash_cfg, request.headers_dict(), request.client_ip)
            if cluster.hash_cfg is not None
            else None
        )
        endpoint = cluster.balancer.pick(hash_key, self._loop.time())
        if endpoint is None:
            raise LocalReply(503)
        target = cluster.targets[endpoint]
        request.endpoint = target.label
        return target

    async def exchange(
        self, target: EndpointTarget, request: Request, failure: UpstreamFailure | None = None
    ) -> Response:
        """The exchange with a picked endpoint whose `active_requests` the caller counted; it is
        uncounted here. `failure`: a first try that already failed (the direct path's)."""
        endpoint = target.endpoint
        detector = target.detector
        try:
            response = await self._exchange(target.pool, request, target.extra, failure)
        except UpstreamFailure:
            if detector is not None:
                detector.record(endpoint, None, self._loop.time())
            raise
        finally:
            endpoint.active_requests -= 1
        if detector is not None:
            detector.record(endpoint, response.status, self._loop.time())
        return response

    def now(self) -> float:
        return self._loop.time()

    async def _exchange(
        self,
        pool: EndpointPool,
        request: Request,
        extra: str,
        failure: UpstreamFailure | None,
    ) -> Response:
        body = request.body
        if failure is None:
            conn = pool.acquire_idle() or await pool.acquire()
            # The head is built only now: its framing (length or chunked) must describe the
            # body as `send` finds it, with no await in between.
            try:
                head = self.head(request, extra)
            except LocalReply:
                pool.release(conn, True)  # nothing was written on it
                raise
            try:
                response = await self._send(conn, head, request)
            except UpstreamFailure as first:
                failure = first
        if failure is not None:
            if not failure.reused or (body is not None and not body.complete):
                raise failure
            conn = await pool.acquire_fresh()
            response = await self._send(conn, self.head(request, extra), request)
        if response.status == 101 and request.upgrade is not None:
            response.extra = Tunnel(conn)
        return response

    @staticmethod
    async def _send(conn: UpstreamConnection, head: bytes, request: Request) -> Response:
        try:
            return await conn.send(head, request.body, request.method == "HEAD")
        except asyncio.CancelledError:
            conn.abort()  # a timeout cut the exchange short: the connection is in an unknown state
            raise

    def head(self, request: Request, extra: str = "") -> bytes:
        """The upstream request head, built with one join. `extra`: whole header lines the
        cluster adds (a mesh peer's target port); `request.extra_head` those a layer added."""
        query = request.query
        target = f"{request.path}?{query}" if query else request.path
        parts = [f"{request.method} {target} HTTP/1.1\r\nhost: {request.host}\r\n"]
        skip = _SKIP
        forwarded_for = ""
        proto = ""
        for name, value in request.headers:
            if name in skip:
                if name == "x-forwarded-for":
                    forwarded_for = value
                elif name == "x-forwarded-proto":
                    proto = value
                elif name == "connection":
                    skip = skip | connection_tokens(value)
                continue
            parts.append(f"{name}: {value}\r\n")
        if skip is not _SKIP:  # a Connection header named more hop-by-hop headers: drop them
            parts = [parts[0]] + [p for p in parts[1:] if p[: p.index(":")] not in skip]
        client_ip = request.client_ip
        parts.append(
            f"x-forwarded-for: {forwarded_for}, {client_ip}\r\n"
            if forwarded_for
            else f"x-forwarded-for: {client_ip}\r\n"
        )
        if self._set_proto or not proto:
            proto = request.scheme
        parts.append(f"x-forwarded-proto: {proto}\r\n")
        body = request.body
        if body is not None:
            if body.complete:
                parts.append(f"content-length: {len(body.buffered())}\r\n")
            elif body.length is not None:
                parts.append(f"content-length: {body.length}\r\n")
            else:
                parts.append("transfer-encoding: chunked\r\n")
        elif request.method in ("POST", "PUT", "PATCH"):
            parts.append("content-length: 0\r\n")
        if request.upgrade is not None:
            parts.append(f"connection: upgrade\r\nupgrade: {request.upgrade}\r\n")
        if extra:
            parts.append(extra)
        if request.extra_head:
            parts.append(request.extra_head)
        parts.append("\r\n")
        text = "".join(parts)
        if not safe_head(text, len(parts) + 1 + (1 if request.upgrade is not None else 0)):
            raise LocalReply(400)  # CR, LF or NUL reached a header: never send it
        return text.encode("latin-1")
