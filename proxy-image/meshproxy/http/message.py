"""The objects that travel through the layers: the exchange, its request, the response.

Plain slotted objects with the fields the layers need, filled once by the codec. Header names
of requests are lower-case (routing and policy compare them); response header names keep the
upstream's spelling. Values are latin-1 text, one character per wire byte.

This module must never parse or validate: the protocols did that before a Request exists.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from meshproxy.http.body import Body

if TYPE_CHECKING:
    from meshproxy.edge.principal import Principal
    from meshproxy.observability.metrics import RequestStats


class Request:
    """The request message as the client sent it, once the codec has checked it: what the
    upstream is sent (after the layers' edits). Per-request context lives on `Exchange`."""

    __slots__ = (
        "body",
        "header_map",
        "headers",
        "host",
        "keep_alive",
        "method",
        "path",
        "query",
        "upgrade",
        "version",
    )

    def __init__(
        self,
        method: str,
        path: str,
        query: str,
        headers: list[tuple[str, str]],
        host: str,
        body: Body | None,
        version: str,
        keep_alive: bool,
    ) -> None:
        self.method = method
        self.path = path  # normalised once by the codec, before any layer sees it
        self.query = query
        self.headers = headers
        self.host = host  # lower-case, may carry a port
        self.body = body  # None when the request has no body
        self.version = version
        self.keep_alive = keep_alive
        self.header_map: dict[str, str] | None = None
        self.upgrade: str | None = None

    def header(self, name: str) -> str | None:
        """The value of a lower-case header name; repeated headers joined with ", ".

        One name is found by a scan of the few header lines, without building `headers_dict`
        (a dict of every header: 3,400 instructions per request for the inbound side's one
        lookup of the target port, measured); a map already built is used."""
        mapping = self.header_map
        if mapping is not None:
            return mapping.get(name)
        found: str | None = None
        for key, value in self.headers:
            if key == name:
                found = value if found is None else found + ", " + value
        return found

    def headers_dict(self) -> dict[str, str]:
        mapping = self.header_map
        if mapping is None:
            mapping = {}
            for name, value in self.headers:
                if name in mapping:
                    mapping[name] = mapping[name] + ", " + value
                else:
                    mapping[name] = value
            self.header_map = mapping
        return mapping

    def set_headers(self, headers: list[tuple[str, str]]) -> None:
        self.headers = headers
        self.header_map = None


class Exchange:
    """One request's passage through the proxy: its message, where it came from, and what the
    layers decided about it. Layers take an Exchange; the codec of the client connection makes
    one per request (HTTP/1 or HTTP/2: `request.version` says which), so the layers are
    the same for both."""

    __slots__ = (
        "attempts",
        "client_ip",
        "cluster",
        "endpoint",
        "extra_head",
        "flags",
        "grpc_status",
        "identity",
        "listener_port",
        "principal",
        "request",
        "request_id",
        "route",
        "scheme",
        "sni",
        "start",
        "stats",
        "target_port",
        "trace_id",
    )

    def __init__(self, request: Request, client_ip: str, scheme: str, start: float) -> None:
        self.request = request
        self.client_ip = client_ip
        self.scheme = scheme
        self.start = start
        self.listener_port = 0
        self.sni: str | None = None
        self.identity: str | None = None  # the peer's verified SPIFFE id, never from a header
        self.principal: Principal | None = None  # set by edge authentication, never by a header
        self.route = ""
        self.cluster = ""
        self.endpoint = ""
        self.request_id = ""
        self.trace_id = ""
        self.attempts = 0
        self.target_port = 0  # inbound: the workload port the caller asked for
        self.extra_head = ""  # complete header lines the proxy itself adds upstream
        self.flags = ""  # why the proxy answered itself (e.g. authz_denied), for the access log
        self.stats: RequestStats | None = None
        self.grpc_status = ""  # a gRPC call's outcome (`grpc-status`), once known


class Response:
    __slots__ = ("body", "extra", "headers", "local", "reason", "status")

    def __init__(
        self,
        status: int,
        headers: list[tuple[str, str]],
        body: Body | bytes,
        reason: str = "",
        local: bool = False,
    ) -> None:
        self.status = status
        self.reason = reason
        self.headers = headers  # never framing or hop-by-hop headers: the server adds its own
        self.body = body
        self.local = local  # answered by the proxy itself, not an upstream
        self.extra: Any = None  # a tunnel for 101 Switching Protocols


class LocalReply(Exception):
    """Raised deep in a layer to answer at once with a canned status (e.g. 503 no endpoint)."""

    def __init__(self, status: int) -> None:
        super().__init__(status)
        self.status = status
