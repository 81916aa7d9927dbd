"""Fixed error replies, built once at import: what the proxy says when it answers by itself.

The bodies are constant text, so no upstream error, exception or request byte ever reaches a
client through them. This module must never build a reply from request or upstream data.
"""

from __future__ import annotations

from http import HTTPStatus

REASONS: dict[int, str] = {s.value: s.phrase for s in HTTPStatus}

_BODIES: dict[int, bytes] = {
    400: b"bad request\n",
    401: b"unauthorized\n",
    403: b"forbidden\n",
    404: b"no route\n",
    405: b"method not allowed\n",
    408: b"request timeout\n",
    413: b"request body too large\n",
    421: b"misdirected request\n",
    429: b"too many requests\n",
    431: b"request header fields too large\n",
    500: b"internal error\n",
    502: b"upstream error\n",
    503: b"no healthy upstream\n",
    504: b"upstream timeout\n",
}


def reason(status: int) -> str:
    return REASONS.get(status, "Unknown")


def body(status: int) -> bytes:
    return _BODIES.get(status, b"%d\n" % status)


def _build(status: int, close: bool) -> bytes:
    text = _BODIES.get(status, b"%d\n" % status)
    return b"".join(
        (
            b"HTTP/1.1 %d %s\r\n" % (status, reason(status).encode()),
            b"content-type: text/plain\r\n",
            b"content-length: %d\r\n" % len(text),
            b"connection: close\r\n" if close else b"",
            b"\r\n",
            text,
        )
    )


# Whole replies for errors detected before a request exists: always close the connection.
CLOSE: dict[int, bytes] = {status: _build(status, True) for status in _BODIES}
