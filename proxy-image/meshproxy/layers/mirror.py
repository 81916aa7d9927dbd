"""Mirror: send a fire-and-forget copy of a share of requests to another cluster.

The copy goes with `-shadow` appended to its Host (as Envoy does) and its response is dropped.
Only requests whose body is absent or already buffered are mirrored, and at most
`MAX_IN_FLIGHT` copies are outstanding per route: mirroring never slows or buffers the original.
"""

from __future__ import annotations

import asyncio
import random

from meshproxy import config
from meshproxy.http.body import Body
from meshproxy.http.message import Exchange, Request, Response
from meshproxy.layers import Handler
from meshproxy.observability.metrics import Child

MAX_IN_FLIGHT = 64


class MirrorLayer:
    __slots__ = ("_dropped", "_in_flight", "_mirrors", "_next", "_random", "_send", "_tasks")

    def __init__(
        self,
        next_handler: Handler,
        mirrors: list[config.Mirror],
        send: Handler,
        dropped: Child,
    ) -> None:
        self._next = next_handler
        self._mirrors = [(m.cluster, m.percent / 100.0) for m in mirrors]
        self._send = send  # the upstream layer, which uses `exchange.cluster`
        self._random = random.Random().random  # noqa: S311 - sampling, not secrets
        self._in_flight = 0
        self._dropped = dropped
        self._tasks: set[asyncio.Task[None]] = set()

    async def handle(self, exchange: Exchange) -> Response:
        body = exchange.request.body
        if body is None or body.complete:
            for cluster, share in self._mirrors:
                if self._random() < share:
                    self._fire(exchange, cluster)
        return await self._next(exchange)

    def _fire(self, exchange: Exchange, cluster: str) -> None:
        if self._in_flight >= MAX_IN_FLIGHT:
            self._dropped.inc()
            return
        request = exchange.request
        body = request.body
        message = Request(
            request.method,
            request.path,
            request.query,
            list(request.headers),
            _shadow(request.host),
            Body.of(body.buffered()) if body is not None else None,
            request.version,
            True,
        )
        copy = Exchange(message, exchange.client_ip, exchange.scheme, exchange.start)
        copy.cluster = cluster
        self._in_flight += 1
        task = asyncio.get_running_loop().create_task(self._run(copy))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _run(self, copy: Exchange) -> None:
        try:
            response = await self._send(copy)
            if isinstance(response.body, Body):
                response.body.discard()
        except Exception:  # noqa: S110 - a mirror's failure is nobody's business
            pass
        finally:
            self._in_flight -= 1


def _shadow(host: str) -> str:
    name, sep, port = host.rpartition(":")
    if sep and port.isdigit():
        return f"{name}-shadow:{port}"
    return f"{host}-shadow"
