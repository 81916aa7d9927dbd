"""An upstream's bytes into meshproxy's HTTP/1 client (`upstream.connection.UpstreamConnection`:
httptools' response callbacks, `http1.response.read_head`), and the response on to the client
(`http1.response.response_head` and the `BodySink` that re-frames the body).

The first byte chooses the request (GET or HEAD, HTTP/1.1 or 1.0) and how the rest is cut into
reads. Whatever the upstream sends: nothing raises out of the connection, a failure is an
`UpstreamFailure` or a `BodyError`, and what the client receives parses as one HTTP/1 response
(framed by the proxy, whatever framing the upstream used) whose body is every byte the upstream's
body had, or is cut short only when the proxy knows the body broke off.
"""

from __future__ import annotations

import asyncio

from fuzz.targets.wire import Responses, Transport, run, settle
from meshproxy.http.body import Body, BodyError
from meshproxy.http.flow import FlowControl
from meshproxy.http.message import Request, Response
from meshproxy.http1.response import response_head
from meshproxy.http1.sink import BodySink
from meshproxy.upstream.connection import UpstreamConnection
from meshproxy.upstream.errors import UpstreamFailure


class Pool:
    """What a connection asks of its pool: no TLS, and to be told when it is free or lost."""

    tls = None

    def release(self, connection: UpstreamConnection, keep_alive: bool) -> None:
        pass

    def lost(self, connection: UpstreamConnection) -> None:
        pass


async def _drive(data: bytes) -> None:
    choice = data[0] if data else 0
    method = "HEAD" if choice & 1 else "GET"
    version = "1.0" if choice & 2 else "1.1"
    step = (choice >> 2) + 1
    payload = data[1:]
    upstream = UpstreamConnection(Pool())  # type: ignore[arg-type]
    upstream_transport = Transport()
    upstream.connection_made(upstream_transport)  # type: ignore[arg-type]
    waiter = upstream.send(
        f"{method} / HTTP/1.1\r\nhost: a\r\n\r\n".encode(), None, method == "HEAD"
    )
    for start in range(0, len(payload), step):
        if upstream_transport.closed:
            break
        upstream.data_received(payload[start : start + step])
        await settle(2)
    upstream_transport.closed = True
    upstream.connection_lost(None)
    await settle(2)
    try:
        response = waiter.result()
    except UpstreamFailure:
        return
    except asyncio.InvalidStateError:
        raise AssertionError("the upstream closed and the response was never decided") from None
    if response.status == 101:
        # A tunnel (`upstream.tunnel`) takes over after a 101, and only for a request that asked
        # for an upgrade; this harness sends none, and the upstream layer above the connection
        # answers an unasked 101 with a 502 (docs/fuzzing.md).
        return
    await _to_client(Request(method, "/", "", [], "a", None, version, True), response)


async def _to_client(request: Request, response: Response) -> None:
    client = Transport()
    head, data, chunked, close = response_head(request, response, False)
    if head is None:
        return  # a header value unsafe to send: the server answers 502 instead
    client.write(head)
    if data is not None:
        client.write(data)
        Responses(bytes(client.written))
        return
    body = response.body
    assert isinstance(body, Body)
    outcome: list[tuple[int, bool]] = []
    body.attach(
        BodySink(client, FlowControl(client), body, chunked, lambda n, ok: outcome.append((n, ok)))  # type: ignore[arg-type]
    )
    await settle(2)
    if not body.done:
        raise AssertionError("the upstream connection closed and the body never ended")
    read = Responses(bytes(client.written))
    if not outcome:
        raise AssertionError("the body ended and the client side was never told")
    sent, ok = outcome[0]
    if ok and request.method != "HEAD":
        if close and not chunked and body.length is None:
            # Close-delimited towards the client: the parser cannot see its end in a buffer.
            return
        if read.complete != 1 or read.body_bytes != sent:
            raise AssertionError(
                f"a whole body reached the client as {read.complete} responses of "
                f"{read.body_bytes} bytes, {sent} sent"
            )
    if isinstance(body.error, BaseException) and not isinstance(body.error, BodyError):
        raise AssertionError(f"the body failed with {body.error!r}")


def one_input(data: bytes) -> None:
    run(_drive(data))
