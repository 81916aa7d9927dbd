"""A pushed config is applied as a file reload is (new behaviour on the same listener, version
reported for the acknowledgement); while the stream is up the lagging file is left alone, and
once the stream is down a file change applies again (the fallback)."""

from __future__ import annotations

import asyncio
import json
import socket
from pathlib import Path
from typing import Any, cast

from meshproxy.delivery.stream import ConfigStream
from meshproxy.observability.metrics import Registry
from meshproxy.runtime import Proxy


def _config(version: str, port: int) -> bytes:
    route = {"name": "r", "directResponse": {"status": 200, "body": version}}
    doc: dict[str, Any] = {
        "schema": "meshproxy/v1",
        "version": version,
        "node": {"role": "gateway"},
        "listeners": [
            {
                "name": "edge",
                "address": "127.0.0.1",
                "port": port,
                "role": "edge",
                "virtualHosts": [{"name": "any", "domains": ["*"], "routes": [route]}],
            }
        ],
    }
    return json.dumps(doc).encode()


class StubStream:
    """The runtime's view of a stream: started, stopped, connected or not."""

    def __init__(self) -> None:
        self.connected = True

    def start(self) -> None:
        pass

    async def stop(self) -> None:
        pass


async def _body(port: int) -> bytes:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(b"GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n")
    await writer.drain()
    answer = await asyncio.wait_for(reader.read(), 5)
    writer.close()
    return answer.rsplit(b"\r\n\r\n", 1)[1]


async def _serves(port: int, body: bytes) -> None:
    for _ in range(200):
        if await _body(port) == body:
            return
        await asyncio.sleep(0.01)
    raise AssertionError(f"never served {body!r}")


async def test_pushed_configs_apply_and_the_file_is_the_fallback_only(tmp_path: Path) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    path = tmp_path / "config.json"
    path.write_bytes(_config("v1", port))
    proxy = Proxy(str(path), Registry(), env={})
    stream = StubStream()
    await proxy.start(cast(ConfigStream, stream))
    try:
        assert await _body(port) == b"v1"
        assert await proxy.apply_pushed(_config("v2", port))
        assert proxy.version == "v2"
        assert await _body(port) == b"v2"
        # The kubelet projects a file while the stream is up: the stream is ahead, the file waits.
        path.write_bytes(_config("v1", port))
        proxy._on_file_change()
        await asyncio.sleep(0.05)  # a reload would be scheduled by now; it must not be
        assert proxy.version == "v2"
        assert await _body(port) == b"v2"
        # The stream is down: a file change applies, as before push delivery.
        stream.connected = False
        path.write_bytes(_config("v3", port))
        proxy._on_file_change()
        await _serves(port, b"v3")
        # A pushed config the proxy refuses leaves the running one in place.
        assert not await proxy.apply_pushed(b'{"schema": "meshproxy/v1", "listeners": 7}')
        assert proxy.version == "v3"
        assert await _body(port) == b"v3"
        assert "\nmeshproxy_config_stream_connected 0\n" in proxy.registry.render()
    finally:
        await proxy.drain()
