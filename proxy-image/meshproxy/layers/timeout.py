"""The route timeout: the whole upstream exchange, retries included, up to the response head."""

from __future__ import annotations

import asyncio

from meshproxy.http.message import Exchange, Response
from meshproxy.layers import Handler
from meshproxy.upstream.errors import UpstreamFailure


class TimeoutLayer:
    __slots__ = ("_next", "_seconds")

    def __init__(self, next_handler: Handler, seconds: float) -> None:
        self._next = next_handler
        self._seconds = seconds

    async def handle(self, exchange: Exchange) -> Response:
        try:
            async with asyncio.timeout(self._seconds):
                return await self._next(exchange)
        except TimeoutError:
            raise UpstreamFailure("timeout") from None
