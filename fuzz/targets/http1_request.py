"""A client's bytes into meshproxy's HTTP/1 server (`server.protocol.HttpServerProtocol`:
httptools' callbacks, the head checks of `http1.request`, chunked and length-framed bodies,
pipelining, the canned refusals).

The first byte chooses how the rest is cut into reads (1 to 256 bytes each), so a head, a chunk
size or a CRLF split across reads is tried too. The stack behind it reads each request's body
whole and answers 200 with its length. Whatever the bytes: nothing raises out of the protocol,
every request the stack sees passed the head checks (a path from `/`, no control bytes in a
header, a Host of host characters only), and everything written back parses as HTTP/1 responses.
"""

from __future__ import annotations

import logging

from fuzz.targets.wire import Responses, Transport, run, settle
from meshproxy import config
from meshproxy.http.body import BodyError
from meshproxy.http.message import Exchange, Response
from meshproxy.server.protocol import HttpServerProtocol
from meshproxy.server.state import ListenerState

# Small limits, so the 413 and 431 refusals are within a short input's reach.
LIMITS = config.Limits(max_header_bytes=1024, max_request_body_bytes=2048, max_pipelined_requests=4)
_HOST_CHARS = frozenset("abcdefghijklmnopqrstuvwxyz0123456789-._~!$&'()*+,;=%[]:")
_CONTROL = frozenset(chr(c) for c in (*range(0x20), 0x7F)) - {"\t"}


class _Failures(logging.Handler):
    """An error the server logs (a handler raised) is a finding too."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


FAILURES = _Failures()


class Stack:
    start = None  # every request through `handle`
    limits = LIMITS

    def __init__(self) -> None:
        self.handled = 0

    async def handle(self, exchange: Exchange) -> Response:
        request = exchange.request
        _check_request(request.method, request.path, request.host, request.headers)
        self.handled += 1
        length = 0
        if request.body is not None:
            try:
                await request.body.read_upto(LIMITS.max_request_body_bytes)
            except BodyError:
                return Response(400, [], b"")
            length = len(request.body.buffered())
            if length > LIMITS.max_request_body_bytes:
                raise AssertionError(f"a {length}-byte body passed the body limit")
        return Response(200, [("x-body-length", str(length))], b"")

    def finish(self, exchange: Exchange, status: int, sent: int, ok: bool) -> None:
        pass

    def rejected(self, status: int) -> None:
        pass


def _check_request(method: str, path: str, host: str, headers: list[tuple[str, str]]) -> None:
    if not path.startswith("/"):
        raise AssertionError(f"path {path!r} reached the stack")
    if not set(host) <= _HOST_CHARS:
        raise AssertionError(f"host {host!r} reached the stack")
    for name, value in headers:
        if name != name.lower() or not name or _CONTROL & set(name + value) or " " in name:
            raise AssertionError(f"header {name!r}: {value!r} reached the stack")
    if method != method.upper():
        raise AssertionError(f"method {method!r} reached the stack")


async def _drive(data: bytes) -> None:
    step = (data[0] if data else 0) + 1
    payload = data[1:]
    stack = Stack()
    state = ListenerState(stack, "http")  # type: ignore[arg-type]
    protocol = HttpServerProtocol(state)
    transport = Transport()
    protocol.connection_made(transport)  # type: ignore[arg-type]
    for start in range(0, len(payload), step):
        if transport.closed:
            break
        protocol.data_received(payload[start : start + step])
        await settle()
    await settle()
    transport.closed = True
    protocol.connection_lost(None)
    await settle()
    Responses(bytes(transport.written))
    if FAILURES.records:
        record = FAILURES.records[0]
        raise AssertionError(f"the server logged an error: {record.getMessage()}") from (
            record.exc_info[1] if record.exc_info else None
        )


def one_input(data: bytes) -> None:
    # The server's error log is this input's finding, and only while it runs: the unit tests
    # replay inputs in a process whose logging other tests use.
    logger = logging.getLogger("meshproxy")
    propagate, logger.propagate = logger.propagate, False
    logger.addHandler(FAILURES)
    try:
        run(_drive(data))
    finally:
        logger.removeHandler(FAILURES)
        logger.propagate = propagate
        FAILURES.records.clear()
