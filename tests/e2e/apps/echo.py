"""The e2e echo app: answers every request with what it saw, as JSON.

Body: method, path, host, headers, pod name, namespace, version, and the address it answered on.
Env: `PORT` (default 8080), `FAIL_RATE` (fraction of requests answered 503, for retry and
outlier tests; `/healthz`, the probes' path, always answers 200 so a failing Pod stays an
endpoint), `VERSION` (echoed, for canary splits), `POD_NAME`/`POD_NAMESPACE` (downward API;
`HOSTNAME` as fallback), `MESHGATE_POD_IP` (the address to listen on; the local harness sets it),
`DOWNSTREAM_URL` (when set, every request except `/healthz` first calls this URL, through
`HTTP_PROXY` when the environment has one, as an app behind a sidecar does; the downstream's
status and JSON answer are returned under `downstream`, and a downstream failure makes the answer
502), `TLS_CERT_FILE` and `TLS_KEY_FILE` (when both are set, the app terminates TLS itself with
that certificate, as a backend behind a TLS passthrough listener does). Arguments
`-listen=:PORT` and `-text=TEXT` (hashicorp/http-echo's) are understood too.
Standard library only, so it runs in any Python. It must never listen on more than one address.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import signal
import ssl
import sys
import urllib.error
import urllib.request
from typing import Any

HEALTH_PATH = "/healthz"
# Headers an app passes on to the services it calls, so one trace spans both hops.
PROPAGATED = ("traceparent", "tracestate", "x-request-id")


def _response(status: int, body: bytes) -> bytes:
    reason = {200: "OK", 400: "Bad Request", 502: "Bad Gateway", 503: "Service Unavailable"}.get(
        status, "OK"
    )
    head = (
        f"HTTP/1.1 {status} {reason}\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    )
    return head.encode() + body


def _flags(argv: list[str]) -> dict[str, str]:
    """`-listen=:8080 -text=hi` -> {"listen": ":8080", "text": "hi"}."""
    return dict(a.lstrip("-").partition("=")[::2] for a in argv if a.startswith("-") and "=" in a)


class Echo:
    def __init__(self, env: dict[str, str], argv: list[str] | None = None) -> None:
        flags = _flags(argv or [])
        self.pod = env.get("POD_NAME") or env.get("HOSTNAME", "")
        self.namespace = env.get("POD_NAMESPACE", "")
        self.version = env.get("VERSION", "")
        self.text = flags.get("text", "")
        self.fail_rate = float(env.get("FAIL_RATE") or 0)
        self.address = env.get("MESHGATE_POD_IP") or "0.0.0.0"
        listen_port = flags.get("listen", "").rpartition(":")[2]
        self.port = int(listen_port or env.get("PORT") or 8080)
        self.downstream = env.get("DOWNSTREAM_URL", "")
        self.tls: ssl.SSLContext | None = None
        if env.get("TLS_CERT_FILE") and env.get("TLS_KEY_FILE"):
            self.tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            self.tls.load_cert_chain(env["TLS_CERT_FILE"], env["TLS_KEY_FILE"])
        # urllib reads HTTP_PROXY/NO_PROXY from the environment, as most HTTP clients do.
        self._opener = urllib.request.build_opener(urllib.request.ProxyHandler())

    def _call_downstream(self, headers: dict[str, str]) -> dict[str, Any]:
        passed = {k: v for k, v in headers.items() if k in PROPAGATED}
        # DOWNSTREAM_URL is the scenario's own http:// URL, set in its manifest.
        req = urllib.request.Request(self.downstream, headers=passed)  # noqa: S310
        try:
            with self._opener.open(req, timeout=10) as resp:
                status, body = resp.status, resp.read()
        except urllib.error.HTTPError as exc:
            status, body = exc.code, exc.read()
        except OSError as exc:
            return {"status": 0, "error": repr(exc)}
        try:
            answer: Any = json.loads(body)
        except ValueError:
            answer = body.decode("utf-8", "replace")
        return {"status": status, "answer": answer}

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
                downstream = None
                if path == HEALTH_PATH:
                    status = 200
                elif random.random() < self.fail_rate:
                    status = 503
                else:
                    status = 200
                    if self.downstream:
                        downstream = await asyncio.to_thread(self._call_downstream, headers)
                        status = 200 if downstream["status"] == 200 else 502
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
                if self.text:
                    answer["text"] = self.text
                if downstream is not None:
                    answer["downstream"] = downstream
                writer.write(_response(status, json.dumps(answer).encode()))
                await writer.drain()
                if headers.get("connection", "").lower() == "close":
                    return
        except (ConnectionError, asyncio.IncompleteReadError):
            return
        finally:
            writer.close()

    async def serve(self) -> None:
        server = await asyncio.start_server(self.handle, self.address, self.port, ssl=self.tls)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        tls = " (TLS)" if self.tls is not None else ""
        print(f"echo: pod {self.pod} listening on {self.address}:{self.port}{tls}", flush=True)
        async with server:
            await stop.wait()


if __name__ == "__main__":
    asyncio.run(Echo(dict(os.environ), sys.argv[1:]).serve())
