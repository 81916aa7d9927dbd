"""The e2e echo app: answers every request with what it saw, as JSON.

Body: method, path, host, headers, pod name, namespace, version, and the address it answered on.
Env: `PORT` (default 8080), `FAIL_RATE` (fraction of requests answered 503, for retry and
outlier tests), `VERSION` (echoed, for canary splits), `POD_NAME`/`POD_NAMESPACE` (downward API;
`HOSTNAME` as fallback), `MESHGATE_POD_IP` (the address to listen on; the local harness sets it).
Standard library only, so it runs in any Python. It must never listen on more than one address.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import signal


def _response(status: int, body: bytes) -> bytes:
    reason = {200: "OK", 400: "Bad Request", 503: "Service Unavailable"}.get(status, "OK")
    head = (
        f"HTTP/1.1 {status} {reason}\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    )
    return head.encode() + body


class Echo:
    def __init__(self, env: dict[str, str]) -> None:
        self.pod = env.get("POD_NAME") or env.get("HOSTNAME", "")
        self.namespace = env.get("POD_NAMESPACE", "")
        self.version = env.get("VERSION", "")
        self.fail_rate = float(env.get("FAIL_RATE") or 0)
        self.address = env.get("MESHGATE_POD_IP") or "0.0.0.0"
        self.port = int(env.get("PORT") or 8080)

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                line = await reader.readline()
                if not line:
                    return
                parts = line.decode("latin-1").split()
                if len(parts) != 3:
                    writer.write(_response(400, b'{"error": "bad request line"}'))
                    return
                method, path, _ = parts
                headers: dict[str, str] = {}
                while (raw := await reader.readline()) not in (b"\r\n", b"\n", b""):
                    name, _, value = raw.decode("latin-1").partition(":")
                    headers[name.strip().lower()] = value.strip()
                length = int(headers.get("content-length") or 0)
                body = await reader.readexactly(length) if length else b""
                status = 503 if random.random() < self.fail_rate else 200
                answer = {
                    "method": method,
                    "path": path,
                    "host": headers.get("host", ""),
                    "headers": headers,
                    "pod": self.pod,
                    "namespace": self.namespace,
                    "version": self.version,
                    "address": self.address,
                    "bodyLength": len(body),
                    "status": status,
                }
                writer.write(_response(status, json.dumps(answer).encode()))
                await writer.drain()
                if headers.get("connection", "").lower() == "close":
                    return
        except (ConnectionError, asyncio.IncompleteReadError):
            return
        finally:
            writer.close()

    async def serve(self) -> None:
        server = await asyncio.start_server(self.handle, self.address, self.port)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        print(f"echo: pod {self.pod} listening on {self.address}:{self.port}", flush=True)
        async with server:
            await stop.wait()


if __name__ == "__main__":
    asyncio.run(Echo(dict(os.environ)).serve())
