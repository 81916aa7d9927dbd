"""Container probes against the Pod's address: httpGet and tcpSocket.

exec probes cannot run here (there is no container to exec into); they count as passing, and
docs/e2e.md says so. This module must never probe anything but the Pod's own address.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

Body = dict[str, Any]


def _port(probe_port: int | str, container: Body) -> int:
    if isinstance(probe_port, int) or str(probe_port).isdigit():
        return int(probe_port)
    for port in container.get("ports") or []:
        if port.get("name") == probe_port:
            return int(port["containerPort"])
    raise ValueError(f"named port {probe_port!r} not declared by the container")


async def _close(writer: asyncio.StreamWriter) -> None:
    writer.close()
    with contextlib.suppress(OSError):
        await writer.wait_closed()


async def _http_get(pod_ip: str, spec: Body, container: Body) -> bool:
    port = _port(spec["port"], container)
    path = spec.get("path") or "/"
    headers = "".join(f"{h['name']}: {h['value']}\r\n" for h in spec.get("httpHeaders") or [])
    reader, writer = await asyncio.open_connection(pod_ip, port)
    try:
        writer.write(
            f"GET {path} HTTP/1.1\r\nHost: {pod_ip}:{port}\r\n{headers}"
            "Connection: close\r\n\r\n".encode()
        )
        await writer.drain()
        status_line = await reader.readline()
    finally:
        await _close(writer)
    parts = status_line.split()
    return len(parts) >= 2 and parts[1].isdigit() and 200 <= int(parts[1]) < 400


async def _tcp(pod_ip: str, spec: Body, container: Body) -> bool:
    _, writer = await asyncio.open_connection(pod_ip, _port(spec["port"], container))
    await _close(writer)
    return True


async def check(probe: Body, container: Body, pod_ip: str) -> bool:
    """One probe attempt: True when it passes."""
    try:
        async with asyncio.timeout(float(probe.get("timeoutSeconds") or 1)):
            if "httpGet" in probe:
                return await _http_get(pod_ip, probe["httpGet"], container)
            if "tcpSocket" in probe:
                return await _tcp(pod_ip, probe["tcpSocket"], container)
    except (OSError, TimeoutError, ValueError):
        return False
    return True
