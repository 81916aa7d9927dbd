"""A client that pipelines requests and reads no answers: the proxy answers one, waits for the
write buffer to drain, and stops reading once its queue is full; nothing piles up unbounded."""

from __future__ import annotations

import asyncio

from meshproxy_fakes import FakeStack, connect, settle


def _get(path: str) -> bytes:
    return f"GET {path} HTTP/1.1\r\nHost: a\r\n\r\n".encode()


async def test_the_next_request_starts_only_once_the_client_drains_the_last_answer() -> None:
    stack = FakeStack()
    protocol, transport = connect(stack)
    protocol.pause_writing()  # the kernel buffer toward the client is full
    protocol.data_received(b"".join(_get(f"/{i}") for i in range(10)))
    await settle()
    assert [r.path for r in stack.seen] == ["/0"]
    assert len(transport.written) == 1
    protocol.resume_writing()
    await settle()
    bodies = [part.rsplit(b"\r\n\r\n", 1)[-1] for part in transport.written]
    assert bodies == [f"ok:/{i}".encode() for i in range(10)]


async def test_ten_thousand_pipelined_requests_to_a_client_not_reading_stay_bounded() -> None:
    stack = FakeStack(max_pipelined_requests=8)
    protocol, transport = connect(stack)
    protocol.pause_writing()
    protocol.data_received(_get("/x") * 10_000)
    await settle()
    bound = 8 + 16 * 1024 // len(_get("/x")) + 2  # the bound plus one parsed slice at most
    assert len(stack.seen) == 1
    assert len(protocol._queue) <= bound
    assert not transport.reading
    protocol.resume_writing()
    deadline = asyncio.get_running_loop().time() + 20
    while len(stack.finished) < 10_000 and asyncio.get_running_loop().time() < deadline:
        await asyncio.sleep(0)
        assert len(protocol._queue) <= bound
    assert len(stack.finished) == 10_000


async def test_a_connection_lost_while_waiting_to_write_starts_nothing_more() -> None:
    stack = FakeStack()
    protocol, transport = connect(stack)
    protocol.pause_writing()
    protocol.data_received(_get("/a") + _get("/b"))
    await settle()
    transport.closed = True
    protocol.connection_lost(None)
    await settle()
    assert [r.path for r in stack.seen] == ["/a"]
