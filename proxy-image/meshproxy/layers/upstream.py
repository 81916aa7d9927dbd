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
import math

from meshproxy.http.message import Exchange, LocalReply, Response
from meshproxy.http1.request import upstream_head
from meshproxy.http2 import grpc
from meshproxy.http2.headers import upstream_request
from meshproxy.policy.balancer import hash_key_for
from meshproxy.server.state import Client, Stack
from meshproxy.upstream.cluster import ClusterRuntime, EndpointTarget
from meshproxy.upstream.connection import UpstreamConnection
from meshproxy.upstream.errors import UpstreamFailure
from meshproxy.upstream.pool import EndpointPool
from meshproxy.upstream.tunnel import Tunnel


class UpstreamLayer:
    __slots__ = ("_clusters", "_loop", "_set_proto")

    def __init__(self, clusters: dict[str, ClusterRuntime], set_forwarded_proto: bool) -> None:
        self._clusters = clusters
        self._loop = asyncio.get_running_loop()
        self._set_proto = set_forwarded_proto

    async def handle(self, exchange: Exchange) -> Response:
        target = self.pick(exchange)
        target.endpoint.active_requests += 1
        return await self.send(target, exchange)

    def start(self, exchange: Exchange, client: Client, stack: Stack) -> None:
        """Forward by callbacks: on an idle pooled connection, write the request head (with a
        body already complete) in one write; the connection calls back with the response once
        the read that carried it is parsed. Anything else (an `Upgrade`, no idle connection, a
        failure) finishes in a Task through `send`, exactly as `handle` would."""
        request = exchange.request
        if request.upgrade is not None:
            client.spawn(exchange, stack, self.handle(exchange))
            return
        target = self.pick(exchange)
        endpoint = target.endpoint
        endpoint.active_requests += 1
        if target.h2 is not None and (target.h2_always or request.version == "2"):
            client.spawn(exchange, stack, self.send(target, exchange))
            return
        conn = target.pool.acquire_idle()
        if conn is None:
            client.spawn(exchange, stack, self.send(target, exchange))
            return
        try:
            head = self.head(exchange, target.extra)
        except LocalReply:
            endpoint.active_requests -= 1
            target.pool.release(conn, True)  # nothing was written on it
            raise
        forward = _Forward(self, target, exchange, client, stack, conn)
        try:
            conn.send_to(head, request.body, request.method == "HEAD", forward)
        except Exception:
            endpoint.active_requests -= 1
            conn.abort()
            raise

    def pick(self, exchange: Exchange) -> EndpointTarget:
        """The endpoint for `exchange` (balancer, outlier state); 503 when the cluster has none.

        When outlier detection has ejected every endpoint, the pick ignores ejections (Envoy's
        panic routing, which it enters far earlier, below half healthy): a one-endpoint canary
        subset whose only Pod had a bad streak keeps getting its share instead of 503s."""
        cluster = self._clusters[exchange.cluster]
        hash_key = (
            hash_key_for(cluster.hash_cfg, exchange.request.headers_dict(), exchange.client_ip)
            if cluster.hash_cfg is not None
            else None
        )
        endpoint = cluster.balancer.pick(hash_key, self._loop.time())
        if endpoint is None:
            endpoint = cluster.balancer.pick(hash_key, math.inf)  # every one ejected: panic
        if endpoint is None:
            raise LocalReply(503)
        target = cluster.targets[endpoint]
        exchange.endpoint = target.label
        return target

    async def send(
        self, target: EndpointTarget, exchange: Exchange, failure: UpstreamFailure | None = None
    ) -> Response:
        """The exchange with a picked endpoint whose `active_requests` the caller counted; it is
        uncounted here. `failure`: a first try that already failed (one started by callbacks)."""
        endpoint = target.endpoint
        detector = target.detector
        try:
            if target.h2 is not None and (target.h2_always or exchange.request.version == "2"):
                response = await self._exchange_h2(target, exchange)
            else:
                response = await self._exchange(target.pool, exchange, target.extra, failure)
        except UpstreamFailure:
            if detector is not None:
                detector.record(endpoint, None, self._loop.time())
            raise
        finally:
            endpoint.active_requests -= 1
        if detector is not None:
            status = response.status
            if exchange.grpc_status:
                status = grpc.as_http(exchange.grpc_status)  # a gRPC call's own outcome
            detector.record(endpoint, status, self._loop.time())
        return response

    def now(self) -> float:
        return self._loop.time()

    async def _exchange(
        self,
        pool: EndpointPool,
        exchange: Exchange,
        extra: str,
        failure: UpstreamFailure | None,
    ) -> Response:
        request = exchange.request
        body = request.body
        if failure is None:
            conn = pool.acquire_idle() or await pool.acquire()
            # The head is built only now: its framing (length or chunked) must describe the
            # body as `send` finds it, with no await in between.
            try:
                head = self.head(exchange, extra)
            except LocalReply:
                pool.release(conn, True)  # nothing was written on it
                raise
            try:
                response = await self._send(conn, head, exchange)
            except UpstreamFailure as first:
                failure = first
        if failure is not None:
            if not failure.reused or (body is not None and not body.complete):
                raise failure
            conn = await pool.acquire_fresh()
            response = await self._send(conn, self.head(exchange, extra), exchange)
        if response.status == 101:
            if request.upgrade is None:
                conn.abort()  # switched to a protocol nobody asked for: no HTTP follows
                raise UpstreamFailure("protocol")
            response.extra = Tunnel(conn)
        return response

    async def _exchange_h2(self, target: EndpointTarget, exchange: Exchange) -> Response:
        """One stream on a multiplexed connection. A stream the upstream refused, or that a
        GOAWAY left unstarted, is sent once more (it never reached the application)."""
        pool = target.h2
        assert pool is not None
        request = exchange.request
        body = request.body
        scheme = "https" if pool.tls is not None else "http"
        try:
            headers = upstream_request(exchange, target.extra, self._set_proto, scheme)
        except ValueError:
            raise LocalReply(400) from None  # CR, LF or NUL reached a header: never send it
        head_request = request.method == "HEAD"
        attempt = 0
        while True:
            conn = await pool.acquire()
            pending = conn.request(headers, body, head_request, exchange)
            try:
                return await pending
            except UpstreamFailure as failure:
                replayable = body is None or body.complete
                if attempt or not failure.reused or not replayable:
                    raise
                attempt += 1
            except asyncio.CancelledError:
                conn.cancel(pending)  # a timeout cut the exchange short: reset its stream
                raise

    @staticmethod
    async def _send(conn: UpstreamConnection, head: bytes, exchange: Exchange) -> Response:
        request = exchange.request
        try:
            return await conn.send(head, request.body, request.method == "HEAD")
        except asyncio.CancelledError:
            conn.abort()  # a timeout cut the exchange short: the connection is in an unknown state
            raise

    def head(self, exchange: Exchange, extra: str = "") -> bytes:
        """The upstream request head (`http1.request.upstream_head`); 400 when unsafe."""
        head = upstream_head(exchange, extra, self._set_proto)
        if head is None:
            raise LocalReply(400)  # CR, LF or NUL reached a header: never send it
        return head


