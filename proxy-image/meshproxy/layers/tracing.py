"""W3C trace context and request ids: forward `traceparent` (starting one when absent) and a
request id, and remember both for the access log."""

from __future__ import annotations

import random

from meshproxy import config
from meshproxy.http.message import Exchange, Response
from meshproxy.layers import Handler
from meshproxy.policy.tracing import request_id_from_hex, traceparent_from_hex

_TOP_BIT = 1 << 320


class TracingLayer:
    __slots__ = ("_getrandbits", "_id_header", "_next", "_propagate")

    def __init__(self, next_handler: Handler, cfg: config.Tracing) -> None:
        self._next = next_handler
        self._propagate = cfg.propagate
        self._id_header = cfg.request_id_header.lower()
        # Trace and request ids must be unpredictable enough not to collide, not secret:
        # a seeded PRNG avoids a getrandom syscall per request.
        self._getrandbits = random.Random().getrandbits  # noqa: S311

    async def handle(self, exchange: Exchange) -> Response:
        self.prepare(exchange)
        return await self._next(exchange)

    def prepare(self, exchange: Exchange) -> None:
        """Everything this layer does, before the next layer runs (the direct path calls it)."""
        incoming_parent: str | None = None
        request_id: str | None = None
        id_header = self._id_header
        request = exchange.request
        headers = request.headers
        for name, value in headers:
            if name == "traceparent":
                incoming_parent = value
            elif name == id_header:
                request_id = value
        # One draw for every id: 32 hex digits of request id, 16 of span, 32 of trace id. The
        # bit above them makes `hex` keep leading zeros ("0x1" + 80 digits): a format spec
        # would cost a `str.format` call in the compiled build.
        digits = hex(self._getrandbits(320) | _TOP_BIT)[3:]
        changed = False
        if self._propagate:
            parent, exchange.trace_id = traceparent_from_hex(
                incoming_parent, digits[32:48], digits[48:]
            )
            if parent != incoming_parent:
                if incoming_parent is not None:
                    headers = [(n, v) for n, v in headers if n != "traceparent"]
                headers.append(("traceparent", parent))
                changed = True
        if request_id is None:
            request_id = request_id_from_hex(digits)
            headers.append((id_header, request_id))
            changed = True
        exchange.request_id = request_id
        if changed:
            request.set_headers(headers)  # appended in place when nothing had to be taken out
