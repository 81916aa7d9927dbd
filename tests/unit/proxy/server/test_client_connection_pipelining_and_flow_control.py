"""The client protocol against a fake transport: order, bounds, timers, backpressure."""

from __future__ import annotations

import asyncio
import random

from meshproxy_fakes import FakeStack, connect, settle

from meshproxy.http.body import HIGH_WATER
from meshproxy.http.message import Request, Response


def _get(path: str) -> bytes:
    return b"GET " + path.encode() + b" HTTP/1.1\r\nHost: a\r\n\r\n"


async def test_pipelined_requests_are_answered_in_order_even_when_later_ones_finish_first() -> None:
    async def slow_first(request: Request) -> Response:
        await asyncio.sleep(random.random() / 100 if request.path != "/0" else 0.03)
        return Response(200, [], request.path.encode())

    stack = FakeStack(slow_first)
    protocol, transport = connect(stack)
    protocol.data_received(b"".join(_get(f"/{i}") for i in range(10)))
    for _ in range(200):
        await asyncio.sleep(0.005)
        if len(stack.finished) == 10:
            break
    bodies = [part.rsplit(b"\r\n\r\n", 1)[-1] for part in transport.written]
    assert bodies == [f"/{i}".encode() for i in range(10)]


async def test_ten_thousand_pipelined_requests_in_one_write_are_queued_only_up_to_the_bound() -> (
    None
):
    gate = asyncio.Event()

    async def blocked(request: Request) -> Response:
        await gate.wait()
        return Response(200, [], b"")

    stack = FakeStack(blocked, max_pipelined_requests=8)
    protocol, transport = connect(stack)
    protocol.data_received(_get("/x") * 10_000)
    await settle()
    bound = 8 + 16 * 1024 // len(_get("/x")) + 2  # the bound plus one parsed slice at most
    assert len(protocol._queue) <= bound
    assert not transport.reading  # reading paused while the queue is full
    gate.set()
    deadline = asyncio.get_running_loop().time() + 20
    while len(stack.finished) < 10_000 and asyncio.get_running_loop().time() < deadline:
        await asyncio.sleep(0)
        assert len(protocol._queue) <= bound
    assert len(stack.finished) == 10_000


async def test_keep_alive_connection_closes_after_the_idle_timeout_and_not_before() -> None:
    stack = FakeStack(idle_timeout=0.05)
    protocol, transport = connect(stack)
    protocol.data_received(_get("/a"))
    await settle()
    assert b"200 OK" in transport.data()
    assert not transport.closed
    await asyncio.sleep(0.2)
    assert transport.closed


async def test_idle_timer_is_re_armed_by_each_response() -> None:
    stack = FakeStack(idle_timeout=0.15)
    protocol, transport = connect(stack)
    for _ in range(4):
        protocol.data_received(_get("/a"))
        await asyncio.sleep(0.08)  # each gap is below the timeout; their sum is above it
    assert not transport.closed
    assert len(stack.finished) == 4


async def test_slow_header_read_is_closed_after_the_header_timeout() -> None:
    stack = FakeStack(header_timeout=0.05)
    protocol, transport = connect(stack)
    protocol.data_received(b"GET / HTTP/1.1\r\nHost: a\r\n")  # never finished
    await asyncio.sleep(0.2)
    assert transport.closed
    assert stack.seen == []


async def test_unread_request_body_pauses_reading_above_the_high_water_mark() -> None:
    gate = asyncio.Event()

    async def never_reads_body(request: Request) -> Response:
        await gate.wait()
        return Response(200, [], b"")

    stack = FakeStack(never_reads_body)
    protocol, transport = connect(stack)
    size = 4 * HIGH_WATER
    protocol.data_received(
        b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: %d\r\n\r\n" % size + b"x" * 1024
    )
    chunk = b"x" * 65536
    while transport.reading:
        protocol.data_received(chunk)
    assert protocol._active is not None
    body = protocol._active.request.body
    assert body is not None
    assert body.received <= HIGH_WATER + 2 * len(chunk)


async def test_slow_client_pauses_the_upstream_body_and_resumes_it_when_drained() -> None:
    from meshproxy.http.body import Body
    from meshproxy.http.flow import FlowControl

    class Upstream:
        def __init__(self) -> None:
            self.reading = True

        def pause_reading(self) -> None:
            self.reading = False

        def resume_reading(self) -> None:
            self.reading = True

    upstream = Upstream()
    body = Body(FlowControl(upstream), None)  # type: ignore[arg-type]

    async def streams(request: Request) -> Response:
        return Response(200, [], body)

    stack = FakeStack(streams)
    protocol, transport = connect(stack)
    protocol.data_received(_get("/stream"))
    await settle()
    body.feed(b"a" * 10)
    assert upstream.reading
    # The client's buffer is full, past what the listener holds for a slow client too
    # (a body that fits is read on: test_a_slow_reader_holds_no_upstream_connection...).
    transport.unsent = 1 << 30
    protocol.pause_writing()
    body.feed(b"b" * 10)
    assert not upstream.reading
    protocol.resume_writing()
    assert upstream.reading
    body.finish()
    assert transport.data().endswith(
        b"a\r\n" + b"a" * 10 + b"\r\na\r\n" + b"b" * 10 + b"\r\n0\r\n\r\n"
    )
    assert stack.finished == [("/stream", 200, True)]
