"""A request a sidecar's app addresses to a Pod IP (`podIP:port` of an endpoint its config
names) goes to that Pod, without the Service's routes: no header modifiers, no split to other
backends. An address the config does not name is still a 404, and a gateway never does this.
A stack built from config as the proxy builds it, real backends on loopback."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator
from typing import Any

import pytest

from meshproxy import config, stack
from meshproxy.observability.metrics import Registry
from meshproxy.server.protocol import HttpServerProtocol
from meshproxy.server.state import ListenerState

WAIT = 10.0


async def _answer(name: str, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    head = await reader.readuntil(b"\r\n\r\n")
    host = next(x for x in head.split(b"\r\n") if x.lower().startswith(b"host:"))[5:].strip()
    body = json.dumps({"pod": name, "host": host.decode()}).encode()
    writer.write(b"HTTP/1.1 200 OK\r\ncontent-length: %d\r\n\r\n%s" % (len(body), body))
    await writer.drain()
    writer.close()


@contextlib.asynccontextmanager
async def pods(*names: str) -> AsyncIterator[dict[str, int]]:
    servers = {}
    for name in names:
        servers[name] = await asyncio.start_server(
            lambda r, w, n=name: _answer(n, r, w), "127.0.0.1", 0
        )
    try:
        yield {n: s.sockets[0].getsockname()[1] for n, s in servers.items()}
    finally:
        for server in servers.values():
            server.close()


def sidecar_config(ports: dict[str, int], role: str) -> dict[str, Any]:
    """Service `echo` with pods v1 and v2; its route sends everything to v1 and sets a header."""
    return {
        "schema": "meshproxy/v1",
        "node": {"role": "sidecar", "name": "client", "namespace": "shop"},
        "listeners": [
            {
                "name": role,
                "address": "127.0.0.1",
                "port": 15001,
                "role": role,
                "virtualHosts": [
                    {
                        "name": "shop/echo:80",
                        "domains": ["echo", "echo:80"],
                        "routes": [
                            {
                                "name": "to-v1",
                                "forward": {"clusters": [{"cluster": "shop/echo-v1:80"}]},
                                "responseHeaders": {"set": {"x-header-set": "set"}},
                            }
                        ],
                    }
                ],
            }
        ],
        "clusters": [
            {
                "name": "shop/echo-v1:80",
                "endpoints": [{"address": "127.0.0.1", "port": ports["v1"]}],
            },
            {
                "name": "shop/echo-v2:80",
                "endpoints": [{"address": "127.0.0.1", "port": ports["v2"]}],
            },
        ],
        "observability": {"accessLog": {"enabled": False}},
    }


@contextlib.asynccontextmanager
async def sidecar(ports: dict[str, int], role: str = "outbound") -> AsyncIterator[int]:
    built = stack.build(config.parse_config(json.dumps(sidecar_config(ports, role))), Registry())
    state = ListenerState(built.stacks[role], "http")
    loop = asyncio.get_running_loop()
    server = await loop.create_server(lambda: HttpServerProtocol(state), "127.0.0.1", 0)
    try:
        yield server.sockets[0].getsockname()[1]
    finally:
        server.close()
        built.close_unused(None)


async def get(proxy_port: int, authority: str) -> tuple[int, dict[str, str], bytes]:
    reader, writer = await asyncio.open_connection("127.0.0.1", proxy_port)
    writer.write(f"GET http://{authority}/ HTTP/1.1\r\nHost: {authority}\r\n\r\n".encode())
    head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), WAIT)
    lines = head.decode().split("\r\n")
    headers = dict(x.lower().split(": ", 1) for x in lines[1:] if ": " in x)
    body = await asyncio.wait_for(reader.readexactly(int(headers["content-length"])), WAIT)
    writer.close()
    return int(lines[0].split()[1]), headers, body


async def test_a_pod_ip_reaches_that_pod_and_none_of_the_services_routes_apply() -> None:
    async with pods("v1", "v2") as ports, sidecar(ports) as proxy:
        status, headers, body = await get(proxy, "echo")
        assert (status, headers.get("x-header-set"), json.loads(body)["pod"]) == (200, "set", "v1")

        v2 = f"127.0.0.1:{ports['v2']}"
        status, headers, body = await get(proxy, v2)
        assert status == 200
        assert "x-header-set" not in headers
        assert json.loads(body) == {"pod": "v2", "host": v2}


@pytest.mark.parametrize("role", ["outbound", "edge"])
async def test_an_address_the_config_does_not_name_is_404(role: str) -> None:
    async with pods("v1", "v2") as ports, sidecar(ports, role) as proxy:
        status, _, _ = await get(proxy, "10.9.9.9:8080")  # no endpoint of the config
        assert status == 404
        if role == "edge":  # a gateway routes by its routes only, Pod IPs included
            status, _, _ = await get(proxy, f"127.0.0.1:{ports['v2']}")
            assert status == 404
