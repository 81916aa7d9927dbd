"""What the HTTP/1 targets share: an event loop reused across inputs, a transport that records
what the proxy writes, and a reader that checks those bytes are well-framed HTTP/1 responses."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import Any

import httptools

LOOP = asyncio.new_event_loop()


def run(coro: Coroutine[Any, Any, None]) -> None:
    """Run one input's coroutine, then cancel whatever it left behind: no input may leak a task
    into the next one."""
    try:
        LOOP.run_until_complete(coro)
    finally:
        left = [t for t in asyncio.all_tasks(LOOP) if not t.done()]
        for task in left:
            task.cancel()
        if left:
            LOOP.run_until_complete(asyncio.gather(*left, return_exceptions=True))


async def settle(rounds: int = 8) -> None:
    for _ in range(rounds):
        await asyncio.sleep(0)


class Transport:
    """An asyncio transport that keeps what is written; writing after `close` is a bug."""

    def __init__(self) -> None:
        self.written = bytearray()
        self.closed = False

    def write(self, data: bytes) -> None:
        if self.closed:
            raise AssertionError("the proxy wrote to a transport it had closed")
        self.written += data

    def close(self) -> None:
        self.closed = True

    abort = close

    def is_closing(self) -> bool:
        return self.closed

    def pause_reading(self) -> None:
        pass

    def resume_reading(self) -> None:
        pass

    def set_write_buffer_limits(self, high: int | None = None, low: int | None = None) -> None:
        pass

    def set_protocol(self, protocol: asyncio.BaseProtocol) -> None:
        pass  # a closed client connection hands its transport a stateless protocol

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return {"peername": ("198.18.0.9", 5555), "sockname": ("198.18.0.1", 8080)}.get(
            name, default
        )


class Responses:
    """httptools' response parser over bytes the proxy wrote: counts whole responses and body
    bytes, and raises `AssertionError` when the bytes are not HTTP/1 responses."""

    def __init__(self, data: bytes) -> None:
        self.complete = 0
        self.statuses: list[int] = []
        self.body_bytes = 0
        parser = httptools.HttpResponseParser(self)
        self._parser = parser
        try:
            parser.feed_data(bytes(data))
        except httptools.HttpParserUpgrade:
            pass  # a 101: what follows belongs to the tunnel
        except httptools.HttpParserError as exc:
            raise AssertionError(f"the proxy wrote malformed HTTP/1: {exc!r} in {data!r}") from None

    def on_headers_complete(self) -> None:
        self.statuses.append(self._parser.get_status_code())

    def on_body(self, data: bytes) -> None:
        self.body_bytes += len(data)

    def on_message_complete(self) -> None:
        self.complete += 1
