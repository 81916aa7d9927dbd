"""HTTP/1 CONNECT (RFC 9110 §9.3.6): the client's request target, the proxy's `200` head, and the
CONNECT a sidecar sends its mesh peer and the peer's answer to it.

A CONNECT target is authority-form only: `host:port`, the port required and in range, no
userinfo; the host follows the same pattern as a Host header. Anything else is a 400 before a
tunnel is considered. A `2xx` answer to CONNECT carries no Content-Length or Transfer-Encoding
(the bytes after its head are the tunnel's), so it is written and read here, never by the
message codecs.

This module must never open sockets or decide where a tunnel goes.
"""

from __future__ import annotations

from meshproxy.http.heads import safe_head
from meshproxy.http1.request import valid_host

CONNECTED = b"HTTP/1.1 200 Connection Established\r\n\r\n"
"""The proxy's answer once the tunnel's upstream leg is open."""

MAX_REPLY_HEAD = 8 * 1024  # a mesh peer's answer to CONNECT is one short status line


def connect_authority(target: str) -> str | int:
    """The lower-cased `host:port` of a CONNECT request target, or the status refusing it."""
    authority = target.lower()
    host, sep, port = authority.rpartition(":")
    if (
        not sep
        or not host
        or "@" in host
        or not (port.isascii() and port.isdigit())
        or len(port) > 5
        or not 0 < int(port) < 65536
        or not valid_host(authority)
    ):
        return 400
    return authority


def connect_head(authority: str, extra: str) -> bytes | None:
    """The CONNECT a sidecar sends its mesh peer; `extra` are whole header lines (the target
    port). None when a value would carry CR, LF or NUL onto the wire."""
    text = f"CONNECT {authority} HTTP/1.1\r\nhost: {authority}\r\n{extra}\r\n"
    if not safe_head(text, 3 + extra.count("\r\n")):
        return None
    return text.encode("latin-1")


def read_reply_status(head: bytes) -> int:
    """The status code of a reply head (`HTTP/1.x NNN ...`); 0 when it is not one."""
    line = head.split(b"\r\n", 1)[0]
    parts = line.split(b" ", 2)
    if len(parts) < 2 or parts[0] not in (b"HTTP/1.1", b"HTTP/1.0"):
        return 0
    code = parts[1]
    if len(code) != 3 or not code.isdigit():
        return 0
    return int(code)
