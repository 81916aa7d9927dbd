"""The first bytes of a TLS passthrough connection (`meshproxy.passthrough.clienthello`), fed
whole and in every cut a client could send them in: any bytes either give a server name, ask
for more (always past what they have), or are refused with `MalformedHello`; an accepted server
name is a lower-case host name; and the answer never depends on how the bytes were cut."""

from __future__ import annotations

import re

from meshproxy.passthrough.clienthello import Hello, MalformedHello, read_hello

LIMIT = 4096
_HOST = re.compile(r"^[a-z0-9]([-a-z0-9_]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9_]*[a-z0-9])?)*$")


def _answer(data: bytes) -> Hello | int | str:
    try:
        return read_hello(data, LIMIT)
    except MalformedHello as exc:
        if exc.reason not in ("not_tls", "malformed", "oversized"):
            raise AssertionError(f"unknown reason {exc.reason!r}") from None
        return exc.reason


def one_input(data: bytes) -> None:
    whole = _answer(data)
    if isinstance(whole, int) and whole <= len(data):
        raise AssertionError(f"asks for {whole} bytes having {len(data)}")
    if isinstance(whole, Hello) and whole.server_name is not None:
        name = whole.server_name
        if len(name) > 253 or not _HOST.match(name):
            raise AssertionError(f"accepted server name {name!r}")
    # A client sending the same bytes in pieces: as the connection does, call again only once
    # the asked-for length is there; the final answer must be the same.
    have = 0
    answer = _answer(b"")
    while isinstance(answer, int) and have < len(data):
        have = min(max(answer, have + 1), len(data))
        answer = _answer(data[:have])
    if answer != whole:
        raise AssertionError(f"piecewise {answer!r} but whole {whole!r}")
