"""The direct path: route match and forward driven by protocol callbacks, no Task per request.

`stack.py` gives a listener one when its chain is only tracing ─▶ route match ─▶ per-route
chains (no inbound, authn, authz or rate limit layer on the listener). For each request the
client protocol calls `start`, which runs tracing's and route match's synchronous parts. When
the matched route's chain is the upstream layer alone (`RouteEntry.direct`: no retry, timeout,
mirror, fault, transform, CORS, projection, cache, per-route authn or rate limit), it picks the
endpoint, takes an idle pooled connection and writes the request head (with a body already
complete) in one write; the upstream connection calls back with the response once the read
that carried it is parsed, and the client protocol writes it exactly as on the general path.

Everything else continues on the general path from the point reached, as a Task running the
rest of the same chain: another route chain, no idle connection, an `Upgrade`, an upstream
failure (the keep-alive race's retry lives there). So this changes how a request is driven,
never what is done to it. This module must never answer a request itself: replies go through
the client protocol, and local replies leave on a later loop turn, so a pipeline of them never
recurses.
"""

from __future__ import annotations

import logging

from meshproxy.http.message import LocalReply, Request, Response
from meshproxy.layers.route import RouteLayer
from meshproxy.layers.tracing import TracingLayer
from meshproxy.layers.upstream import UpstreamLayer
from meshproxy.server.state import Client, Stack
from meshproxy.upstream.cluster import EndpointTarget
from meshproxy.upstream.errors import UpstreamFailure

log = logging.getLogger("meshproxy.server")


class DirectPath:
    __slots__ = ("_route", "_tracing", "_upstream")

    def __init__(self, tracing: TracingLayer, route: RouteLayer, upstream: UpstreamLayer) -> None:
        self._tracing = tracing
        self._route = route
        self._upstream = upstream

    def start(self, request: Request, client: Client, stack: Stack) -> None:
        try:
            self._tracing.prepare(request)
            entry = self._route.resolve(request)
            if not entry.direct or request.upgrade is not None:
                client.spawn(request, stack, entry.handle(request))
                return
            upstream = self._upstream
            target = upstream.pick(request)
            endpoint = target.endpoint
            endpoint.active_requests += 1
            conn = target.pool.acquire_idle()
            if conn is None:
                client.spawn(request, stack, upstream.exchange(target, request))
                return
            try:
                head = upstream.head(request, target.extra)
            except LocalReply:
                endpoint.active_requests -= 1
                target.pool.release(conn, True)  # nothing was written on it
                raise
            exchange = _Exchange(upstream, target, request, client, stack)
            try:
                conn.send_to(head, request.body, request.method == "HEAD", exchange)
            except Exception:
                endpoint.active_requests -= 1
                conn.abort()
                raise
        except LocalReply as exc:
            client.reply_soon(request, exc.status, stack)
        except Exception:
            log.exception("request handler failed")
            client.reply_soon(request, 500, stack)


class _Exchange:
    """One request in flight on the direct path: the upstream connection's receiver."""

    __slots__ = ("_client", "_request", "_stack", "_target", "_upstream")

    def __init__(
        self,
        upstream: UpstreamLayer,
        target: EndpointTarget,
        request: Request,
        client: Client,
        stack: Stack,
    ) -> None:
        self._upstream = upstream
        self._target = target
        self._request = request
        self._client = client
        self._stack = stack

    def response(self, response: Response) -> None:
        target = self._target
        endpoint = target.endpoint
        endpoint.active_requests -= 1
        detector = target.detector
        if detector is not None:
            detector.record(endpoint, response.status, self._upstream.now())
        self._client.respond(self._request, response, self._stack)

    def failed(self, failure: UpstreamFailure) -> None:
        # The general path takes over with the endpoint still counted: it retries the keep-alive
        # race on a fresh connection, records the outlier result and answers the failure.
        pending = self._upstream.exchange(self._target, self._request, failure)
        self._client.spawn(self._request, self._stack, pending)
