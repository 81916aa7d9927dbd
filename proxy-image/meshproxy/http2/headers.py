"""HTTP/2 header lists: a client's request checked into the proxy's fields, the list sent to an
HTTP/2 upstream, and responses both ways.

Header names arrive lower-case and without connection-specific fields (the `h2` library refuses
a block that has them); the checks the HTTP/1 codec makes on values and on the host are made
here too, so a request reads the same to the layers whichever codec carried it. Every list
that leaves is checked for CR, LF and NUL, as `http.heads.safe_head` checks an HTTP/1 head.
"""

from __future__ import annotations

from meshproxy.http.heads import HOP_BY_HOP, PROXY_OWNED, connection_tokens, valid_field_value
from meshproxy.http.message import Exchange, Response

Headers = list[tuple[str, str]]

# Request headers never copied upstream as they are (as `http1.request._SKIP`), and `te`, which
# HTTP/2 allows only as `te: trailers` (gRPC needs it) and is handled on its own.
_SKIP = HOP_BY_HOP | PROXY_OWNED | {"host", "x-forwarded-for", "x-forwarded-proto", "expect"}
_RESPONSE_SKIP = HOP_BY_HOP | {"keep-alive"}

RequestHead = tuple[str, str, "str | None", Headers]
"""A client's request head: (method, target, authority, regular fields lower-case)."""


def request_head(raw: list[tuple[bytes, bytes]]) -> RequestHead | None:
    """The pseudo-headers and fields of a request block; None when a value is unsafe or a
    required pseudo-header is missing (the `h2` library has checked the block's shape)."""
    method = target = ""
    authority: str | None = None
    headers: Headers = []
    for name_b, value_b in raw:
        name = name_b.decode("latin-1")
        value = value_b.decode("latin-1")
        if not valid_field_value(value):
            return None
        if name[:1] == ":":
            if name == ":method":
                method = value
            elif name == ":path":
                target = value
            elif name == ":authority":
                authority = value
            continue
        headers.append((name, value))
    if not method or not target:
        return None
    return method, target, authority, headers


def upstream_request(exchange: Exchange, extra: str, set_proto: bool, scheme: str) -> Headers:
    """The header list an HTTP/2 upstream is sent: the HTTP/1 codec's rules (hop-by-hop and
    proxy-owned fields dropped, `x-forwarded-*` set, `extra` and the layers' lines added) with
    pseudo-headers in place of the request line. ValueError when a value is unsafe."""
    request = exchange.request
    query = request.query
    headers: Headers = [
        (":method", request.method),
        (":scheme", scheme),
        (":authority", request.host),
        (":path", f"{request.path}?{query}" if query else request.path),
    ]
    skip = _SKIP
    forwarded_for = proto = ""
    te_trailers = False
    for name, value in request.headers:
        if name in skip:
            if name == "x-forwarded-for":
                forwarded_for = value
            elif name == "x-forwarded-proto":
                proto = value
            elif name == "te":
                te_trailers = "trailers" in value.lower()
            elif name == "connection":
                skip = skip | connection_tokens(value)
            continue
        headers.append((name, value))
    if skip is not _SKIP:
        headers = [h for h in headers if h[0] not in skip]
    if te_trailers:
        headers.append(("te", "trailers"))
    client_ip = exchange.client_ip
    headers.append(
        ("x-forwarded-for", f"{forwarded_for}, {client_ip}" if forwarded_for else client_ip)
    )
    if set_proto or not proto:
        proto = exchange.scheme
    headers.append(("x-forwarded-proto", proto))
    body = request.body
    if body is not None:
        if body.complete:
            headers.append(("content-length", str(len(body.buffered()))))
        elif body.length is not None:
            headers.append(("content-length", str(body.length)))
    for lines in (extra, exchange.extra_head):
        if lines:
            headers += lines_to_fields(lines)
    for _, value in headers:
        if not valid_field_value(value):
            raise ValueError("unsafe header value")
    return headers


def lines_to_fields(lines: str) -> Headers:
    """HTTP/1 header lines (`name: value\\r\\n` ...) as fields, names lower-case."""
    fields: Headers = []
    for line in lines.split("\r\n"):
        if line:
            name, _, value = line.partition(":")
            fields.append((name.strip().lower(), value.strip()))
    return fields


def response_fields(raw: list[tuple[bytes, bytes]]) -> tuple[int, Headers, int | None] | None:
    """An upstream's response block: (status, end-to-end fields, Content-Length); None when
    the status or a value is malformed."""
    status = 0
    length: int | None = None
    headers: Headers = []
    for name_b, value_b in raw:
        name = name_b.decode("latin-1")
        value = value_b.decode("latin-1")
        if not valid_field_value(value):
            return None
        if name == ":status":
            if not (value.isascii() and value.isdigit() and len(value) == 3):
                return None
            status = int(value)
        elif name == "content-length":
            if not (value.isascii() and value.isdigit()):
                return None
            length = int(value)
        elif name[:1] != ":" and name not in _RESPONSE_SKIP:
            headers.append((name, value))
    if not status:
        return None
    return status, headers, length


def trailer_fields(raw: list[tuple[bytes, bytes]]) -> Headers:
    """Trailers as fields; pseudo and hop-by-hop fields (never valid there) dropped."""
    fields: Headers = []
    for name_b, value_b in raw:
        name = name_b.decode("latin-1")
        value = value_b.decode("latin-1")
        if name[:1] != ":" and name not in _RESPONSE_SKIP and valid_field_value(value):
            fields.append((name, value))
    return fields


def client_response(response: Response, length: int | None) -> Headers:
    """The header list a client is sent for `response` (names lower-case, as HTTP/2 needs)."""
    headers: Headers = [(":status", str(response.status))]
    drop = _RESPONSE_SKIP
    for name, value in response.headers:
        key = name.lower()
        if key in drop or not valid_field_value(value):
            continue
        headers.append((key, value))
    if length is not None:
        headers.append(("content-length", str(length)))
    return headers
