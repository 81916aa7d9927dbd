"""The session cookie of a cookie consistent hash: a request without it gets one.

A DestinationRule's `consistentHash.httpCookie` hashes on a cookie; a first request does not have
it yet. This layer, in front of the upstream, gives such a request a random value as if the
client had sent it (so the balancer hashes on it) and answers it in `Set-Cookie`, so the client's
next requests go to the same endpoint. A request that has the cookie passes untouched.

Only routes whose backends hash on a cookie get this layer (`stack.py`).
"""

from __future__ import annotations

import secrets

from meshproxy import config
from meshproxy.http.message import Exchange, Response
from meshproxy.layers import Handler
from meshproxy.policy.balancer import request_cookie


class StickyCookieLayer:
    __slots__ = ("_attributes", "_name", "_next")

    def __init__(self, next_handler: Handler, cfg: config.ConsistentHash) -> None:
        assert cfg.cookie is not None
        self._next = next_handler
        self._name = cfg.cookie
        attributes = [f"Path={cfg.cookie_path or '/'}", "HttpOnly"]
        if cfg.cookie_ttl:
            attributes.insert(1, f"Max-Age={int(cfg.cookie_ttl)}")
        self._attributes = "; ".join(attributes)

    async def handle(self, exchange: Exchange) -> Response:
        request = exchange.request
        if request_cookie(request.header("cookie"), self._name) is not None:
            return await self._next(exchange)
        value = secrets.token_hex(8)
        pair = f"{self._name}={value}"
        headers = [(n, v) for n, v in request.headers if n != "cookie"]
        existing = request.header("cookie")
        headers.append(("cookie", f"{existing}; {pair}" if existing else pair))
        request.set_headers(headers)
        response = await self._next(exchange)
        response.headers.append(("set-cookie", f"{pair}; {self._attributes}"))
        return response
