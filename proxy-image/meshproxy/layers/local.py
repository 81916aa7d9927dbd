"""Routes answered by the proxy itself: redirects and direct responses. Terminal layers."""

from __future__ import annotations

from meshproxy import config
from meshproxy.http.message import Exchange, Response
from meshproxy.policy.headers import is_valid_header_value
from meshproxy.policy.routing import CompiledRoute


class RedirectLayer:
    __slots__ = ("_route", "_status")

    def __init__(self, route: CompiledRoute, redirect: config.Redirect) -> None:
        self._route = route
        self._status = redirect.status_code

    async def handle(self, exchange: Exchange) -> Response:
        location = self._route.redirect_location(
            exchange.scheme, exchange.request.host, exchange.request.path, exchange.request.query
        )
        if location is None or not is_valid_header_value(location.encode("latin-1", "replace")):
            return Response(400, [("content-type", "text/plain")], b"bad request\n", local=True)
        return Response(self._status, [("location", location)], b"", local=True)


class DirectResponseLayer:
    __slots__ = ("_body", "_headers", "_status")

    def __init__(self, direct: config.DirectResponse) -> None:
        for name, value in direct.headers.items():
            if not is_valid_header_value(value.encode("utf-8")) or not name.strip():
                raise ValueError(f"directResponse header {name!r}: invalid name or value")
        self._status = direct.status
        self._headers = list(direct.headers.items())
        self._body = direct.body.encode("utf-8")

    async def handle(self, exchange: Exchange) -> Response:
        return Response(self._status, list(self._headers), self._body, local=True)
