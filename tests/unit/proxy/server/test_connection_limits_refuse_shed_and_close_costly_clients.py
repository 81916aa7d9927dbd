"""The listener's connection limits on a fake transport: refused before parsing, shed with 503,
slow bodies held off the stack and timed out, stuck writes cut; each one counted and logged."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import time

import pytest
from awaiting import until
from meshproxy_fakes import FakeStack, FakeTransport, settle

from meshproxy.http.body import Body
from meshproxy.http.message import Request, Response
from meshproxy.limits import guard as limit
from meshproxy.limits.guard import ListenerGuard
from meshproxy.limits.memory import MemoryCeiling
from meshproxy.limits.settings import resolve
from meshproxy.server.protocol import HttpServerProtocol
from meshproxy.server.state import ListenerState

DEFAULTS = resolve(None, FakeStack().limits)


class Listener:
    """One listener's state and guard with chosen limits; connections from chosen addresses."""

    def __init__(self, stack: FakeStack, memory: MemoryCeiling | None = None, **limits: object):
        self.lines: list[str] = []
        settings = dataclasses.replace(DEFAULTS, **limits)  # type: ignore[arg-type]
        self.guard = ListenerGuard(settings, "web", memory=memory, write_line=self.lines.append)
        self.state = ListenerState(stack, "http", self.guard)  # type: ignore[arg-type]

    def connect(self, client: str = "198.18.0.9") -> tuple[HttpServerProtocol, FakeTransport]:
        protocol = HttpServerProtocol(self.state)
        transport = FakeTransport(peer=(client, 4000))
        protocol.connection_made(transport)  # type: ignore[arg-type]
        return protocol, transport

    def logged(self) -> list[dict[str, object]]:
        return [json.loads(line) for line in self.lines]


def _post(path: str, length: int, body: bytes = b"") -> bytes:
    head = f"POST {path} HTTP/1.1\r\nHost: a\r\nContent-Length: {length}\r\n\r\n"
    return head.encode() + body


async def test_connections_past_the_listener_cap_are_closed_before_a_byte_is_parsed() -> None:
    stack = FakeStack()
    listener = Listener(stack, max_connections=2)
    kept = [listener.connect(f"198.18.0.{i}") for i in (1, 2)]
    protocol, refused = listener.connect("198.18.0.3")
    assert refused.closed
    assert refused.aborted
    assert [t.closed for _, t in kept] == [False, False]
    protocol.data_received(b"GET / HTTP/1.1\r\nHost: a\r\n\r\n")
    await settle()
    assert stack.seen == []
    assert refused.written == []
    assert listener.guard.hits == {limit.MAX_CONNECTIONS: 1}
    assert listener.logged() == [
        {"event": "limit", "listener": "web", "limit": "max_connections", "client": "198.18.0.3"}
    ]
    kept[0][0].connection_lost(None)  # a slot frees: the next connection is admitted
    _, admitted = listener.connect("198.18.0.3")
    assert not admitted.closed
    refused_protocol_lost = protocol.connection_lost  # a refused connection never counted
    refused_protocol_lost(None)
    assert listener.guard.connections == 2


async def test_one_client_address_holds_at_most_its_cap_while_others_get_in() -> None:
    listener = Listener(FakeStack(), max_connections_per_client=2)
    first = [listener.connect("198.18.0.7")[1] for _ in range(3)]
    other = listener.connect("198.18.0.8")[1]
    assert [t.closed for t in first] == [False, False, True]
    assert not other.closed
    assert listener.guard.hits == {limit.MAX_CONNECTIONS_PER_CLIENT: 1}


async def test_past_the_pending_bound_a_request_is_answered_503_retry_after_without_the_stack() -> (
    None
):
    gate = asyncio.Event()

    async def held(request: Request) -> Response:
        await gate.wait()
        return Response(200, [], b"ok")

    stack = FakeStack(held)
    listener = Listener(stack, max_pending_requests=1)
    busy, _ = listener.connect("198.18.0.1")
    busy.data_received(b"GET /a HTTP/1.1\r\nHost: a\r\n\r\n")
    await settle()
    shed, transport = listener.connect("198.18.0.2")
    shed.data_received(b"GET /b HTTP/1.1\r\nHost: a\r\n\r\n")
    await settle()
    assert transport.data().startswith(b"HTTP/1.1 503 ")
    assert b"retry-after: 1\r\n" in transport.data()
    assert transport.closed
    assert [r.path for r in stack.seen] == ["/a"]
    assert stack.finished == [("/b", 503, True)]
    assert listener.guard.hits == {limit.MAX_PENDING_REQUESTS: 1}
    gate.set()
    await settle()
    assert listener.guard.active == 0  # answered: the slot is free again


