"""A client slower than its upstream: the answer is read on into the client's buffer up to the
listener's `responseBufferBytes`, so an answer that fits is read whole and its upstream
connection goes back to the pool; past that bound, or the memory ceiling's share, the upstream
is paused as before. Whatever is held is bounded by the send timeout, closing included.

The listener stack is the real one (`stack_rig`: real pool, real upstream connections on fake
transports); the client's transport keeps every byte unsent, as a client that reads nothing.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from awaiting import until
from meshproxy_fakes import FakeTransport, settle
from stack_rig import Rig, config_dict

from meshproxy.limits import guard as limit
from meshproxy.limits.guard import ListenerGuard
from meshproxy.limits.memory import MemoryCeiling
from meshproxy.limits.settings import resolve
from meshproxy.server.protocol import HttpServerProtocol
from meshproxy.server.state import ListenerState
from meshproxy.upstream.connection import UpstreamConnection

KIB = 1024
CHUNK = 48 * KIB


class UnreadClient(FakeTransport):
    """Every byte written stays unsent until `take`; the protocol hears of the high-water mark
    as uvloop tells it (over `high`: pause_writing; back to `high // 4`: resume_writing)."""

    def __init__(self) -> None:
        super().__init__()
        self.protocol: Any = None
        self.paused = False

    def write(self, data: bytes) -> None:
        super().write(data)
        self.unsent += len(data)
        high = self.high_water or 64 * KIB
        if not self.paused and self.unsent > high:
            self.paused = True
            self.protocol.pause_writing()

    def take(self, size: int) -> None:
        self.unsent = max(self.unsent - size, 0)
        if self.paused and self.unsent <= (self.high_water or 64 * KIB) // 4:
            self.paused = False
            self.protocol.resume_writing()


class Slow:
    """The rig's listener stack behind a guard with chosen limits, a registry and a ledger."""

    def __init__(self, rig: Rig, memory: MemoryCeiling | None = None, **limits: object) -> None:
        self.rig = rig
        self.lines: list[str] = []
        settings = dataclasses.replace(resolve(None, rig.stack.limits), **limits)  # type: ignore[arg-type]
        self.guard = ListenerGuard(settings, "edge", rig.registry, memory, self.lines.append)
        self.transport = UnreadClient()
        self.client = HttpServerProtocol(ListenerState(rig.stack, "http", self.guard))
        self.transport.protocol = self.client
        self.client.connection_made(self.transport)  # type: ignore[arg-type]

    async def answer(
        self, size: int, request: bytes = b"", meanwhile: Callable[[], None] | None = None
    ) -> UpstreamConnection:
        """Ask for an answer of `size` bytes (`meanwhile` runs once the request is upstream);
        the upstream sends it in chunks while its connection is not paused. Returns that
        upstream connection."""
        self.client.data_received(request or b"GET /big HTTP/1.1\r\nHost: a.example\r\n\r\n")
        await settle()
        if meanwhile is not None:
            meanwhile()
        upstream = self.rig.busy_upstream()
        upstream.data_received(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % size)
        left = size
        while left and upstream.transport.reading:  # type: ignore[union-attr]
            n = min(CHUNK, left)
            upstream.data_received(b"x" * n)
            left -= n
            await settle()
        return upstream

    def metric(self, prefix: str) -> float:
        found = [
            float(line.rsplit(" ", 1)[1])
            for line in self.rig.registry.render().splitlines()
            if line.startswith(prefix)
        ]
        return sum(found)


