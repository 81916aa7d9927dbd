"""CORS: answer preflights locally, add the allow headers to actual responses."""

from __future__ import annotations

from meshproxy import config
from meshproxy.http.message import Exchange, Response
from meshproxy.layers import Handler
from meshproxy.policy.cors import CorsPolicy


class CorsLayer:
    __slots__ = ("_next", "_policy")

    def __init__(self, next_handler: Handler, cfg: config.Cors) -> None:
        self._next = next_handler
        self._policy = CorsPolicy(cfg)

    async def handle(self, exchange: Exchange) -> Response:
        request = exchange.request
        headers = request.headers_dict()
        origin = headers.get("origin")
        preflight = self._policy.preflight(origin, request.method, headers)
        if preflight is not None:
            return Response(204, preflight, b"", local=True)
        response = await self._next(exchange)
        credentialed = "cookie" in headers or "authorization" in headers
        extra = self._policy.response_headers(origin, credentialed)
        if extra:
            response.headers = response.headers + extra
        return response
