"""An HTTPS app for the CONNECT tests: a real TLS server on loopback with a certificate from a
CA of its own (made by meshgate.certs) for DNS names the test chooses, so a client that verifies
it (curl) proves the TLS session ran end to end, from the client to the app, through the
proxies' tunnels.

Each answer names the path and the SNI the server saw. The server runs on a thread and is shut
down when the block ends.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import ssl
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from meshgate.certs.ca import create_root_ca
from meshgate.certs.serving import issue_serving_certificate


@dataclass(frozen=True)
class HttpsApp:
    port: int
    ca_file: Path


@contextlib.contextmanager
def https_app(tmp: Path, names: list[str], address: str = "127.0.0.1") -> Iterator[HttpsApp]:
    # meshgate's own CA and serving-certificate code: a root of the app's own, not the mesh's.
    now = dt.datetime.now(dt.UTC)
    ca = create_root_ca("app.test", now - dt.timedelta(minutes=5))
    issued = issue_serving_certificate(
        ca, service="app", namespace="test", now=now, extra_dns_names=tuple(names)
    )
    tmp.mkdir(parents=True, exist_ok=True)
    ca_file, cert_file, key_file = tmp / "app-ca.pem", tmp / "app.crt", tmp / "app.key"
    ca_file.write_text(ca.cert_pem)
    cert_file.write_text(issued.cert_pem)
    key_file.write_text(issued.key_pem)
    seen_sni: dict[int, str] = {}
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert_file, key_file)

    def remember(sock: ssl.SSLObject, name: str | None, _: ssl.SSLContext) -> None:
        seen_sni[id(sock)] = name or ""

    context.sni_callback = remember  # type: ignore[assignment]

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            sni = seen_sni.get(id(self.connection), "")
            body = json.dumps({"path": self.path, "sni": sni}).encode()
            self.send_response(200)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer((address, 0), Handler)
    server.daemon_threads = True
    server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield HttpsApp(server.server_address[1], ca_file)
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)