@pytest.fixture
async def rig(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Rig:
    return Rig(config_dict(tmp_path), monkeypatch)


def _idle(rig: Rig) -> int:
    return rig.pool.idle_connections


async def test_an_answer_that_fits_is_read_whole_and_its_upstream_goes_back_to_the_pool(
    rig: Rig,
) -> None:
    slow = Slow(rig)
    upstream = await slow.answer(200 * KIB)
    assert upstream.transport.reading  # type: ignore[union-attr]  # never paused
    assert upstream._response_done
    assert _idle(rig) == 1  # back in the pool while the client has read nothing
    assert slow.transport.unsent > 200 * KIB
    assert slow.guard.ledger.buffered == slow.transport.unsent
    (line,) = rig.access_log()
    assert line["flags"] == limit.BUFFERED
    assert slow.metric('meshproxy_responses_buffered_total{listener="edge"}') == 1
    assert slow.metric("meshproxy_response_buffer_bytes") == slow.transport.unsent
    # The client takes it: what was held is no longer counted.
    slow.transport.take(slow.transport.unsent)
    assert slow.guard.ledger.buffered == 0


async def test_past_the_response_bound_the_upstream_pauses_and_keeps_its_connection(
    rig: Rig,
) -> None:
    slow = Slow(rig, response_buffer_bytes=128 * KIB)
    upstream = await slow.answer(1024 * KIB)
    assert not upstream.transport.reading  # type: ignore[union-attr]
    assert not upstream._response_done
    assert _idle(rig) == 0
    # One read past the bound at most, on top of the high-water mark.
    assert slow.transport.unsent <= 64 * KIB + 128 * KIB + CHUNK
    assert slow.metric('meshproxy_response_buffer_full_total{bound="response"') == 1
    # Drained: the upstream is read again, and the rest follows.
    slow.transport.take(slow.transport.unsent)
    assert upstream.transport.reading  # type: ignore[union-attr]
    assert slow.guard.ledger.buffered == 0


async def test_buffering_off_pauses_at_the_high_water_mark_as_before(rig: Rig) -> None:
    slow = Slow(rig, response_buffer_bytes=0)
    upstream = await slow.answer(200 * KIB)
    assert not upstream.transport.reading  # type: ignore[union-attr]
    assert _idle(rig) == 0
    assert slow.metric("meshproxy_response_buffer_full_total") == 0
    assert slow.metric("meshproxy_responses_buffered_total") == 0


async def test_the_memory_ceiling_share_bounds_what_all_answers_hold(rig: Rig) -> None:
    memory = MemoryCeiling(1024 * KIB)
    memory.observe(600 * KIB)  # room under 3/4 of the ceiling: 168 KiB
    slow = Slow(rig, memory=memory)
    upstream = await slow.answer(400 * KIB)
    assert not upstream.transport.reading  # type: ignore[union-attr]
    assert _idle(rig) == 0
    assert memory.buffered <= 168 * KIB
    assert slow.metric('meshproxy_response_buffer_full_total{bound="proxy"') == 1
    (line,) = [r for r in rig.access_log() if r["path"] == "/big"] or [None]
    assert line is None  # still streaming: its line comes when it ends
    slow.client.connection_lost(None)  # the client goes: what it held goes with it
    assert memory.buffered == 0


async def test_past_the_ceiling_an_answer_under_way_is_not_buffered(rig: Rig) -> None:
    memory = MemoryCeiling(1024 * KIB)
    slow = Slow(rig, memory=memory)
    upstream = await slow.answer(200 * KIB, meanwhile=lambda: memory.observe(2048 * KIB))
    assert not upstream.transport.reading  # type: ignore[union-attr]
    assert memory.buffered == 0


async def test_a_buffered_answer_closed_after_it_is_written_is_still_cut_at_the_send_timeout(
    rig: Rig,
) -> None:
    slow = Slow(rig, send_timeout=0.05)
    close = b"GET /big HTTP/1.1\r\nHost: a.example\r\nConnection: close\r\n\r\n"
    await slow.answer(200 * KIB, close)
    assert _idle(rig) == 1  # the upstream is back in the pool
    assert slow.transport.closed  # closing once its answer is written, with all of it unsent
    assert not slow.transport.aborted
    await until(lambda: slow.transport.aborted)
    assert slow.guard.hits == {limit.SEND_TIMEOUT: 1}
    slow.client.connection_lost(None)
    assert slow.guard.ledger.buffered == 0


async def test_a_buffered_answer_on_a_kept_alive_connection_is_cut_at_the_send_timeout(
    rig: Rig,
) -> None:
    slow = Slow(rig, send_timeout=0.05)
    await slow.answer(200 * KIB)
    assert _idle(rig) == 1
    await until(lambda: slow.transport.aborted)
    assert slow.guard.hits == {limit.SEND_TIMEOUT: 1}
