"""Request and response header modifiers, and the forward rewrite of path and Host."""

from __future__ import annotations

from meshproxy.http.message import Exchange, Response
from meshproxy.layers import Handler
from meshproxy.policy.routing import CompiledRoute


class TransformLayer:
    __slots__ = ("_next", "_request_ops", "_response_ops", "_rewrite_host", "_route")

    def __init__(self, next_handler: Handler, route: CompiledRoute) -> None:
        self._next = next_handler
        self._route = route
        self._request_ops = route.request_headers
        self._response_ops = route.response_headers
        self._rewrite_host = route.rewrite_host

    @staticmethod
    def needed(route: CompiledRoute) -> bool:
        forward = route.config.forward
        return bool(
            route.request_headers
            or route.response_headers
            or (forward is not None and forward.rewrite is not None)
        )

    async def handle(self, exchange: Exchange) -> Response:
        request = exchange.request
        if self._request_ops is not None:
            request.set_headers(self._request_ops.apply(request.headers))
        request.path = self._route.rewrite_path(request.path)
        if self._rewrite_host is not None:
            request.host = self._rewrite_host
        response = await self._next(exchange)
        if self._response_ops is not None:
            response.headers = self._response_ops.apply(response.headers)
        return response
