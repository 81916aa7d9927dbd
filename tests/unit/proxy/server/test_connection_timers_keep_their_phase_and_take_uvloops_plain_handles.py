"""A connection's one timer. Its repeating tick (HTTP/1 while a request arrives, HTTP/2 while
streams are in progress) is re-armed from when it was due, not from the loop turn it fired in:
ticks that fire in one turn do not fall into step, so thousands of slow clients are never looked
at at once. And a timer uvloop turned into a plain Handle (a delay under half a millisecond, no
`when()`) is taken like any other."""

from __future__ import annotations

import asyncio
import dataclasses
import time

import pytest
import uvloop
from awaiting import until
from h2.config import H2Configuration
from h2.connection import H2Connection
from meshproxy_fakes import FakeStack, FakeTransport, connect, settle

from meshproxy.http.message import Request, Response
from meshproxy.limits.guard import ListenerGuard
from meshproxy.limits.settings import resolve
from meshproxy.server.h2connection import H2ServerConnection
from meshproxy.server.state import ListenerState
from meshproxy.server.timers import fires_at, next_tick


def test_a_tick_follows_from_when_it_was_due() -> None:
    assert next_tick(10.0, 10.004, 1.0) == 11.0
    assert next_tick(None, 10.004, 1.0) == 11.004


def test_a_tick_a_whole_period_behind_restarts_from_now() -> None:
    assert next_tick(10.0, 11.5, 1.0) == 12.5
    assert next_tick(10.0, 11.0, 1.0) == 12.0


def test_a_timer_uvloop_runs_on_the_next_turn_fires_before_any_deadline() -> None:
    async def handles() -> tuple[float, float, float]:
        loop = asyncio.get_running_loop()
        soon = loop.call_at(loop.time() + 0.0001, lambda: None)  # a plain Handle under uvloop
        later = loop.call_at(loop.time() + 5, lambda: None)
        return fires_at(soon), fires_at(later), later.when()

    soon, later, when = uvloop.run(handles())
    assert soon == 0.0
    assert later == when


def test_a_keep_alive_request_meeting_a_timer_uvloop_made_a_plain_handle_is_answered() -> None:
    async def two_requests() -> bytes:
        protocol, transport = connect(FakeStack())
        protocol.data_received(b"GET /first HTTP/1.1\r\nHost: a\r\n\r\n")
        await until(lambda: b"ok:/first" in transport.data())
        # The lazy timer re-armed just before its deadline: uvloop hands back a plain Handle.
        loop = asyncio.get_running_loop()
        assert protocol._timer is not None
        protocol._timer.cancel()
        protocol._timer = loop.call_at(loop.time() + 0.0001, protocol._on_timer)
        protocol.data_received(b"GET /second HTTP/1.1\r\nHost: a\r\n\r\n")
        await until(lambda: b"ok:/second" in transport.data())
        return transport.data()

    assert uvloop.run(two_requests()).count(b"HTTP/1.1 200 ") == 2


async def test_http2_streams_whose_sweeps_fire_in_one_loop_turn_keep_sweeping_apart() -> None:
    answer = asyncio.Event()

    async def waits(request: Request) -> Response:
        await answer.wait()
        return Response(200, [], b"ok")

    stack = FakeStack(waits)
    limits = dataclasses.replace(resolve(None, stack.limits), http2_tick=0.1)
    state = ListenerState(stack, "http", ListenerGuard(limits, "web"))  # type: ignore[arg-type]
    first = _body_arriving(state, "198.18.0.1")
    await asyncio.sleep(0.02)
    second = _body_arriving(state, "198.18.0.2")
    await settle()
    apart = second._timer.when() - first._timer.when()  # type: ignore[union-attr]
    assert apart >= 0.02
    time.sleep(0.15)  # noqa: ASYNC251 - the loop stalls past both sweeps: one turn fires them
    await settle()
    assert second._timer.when() - first._timer.when() == pytest.approx(apart)  # type: ignore[union-attr]
    answer.set()
    await settle()


def _body_arriving(state: ListenerState, client: str) -> H2ServerConnection:
    """An HTTP/2 connection with one POST whose body has begun and not ended."""
    conn = H2ServerConnection(state)
    conn.connection_made(FakeTransport(peer=(client, 4000)))  # type: ignore[arg-type]
    h2 = H2Connection(H2Configuration(client_side=True))
    h2.initiate_connection()
    head = [(":method", "POST"), (":scheme", "http"), (":path", "/up"), (":authority", "a")]
    h2.send_headers(1, [*head, ("content-length", "100")])
    h2.send_data(1, b"a")
    conn.data_received(h2.data_to_send())
    return conn