async def test_a_client_slow_to_read_its_answer_holds_no_request_slot() -> None:
    async def streams_forever(request: Request) -> Response:
        if request.path == "/a":
            return Response(200, [], Body(None))  # a body that is still being delivered
        return Response(200, [], b"ok")

    stack = FakeStack(streams_forever)
    listener = Listener(stack, max_pending_requests=1)
    slow, _ = listener.connect("198.18.0.1")
    slow.pause_writing()  # it reads nothing: its answer sits in the write buffer
    slow.data_received(b"GET /a HTTP/1.1\r\nHost: a\r\n\r\n")
    await settle()
    other, transport = listener.connect("198.18.0.2")
    other.data_received(b"GET /b HTTP/1.1\r\nHost: a\r\n\r\n")
    await settle()
    assert b"200 OK" in transport.data()
    assert listener.guard.hits == {}


async def test_requests_waiting_for_their_body_hold_no_request_slot() -> None:
    stack = FakeStack()
    listener = Listener(stack, max_pending_requests=1)
    for i in range(3):
        waiting, _ = listener.connect(f"198.18.0.{i}")
        waiting.data_received(_post("/slow", 100, b"a"))
    other, transport = listener.connect("198.18.0.9")
    other.data_received(b"GET /b HTTP/1.1\r\nHost: a\r\n\r\n")
    await settle()
    assert b"200 OK" in transport.data()


async def test_a_short_body_enters_the_stack_only_once_it_has_all_arrived() -> None:
    stack = FakeStack()
    listener = Listener(stack)
    protocol, transport = listener.connect()
    protocol.data_received(_post("/up", 10, b"abc"))
    await settle()
    assert stack.seen == []  # the body is still arriving: no upstream is picked yet
    protocol.data_received(b"defghij")
    await settle()
    assert [r.path for r in stack.seen] == ["/up"]
    assert b"200 OK" in transport.data()


async def test_a_long_declared_body_streams_to_the_stack_at_once() -> None:
    stack = FakeStack()
    listener = Listener(stack, body_prebuffer_bytes=4)
    protocol, _ = listener.connect()
    protocol.data_received(_post("/big", 100, b"abc"))
    await settle()
    assert [r.path for r in stack.seen] == ["/big"]


async def test_a_body_that_stops_arriving_is_answered_408_after_the_body_timeout() -> None:
    stack = FakeStack()
    listener = Listener(stack, body_timeout=0.05, request_timeout=0)
    protocol, transport = listener.connect()
    protocol.data_received(_post("/slow", 100, b"a"))
    await asyncio.sleep(0.03)
    protocol.data_received(b"b")  # progress re-arms the gap
    await asyncio.sleep(0.03)
    assert not transport.closed
    await asyncio.sleep(0.2)
    assert transport.closed
    assert transport.data().startswith(b"HTTP/1.1 408 ")
    assert stack.seen == []
    assert stack.finished == [("/slow", 408, False)]
    assert listener.guard.hits == {limit.BODY_TIMEOUT: 1}
    assert listener.logged()[0]["limit"] == "body_timeout"


async def test_a_body_trickling_in_forever_is_cut_at_the_request_timeout() -> None:
    stack = FakeStack()
    listener = Listener(stack, body_timeout=0.2, request_timeout=0.1)
    protocol, transport = listener.connect()
    protocol.data_received(_post("/drip", 10_000, b"a"))
    for _ in range(30):
        if transport.closed:
            break
        protocol.data_received(b"a")  # always some progress: the gap never passes
        await asyncio.sleep(0.01)
    assert transport.closed
    assert listener.guard.hits == {limit.REQUEST_TIMEOUT: 1}


async def test_a_streamed_body_that_stalls_is_cut_and_its_request_logged_with_the_limit() -> None:
    got_body = asyncio.Event()

    async def reads_body(request: Request) -> Response:
        assert request.body is not None
        got_body.set()
        try:
            await request.body.read_upto(1 << 20)
        except Exception:
            return Response(400, [], b"")
        return Response(200, [], b"")

    stack = FakeStack(reads_body)
    listener = Listener(stack, body_timeout=0.05, request_timeout=0, body_prebuffer_bytes=0)
    protocol, transport = listener.connect()
    protocol.data_received(_post("/stream", 100, b"a"))
    await asyncio.wait_for(got_body.wait(), 1)
    await asyncio.sleep(0.2)
    assert transport.closed
    assert listener.guard.hits == {limit.BODY_TIMEOUT: 1}


