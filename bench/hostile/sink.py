"""A server that accepts every connection and reads and drops every byte: the target of a
control run of the hostile e2e tests (`MESHGATE_HOSTILE_TARGET=sink`), in which slowhttptest
attacks this instead of the proxy, on the same core, so the client's two windows differ only by
an attacker being on the machine.

A request whose head is complete and announces no body (slowhttptest's probe of whether the
service is still up) is answered 200 and closed, as the proxy answers it. That matters to the
attacker's own load: once the probe's connection is closed, slowhttptest 1.8.2 keeps polling its
closed descriptor (POLLNVAL), so its poll over every held socket returns at once and it spins on
its core (0.9 of it against the proxy; 0.2 against a sink that never answered).

    python bench/hostile/sink.py PORT
"""

from __future__ import annotations

import asyncio
import resource
import sys

ANSWER = b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"


class _Drop(asyncio.Protocol):
    def __init__(self) -> None:
        self._head: bytes | None = b""  # None once the head is in (or too long to keep)
        self._transport: asyncio.BaseTransport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport = transport

    def data_received(self, data: bytes) -> None:
        if self._head is None:
            return  # a body, or what follows a head: dropped
        so_far = self._head + data
        end = so_far.find(b"\r\n\r\n")
        self._head = so_far if end < 0 and len(so_far) <= 64 * 1024 else None
        if end < 0:
            return
        head = so_far[:end].lower()
        if b"\ncontent-length:" in head or b"\ntransfer-encoding:" in head:
            return  # a body follows (slowhttptest's slow body): held, like the proxy holds it
        transport = self._transport
        if isinstance(transport, asyncio.WriteTransport):
            transport.write(ANSWER)
            transport.close()


async def _serve(port: int) -> None:
    server = await asyncio.get_running_loop().create_server(_Drop, "127.0.0.1", port, backlog=4096)
    async with server:
        await server.serve_forever()


def main() -> None:
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))  # one descriptor per attacker
    asyncio.run(_serve(int(sys.argv[1])))


if __name__ == "__main__":
    main()
