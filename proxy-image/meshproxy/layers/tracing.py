"""W3C trace context and request ids: forward `traceparent` (starting one when absent) and a
request id, and remember both for the access log."""

from __future__ import annotations

import random

from meshproxy import config
from meshproxy.http.message import Request, Response
from meshproxy.layers import Handler
from meshproxy.policy.tracing import ensure_traceparent, new_request_id


class TracingLayer:
    __slots__ = ("_id_header", "_next", "_propagate", "_rand_bytes")

    def __init__(self, next_handler: Handler, cfg: config.Tracing) -> None:
        self._next = next_handler
        self._propagate = cfg.propagate
        self._id_header = cfg.request_id_header.lower()
        # Trace and request ids must be unpredictable enough not to collide, not secret:
        # a seeded PRNG avoids a getrandom syscall per request.
        self._rand_bytes = random.Random().randbytes  # noqa: S311

    async def handle(self, request: Request) -> Response:
        self.prepare(request)
        return await self._next(request)

    def prepare(self, request: Request) -> None:
        """Everything this layer does, before the next layer runs (the direct path calls it)."""
        incoming_parent: str | None = None
        request_id: str | None = None
        id_header = self._id_header
        for name, value in request.headers:
            if name == "traceparent":
                incoming_parent = value
            elif name == id_header:
                request_id = value
        added: list[tuple[str, str]] = []
        if request_id is None:
            request_id = new_request_id(self._rand_bytes)
            added.append((id_header, request_id))
        request.request_id = request_id
        if self._propagate:
            parent, trace_id = ensure_traceparent(incoming_parent, self._rand_bytes)
            request.trace_id = trace_id
            if parent != incoming_parent:
                headers = [(n, v) for n, v in request.headers if n != "traceparent"]
                headers.append(("traceparent", parent))
                request.set_headers(headers + added)
                added = []
        if added:
            request.set_headers(request.headers + added)