async def test_a_client_that_stops_reading_its_answer_is_cut_after_the_send_timeout() -> None:
    stack = FakeStack()
    listener = Listener(stack, send_timeout=0.05)
    protocol, transport = listener.connect()
    assert transport.high_water == DEFAULTS.write_buffer_bytes
    protocol.data_received(b"GET / HTTP/1.1\r\nHost: a\r\n\r\n")
    await settle()
    protocol.pause_writing()  # the write buffer went over its high-water mark
    assert not transport.closed
    await until(lambda: transport.closed)
    assert transport.aborted
    assert listener.guard.hits == {limit.SEND_TIMEOUT: 1}


async def test_a_client_that_reads_in_time_is_not_cut() -> None:
    # No sleep between the two: on a loaded machine this loop may wake later than the send
    # timeout, and its timer would then rightly find the client still stalled.
    listener = Listener(FakeStack(), send_timeout=0.05)
    protocol, transport = listener.connect()
    protocol.pause_writing()
    protocol.resume_writing()  # it read its buffer below the low mark before the deadline
    deadline = asyncio.get_running_loop().time() + 0.05
    await until(lambda: asyncio.get_running_loop().time() > deadline + 0.05)
    assert not transport.closed
    assert listener.guard.hits == {}


async def _in_flight(
    answer: asyncio.Event, body_timeout: float
) -> tuple[Listener, HttpServerProtocol, FakeTransport]:
    """A connection whose one request is all in and waits for `answer`, its header deadline
    past (a short header timeout)."""

    async def waits(request: Request) -> Response:
        await answer.wait()
        return Response(200, [], b"ok")

    listener = Listener(
        FakeStack(waits), header_timeout=0.02, body_timeout=body_timeout, request_timeout=0
    )
    protocol, transport = listener.connect()
    protocol.data_received(b"GET /in-flight HTTP/1.1\r\nHost: a\r\n\r\n")
    await until(lambda: protocol._timer is None)  # the header deadline fired once, then none
    return listener, protocol, transport


async def test_a_request_in_flight_with_nothing_left_to_arrive_keeps_no_timer() -> None:
    # Thousands of slow readers, their requests all in: none of them wakes the loop per tick.
    answer = asyncio.Event()
    _, protocol, transport = await _in_flight(answer, body_timeout=0.02)
    await asyncio.sleep(0.1)  # five ticks' worth
    assert protocol._timer is None
    answer.set()
    await until(lambda: transport.data().startswith(b"HTTP/1.1 200 "))
    assert protocol._timer is not None  # idle now: the keep-alive deadline is set


async def test_a_body_behind_a_request_in_flight_is_still_cut_at_the_body_timeout() -> None:
    listener, protocol, transport = await _in_flight(asyncio.Event(), body_timeout=0.05)
    protocol.data_received(_post("/second", 100, b"a"))  # and no more of its body
    await until(lambda: transport.closed)
    assert listener.guard.hits == {limit.BODY_TIMEOUT: 1}


async def test_bodies_whose_ticks_fire_in_one_loop_turn_keep_ticking_apart() -> None:
    # Ticks re-armed from the turn's shared clock would stay in step for good: thousands of slow
    # bodies would then be looked at in one turn.
    listener = Listener(FakeStack(), body_timeout=0.2, request_timeout=0)  # a tick: 0.1 s
    first, _ = listener.connect("198.18.0.1")
    first.data_received(_post("/first", 100, b"a"))
    await asyncio.sleep(0.02)
    second, _ = listener.connect("198.18.0.2")
    second.data_received(_post("/second", 100, b"a"))
    apart = second._timer.when() - first._timer.when()
    assert apart >= 0.02
    time.sleep(0.15)  # noqa: ASYNC251 - the loop stalls past both ticks: one turn fires them
    await settle()
    assert second._timer.when() - first._timer.when() == pytest.approx(apart)


async def test_slow_headers_are_counted_and_logged_as_the_header_timeout() -> None:
    listener = Listener(FakeStack(), header_timeout=0.05)
    protocol, transport = listener.connect("198.18.0.44")
    protocol.data_received(b"GET / HTTP/1.1\r\nHost: a\r\n")
    await asyncio.sleep(0.2)
    assert transport.closed
    assert listener.logged() == [
        {"event": "limit", "listener": "web", "limit": "header_timeout", "client": "198.18.0.44"}
    ]


async def test_over_the_memory_ceiling_connections_are_refused_and_requests_shed() -> None:
    memory = MemoryCeiling(1000)
    stack = FakeStack()
    listener = Listener(stack, memory=memory)
    protocol, transport = listener.connect()
    memory.observe(2000)
    _, refused = listener.connect()
    assert refused.closed
    protocol.data_received(b"GET / HTTP/1.1\r\nHost: a\r\n\r\n")
    await settle()
    assert transport.data().startswith(b"HTTP/1.1 503 ")
    assert stack.seen == []
    assert listener.guard.hits == {limit.MEMORY_CEILING: 2}
    memory.observe(500)
    assert not listener.connect()[1].closed