class _Forward:
    """One exchange started by callbacks: the upstream connection's receiver."""

    __slots__ = ("_client", "_conn", "_exchange", "_stack", "_target", "_upstream")

    def __init__(
        self,
        upstream: UpstreamLayer,
        target: EndpointTarget,
        exchange: Exchange,
        client: Client,
        stack: Stack,
        conn: UpstreamConnection,
    ) -> None:
        self._upstream = upstream
        self._conn = conn
        self._target = target
        self._exchange = exchange
        self._client = client
        self._stack = stack

    def response(self, response: Response) -> None:
        if response.status == 101:
            # Requests that ask for an upgrade never start by callbacks: this upstream switched
            # protocols unasked, so nothing after its head is HTTP. Envoy answers it 502 too.
            self._conn.abort()
            self.failed(UpstreamFailure("protocol"))
            return
        target = self._target
        endpoint = target.endpoint
        endpoint.active_requests -= 1
        detector = target.detector
        if detector is not None:
            detector.record(endpoint, response.status, self._upstream.now())
        self._client.respond(self._exchange, response, self._stack)

    def failed(self, failure: UpstreamFailure) -> None:
        # A Task takes over with the endpoint still counted: it retries the keep-alive race on
        # a fresh connection, records the outlier result and answers the failure.
        pending = self._upstream.send(self._target, self._exchange, failure)
        self._client.spawn(self._exchange, self._stack, pending)
