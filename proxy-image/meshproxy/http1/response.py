"""HTTP/1 responses: reading an upstream's response head, writing one to the client.

Framing is always the proxy's own: an upstream's Content-Length, Transfer-Encoding, Connection
and the headers Connection names never pass through; the client gets a length, chunking or a
close that describes the body as this proxy sends it.
"""

from __future__ import annotations

from meshproxy.http import canned
from meshproxy.http.body import Body
from meshproxy.http.heads import HOP_BY_HOP, PLAIN_CONNECTION, connection_tokens, safe_head
from meshproxy.http.message import Request, Response

NO_BODY_STATUS = frozenset({204, 304})
# Status lines with the standard reason phrase, built once rather than per response.
_STATUS_LINES: dict[int, str] = {
    status: f"HTTP/1.1 {status} {phrase}\r\n" for status, phrase in canned.REASONS.items()
}

ResponseFields = tuple[list[tuple[str, str]], "int | None", bool]
"""An upstream response head's end-to-end headers, Content-Length and whether it is chunked."""


def read_head(status: int, raw: list[tuple[str, str]]) -> ResponseFields | None:
    """The fields of an upstream's response head; None when its framing is malformed."""
    drop = HOP_BY_HOP
    length: int | None = None
    chunked = False
    headers: list[tuple[str, str]] = []
    for name, value in raw:
        key = name.lower()
        if key in drop:
            if key == "upgrade" and status == 101:
                headers.append((name, value))  # the protocol the tunnel switches to
            elif key == "content-length":
                if not (value.isascii() and value.isdigit()):
                    return None
                length = int(value)
            elif key == "transfer-encoding":
                chunked = True
            elif key == "connection":
                if value in PLAIN_CONNECTION:
                    continue
                tokens = connection_tokens(value)
                if tokens <= drop:
                    continue  # `keep-alive`, `close`: nothing more to drop
                drop = drop | tokens
                headers = [
                    (n, v)
                    for n, v in headers
                    if n.lower() not in drop or (status == 101 and n.lower() == "upgrade")
                ]
            continue
        headers.append((name, value))
    return headers, length, chunked


ResponseHead = tuple["bytes | None", "bytes | None", bool, bool]
"""(head, payload, chunked, close): the head is None when a header value is unsafe to send;
the payload is None when the body streams after the head (chunked or with its length)."""


def upgrade_head(response: Response) -> bytes | None:
    """The head of a 101 Switching Protocols that opens a tunnel."""
    parts = _status_and_headers(response)
    parts.append("connection: upgrade\r\n")
    return _seal(parts)


def response_head(request: Request, response: Response, close: bool) -> ResponseHead:
    """The head to send for `response` to `request`, with the body when it is whole already.
    `close`: the connection closes after this response (the result says when it must)."""
    status = response.status
    body = response.body
    parts = _status_and_headers(response)
    no_body = request.method == "HEAD" or status in NO_BODY_STATUS or status < 200
    data: bytes | None
    if isinstance(body, bytes):
        data = body
        length: int | None = len(body)
    elif body.complete:
        data = body.buffered()
        length = body.length if no_body else len(data)
    else:
        data = None
        length = body.length
    if no_body:
        if isinstance(body, Body):
            body.discard()
        if length is not None and status not in NO_BODY_STATUS and status >= 200:
            parts.append(f"content-length: {length}\r\n")
        data = b""
    elif data is not None or length is not None:
        parts.append(f"content-length: {length}\r\n")
    elif request.version == "1.1":
        parts.append("transfer-encoding: chunked\r\n")
    else:
        close = True  # an HTTP/1.0 client learns the end of the body from the close
    if close:
        parts.append("connection: close\r\n")
    chunked = data is None and length is None and request.version == "1.1"
    return _seal(parts), data, chunked, close


def _status_and_headers(response: Response) -> list[str]:
    status = response.status
    line = None if response.reason else _STATUS_LINES.get(status)
    if line is None:
        line = f"HTTP/1.1 {status} {response.reason or canned.reason(status)}\r\n"
    parts = [line]
    parts += [f"{name}: {value}\r\n" for name, value in response.headers]
    return parts


def _seal(parts: list[str]) -> bytes | None:
    parts.append("\r\n")
    head = "".join(parts)
    if not safe_head(head, len(parts)):
        return None  # a header value carried CR, LF or NUL past every earlier check
    return head.encode("latin-1")
