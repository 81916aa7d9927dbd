"""Read the server name (SNI) from the first bytes of a TLS connection, without terminating it.

`read_hello(data, limit)` is called with everything the client has sent so far. It answers
how many bytes it needs before it can say more while the ClientHello is still incomplete (so a
client sending a byte at a time costs one parse per record, not per byte), a `Hello` once it
is whole (its `server_name`,
None when the client sent none), and raises `MalformedHello` for anything that is not a
ClientHello a TLS server would accept the framing of: another record type, a handshake that is
not a ClientHello, lengths that disagree, a server name that is not a host name, or a hello
larger than `limit` bytes (records included), so a client cannot make the proxy buffer more.
A ClientHello may span several handshake records (RFC 8446 §5.1); up to 8 are joined.

Pure: no I/O, no clock. This module must never decide a route or touch a socket.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_RECORD_HANDSHAKE = 0x16
_CLIENT_HELLO = 0x01
_EXT_SERVER_NAME = 0x0000
_NAME_HOST = 0x00
_MAX_RECORD = 1 << 14  # TLSPlaintext.length ≤ 2^14
# Real clients send a ClientHello in one record (two past 16 KiB); a hello cut into many tiny
# records is only ever an attempt to make the parse cost more.
_MAX_RECORDS = 8
_LABEL = rb"[A-Za-z0-9]([-A-Za-z0-9_]*[A-Za-z0-9])?"
_HOST = re.compile(rb"^" + _LABEL + rb"(\." + _LABEL + rb")*$")


class MalformedHello(ValueError):
    """The first bytes are not an acceptable ClientHello; `reason` is a metrics label."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(detail)
        self.reason = reason  # "not_tls", "oversized" or "malformed"


@dataclass(frozen=True, slots=True)
class Hello:
    server_name: str | None  # lower case, no trailing dot


def read_hello(data: bytes, limit: int) -> Hello | int:
    """The ClientHello in `data`; an int while it is incomplete: the length `data` must reach
    before another call can say more (the end of the record or header being read)."""
    handshake = _handshake_bytes(data, limit)
    if isinstance(handshake, int):
        return handshake
    return Hello(_server_name(handshake))


def _handshake_bytes(data: bytes, limit: int) -> bytes | int:
    """The whole ClientHello message (type, length and body), joined across records."""
    if data and data[0] != _RECORD_HANDSHAKE:
        raise MalformedHello("not_tls", "the first record is not a TLS handshake")
    if len(data) >= 2 and data[1] != 3:
        raise MalformedHello("not_tls", "the record version is not TLS")
    fragments: list[bytes] = []
    head = b""  # the handshake header: type and 3-byte length
    have = 0
    offset = 0
    while offset + 5 <= len(data):
        if len(fragments) == _MAX_RECORDS:
            raise MalformedHello("malformed", f"a ClientHello in over {_MAX_RECORDS} records")
        if data[offset] != _RECORD_HANDSHAKE or data[offset + 1] != 3:
            raise MalformedHello("malformed", "a record inside the ClientHello is not handshake")
        length = int.from_bytes(data[offset + 3 : offset + 5], "big")
        if length == 0 or length > _MAX_RECORD:
            raise MalformedHello("malformed", f"record length {length}")
        end = offset + 5 + length
        if end > limit:
            raise MalformedHello("oversized", f"the ClientHello exceeds {limit} bytes")
        fragment = data[offset + 5 : end]
        if len(fragment) < length:
            return end  # this record is still arriving
        fragments.append(fragment)
        have += length
        offset = end
        if len(head) < 4:
            head += fragment[: 4 - len(head)]
            if head[0] != _CLIENT_HELLO:
                raise MalformedHello("malformed", "the first handshake is not a ClientHello")
        if len(head) == 4:
            needed = 4 + int.from_bytes(head[1:4], "big")
            if needed > limit:
                raise MalformedHello("oversized", f"the ClientHello exceeds {limit} bytes")
            if have >= needed:
                return b"".join(fragments)[:needed]
    return offset + 5


class _Reader:
    __slots__ = ("_data", "_pos")

    def __init__(self, data: bytes) -> None:
        self._data = data
        self._pos = 0

    def take(self, n: int) -> bytes:
        end = self._pos + n
        if end > len(self._data):
            raise MalformedHello("malformed", "a length runs past the ClientHello")
        chunk = self._data[self._pos : end]
        self._pos = end
        return chunk

    def number(self, n: int) -> int:
        return int.from_bytes(self.take(n), "big")

    def vector(self, length_bytes: int) -> bytes:
        return self.take(self.number(length_bytes))

    @property
    def left(self) -> int:
        return len(self._data) - self._pos


def _server_name(handshake: bytes) -> str | None:
    body = _Reader(handshake[4:])
    body.take(2 + 32)  # legacy_version, random
    if len(body.vector(1)) > 32:
        raise MalformedHello("malformed", "session id longer than 32 bytes")
    suites = body.vector(2)
    if not suites or len(suites) % 2:
        raise MalformedHello("malformed", "cipher suites")
    if not body.vector(1):
        raise MalformedHello("malformed", "no compression method")
    if body.left == 0:
        return None  # no extensions at all (TLS 1.2 allows it): no server name
    extensions = _Reader(body.vector(2))
    if body.left:
        raise MalformedHello("malformed", "bytes after the extensions")
    seen: set[int] = set()
    name: str | None = None
    while extensions.left:
        kind = extensions.number(2)
        data = extensions.vector(2)
        if kind in seen:
            raise MalformedHello("malformed", f"extension {kind} appears twice")
        seen.add(kind)
        if kind == _EXT_SERVER_NAME:
            name = _host_name(data)
    return name


def _host_name(extension: bytes) -> str:
    outer = _Reader(extension)
    names = _Reader(outer.vector(2))
    if outer.left:
        raise MalformedHello("malformed", "bytes after the server name list")
    host: bytes | None = None
    while names.left:
        kind = names.number(1)
        value = names.vector(2)
        if kind == _NAME_HOST:
            if host is not None:
                raise MalformedHello("malformed", "two host names")
            host = value
    if host is None:
        raise MalformedHello("malformed", "a server name extension without a host name")
    if host.endswith(b"."):
        host = host[:-1]
    if not 0 < len(host) <= 253 or not _HOST.match(host):
        raise MalformedHello("malformed", "the server name is not a host name")
    return host.decode("ascii").lower()
