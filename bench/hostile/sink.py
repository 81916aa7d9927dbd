"""A server that accepts every connection and reads and drops every byte: the target of a
control run of the hostile e2e tests (`MESHGATE_HOSTILE_TARGET=sink`), in which slowhttptest
attacks this instead of the proxy, on the same core, so the client's two windows differ only by
an attacker being on the machine.

    python bench/hostile/sink.py PORT
"""

from __future__ import annotations

import asyncio
import resource
import sys


class _Drop(asyncio.Protocol):
    def data_received(self, data: bytes) -> None:
        pass


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
