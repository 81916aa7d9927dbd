"""Response cache for GET: serve what Cache-Control allows from a bounded LRU.

A miss buffers the response body only when it fits `maxBodyBytes`; a larger one streams through
uncached, so the cache never holds more than its bound per entry.
"""

from __future__ import annotations

import asyncio

from meshproxy import config
from meshproxy.http.body import Body
from meshproxy.http.message import Exchange, Response
from meshproxy.layers import Handler
from meshproxy.policy.cache import ResponseCache


class CacheLayer:
    __slots__ = ("_cache", "_loop", "_max_body", "_next")

    def __init__(self, next_handler: Handler, cfg: config.Cache) -> None:
        self._next = next_handler
        self._cache = ResponseCache(cfg)
        self._max_body = cfg.max_body_bytes
        self._loop = asyncio.get_running_loop()

    async def handle(self, exchange: Exchange) -> Response:
        request = exchange.request
        if request.method not in ("GET", "HEAD"):
            return await self._next(exchange)
        request_headers = request.headers_dict()
        now = self._loop.time()
        hit = self._cache.lookup(
            request.method, request.host, request.path, request.query, request_headers, now
        )
        if hit is not None:
            headers = [*hit.headers, ("age", str(hit.age(now)))]
            return Response(hit.status, headers, hit.body, local=True)
        response = await self._next(exchange)
        if request.method != "GET" or response.status != 200:
            return response
        body = response.body
        if isinstance(body, Body):
            if not await body.read_upto(self._max_body):
                return response  # too big to cache: the buffered part streams on with the rest
            data = body.buffered()
        else:
            data = body
        self._cache.store(
            request.method,
            request.host,
            request.path,
            request.query,
            request_headers,
            response.status,
            response.headers,
            data,
            self._loop.time(),
        )
        response.body = data
        return response
