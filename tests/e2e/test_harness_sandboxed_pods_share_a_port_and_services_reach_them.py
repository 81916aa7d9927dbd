"""Two Pods whose programs bind the same wildcard port each run in a network namespace of their
own (`harness/sandbox.py`) and answer on their own address; a Service address forwarded by the
agent's nftables rules (`harness/services.py`) reaches both. Runs inside hack/in-netns.sh."""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import sys
from collections.abc import AsyncIterator

from harness.kubeproxy import run_command
from harness.podnet import PodNetwork
from harness.sandbox import PodSandbox
from harness.services import Forward, removal, ruleset

# Binds every address of its namespace, as echo-basic does, and answers with its name.
SERVER = """
import socket, sys
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("0.0.0.0", 3000)); s.listen()
print("listening", flush=True)
while True:
    c, _ = s.accept(); c.sendall(sys.argv[1].encode()); c.close()
"""
# Beside the session agent's own table and Service CIDR route, never replacing them.
TABLE = "meshgate_services_test"
SERVICE_CIDR = "198.19.254.0/24"
SERVICE_IP = "198.19.254.10"


async def _read(address: str, port: int) -> str:
    async with asyncio.timeout(5):
        while True:
            try:
                reader, writer = await asyncio.open_connection(address, port)
            except ConnectionRefusedError:
                await asyncio.sleep(0.05)  # the server is still starting
                continue
            data = await reader.read()
            writer.close()
            return data.decode()


@contextlib.asynccontextmanager
async def _sandboxed_server(network: PodNetwork, ip: str, name: str) -> AsyncIterator[PodSandbox]:
    sandbox = await PodSandbox.create(ip, network.node_ip)
    argv = sandbox.enter([sys.executable, "-c", SERVER, name])
    proc = await asyncio.create_subprocess_exec(*argv, stdout=asyncio.subprocess.DEVNULL)
    try:
        yield sandbox
    finally:
        proc.kill()
        await proc.wait()
        await sandbox.destroy()


async def test_two_sandboxed_pods_bind_one_port_and_a_service_address_reaches_both() -> None:
    network = PodNetwork.claim()
    try:
        network.make_local()
        first, second = network.allocate(set()), network.allocate(set())
        async with (
            _sandboxed_server(network, first, "first"),
            _sandboxed_server(network, second, "second"),
        ):
            assert await _read(first, 3000) == "first"
            assert await _read(second, 3000) == "second"

            await run_command("ip", "route", "add", "local", SERVICE_CIDR, "dev", "lo")
            try:
                forward = Forward(SERVICE_IP, 80, ((first, 3000), (second, 3000)))
                await run_command("nft", "-f", "-", stdin=ruleset([forward], TABLE))
                answers = {await _read(SERVICE_IP, 80) for _ in range(40)}
                assert answers == {"first", "second"}
            finally:
                await run_command("nft", "-f", "-", stdin=removal(TABLE))
                await run_command("ip", "route", "del", "local", SERVICE_CIDR, "dev", "lo")
        # The sandboxes are gone with their links: the addresses are the agent's /24 again.
        assert ipaddress.IPv4Address(first) in network.subnet
    finally:
        network.release()
