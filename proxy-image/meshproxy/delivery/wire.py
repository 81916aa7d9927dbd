"""The config stream's wire format: one HTTP/1.1 long poll at a time on a kept-alive mTLS
connection.

    GET /v1/configs/<target>?applied=<version>&received=<version>&wait=<seconds>&proxy=<id>

`applied` is the version the proxy serves now (its acknowledgement), `received` the last version
the server sent it (so a config the proxy refused is not sent again and again). The server
answers at once when its version differs from `received`, else when it changes, else after
`wait` seconds:

- 200: the whole config JSON; header `x-meshgate-config-version` names its version;
- 304: nothing new within `wait`;
- 403: the caller's identity may not have this target; 404: no such target path.

The client half is here (the proxy's); the server half lives in the operator. This module must
never apply a config: it moves bytes and says what came back.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from urllib.parse import quote, urlencode

PATH_PREFIX = "/v1/configs/"
# The server answers a poll with nothing new after at most this long; a connection silent for
# longer than WAIT + SLACK is dead (a half-open socket after a server crash).
WAIT = 30.0
SLACK = 10.0
MAX_WAIT = 60.0
VERSION_HEADER = "x-meshgate-config-version"
# A gateway config may be several MiB; more than this is not a config.
MAX_BODY = 64 * 1024 * 1024
_MAX_HEAD = 16 * 1024


class WireError(Exception):
    """The server's answer is not what this protocol allows."""


@dataclass(frozen=True)
class Reply:
    status: int
    headers: dict[str, str]
    body: bytes


def poll_path(target: str, applied: str, received: str, wait: float, proxy: str = "") -> str:
    """`proxy` names this proxy process (its Pod and pid): several proxies may reach the server
    from one address (behind a node's SNAT), and proxy status counts each once."""
    query = urlencode(
        {"applied": applied, "received": received, "wait": f"{wait:g}", "proxy": proxy}
    )
    return f"{PATH_PREFIX}{quote(target)}?{query}"


async def get(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, path: str, host: str
) -> Reply:
    """One request and its response on an open connection (the caller bounds the time)."""
    writer.write(
        f"GET {path} HTTP/1.1\r\nHost: {host}\r\nAccept: application/json\r\n\r\n".encode()
    )
    await writer.drain()
    try:
        head = await reader.readuntil(b"\r\n\r\n")
    except asyncio.LimitOverrunError:
        raise WireError("response head too large") from None
    except asyncio.IncompleteReadError:
        raise ConnectionResetError("config server closed the connection") from None
    if len(head) > _MAX_HEAD:
        raise WireError("response head too large")
    lines = head.decode("latin-1").split("\r\n")
    status_line = lines[0].split(" ", 2)
    if (
        len(status_line) < 2
        or not status_line[0].startswith("HTTP/1.")
        or not status_line[1].isdigit()
    ):
        raise WireError(f"not an HTTP/1.1 status line: {lines[0][:80]!r}")
    headers: dict[str, str] = {}
    for line in lines[1:]:
        if line:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
    if "chunked" in headers.get("transfer-encoding", "").lower():
        raise WireError("chunked responses are not part of this protocol")
    length = int(headers.get("content-length", "0") or "0")
    if length < 0 or length > MAX_BODY:
        raise WireError(f"response body of {length} bytes")
    try:
        body = await reader.readexactly(length) if length else b""
    except asyncio.IncompleteReadError:
        raise ConnectionResetError("config server closed the connection mid-body") from None
    return Reply(int(status_line[1]), headers, body)
