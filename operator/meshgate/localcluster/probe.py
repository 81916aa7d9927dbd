"""One HTTP(S) GET against a control-plane component, for readiness checks.

Answers "what did the endpoint say right now" and nothing more: no retries (the caller polls with
a deadline) and never a request to anything but the local control plane's loopback endpoints.
"""

from __future__ import annotations

import http.client
import ssl
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit


@dataclass(frozen=True)
class ClientTLS:
    """How to reach the API server: trust its CA, present a client certificate."""

    ca_cert: Path
    client_cert: Path
    client_key: Path

    def context(self) -> ssl.SSLContext:
        ctx = ssl.create_default_context(cafile=str(self.ca_cert))
        ctx.load_cert_chain(str(self.client_cert), str(self.client_key))
        return ctx


def insecure_context() -> ssl.SSLContext:
    """For a component's self-signed health endpoint (the controller-manager's /healthz)."""
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    return ctx


def get(
    url: str, *, context: ssl.SSLContext | None = None, timeout: float = 2.0
) -> tuple[int, str]:
    """(status, body) of GET `url`; (0, reason) when nothing answered."""
    parts = urlsplit(url)
    host = parts.hostname or "127.0.0.1"
    conn: http.client.HTTPConnection
    if parts.scheme == "https":
        conn = http.client.HTTPSConnection(host, parts.port, timeout=timeout, context=context)
    else:
        conn = http.client.HTTPConnection(host, parts.port, timeout=timeout)
    path = parts.path or "/"
    if parts.query:
        path += "?" + parts.query
    try:
        conn.request("GET", path)
        resp = conn.getresponse()
        return resp.status, resp.read().decode(errors="replace")
    except (OSError, http.client.HTTPException) as exc:
        return 0, str(exc)
    finally:
        conn.close()
