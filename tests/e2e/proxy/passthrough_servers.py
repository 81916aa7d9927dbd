"""Real TLS and TCP servers for the passthrough tests: a private CA, TLS servers that name
themselves, and a TCP server that answers only after the client's FIN (half close).

Each server runs in a thread on 127.0.0.1; `stop` closes its socket.
"""

from __future__ import annotations

import contextlib
import socket
import ssl
import threading
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from meshgate.certs.ca import create_root_ca
from meshgate.certs.serving import issue_serving_certificate


@dataclass(frozen=True)
class Issued:
    cert_file: Path
    key_file: Path
    der: bytes  # what a client sees as the peer certificate


class PrivateCA:
    """A throwaway CA; clients trust only it, so a handshake that verifies came from a backend."""

    def __init__(self, directory: Path) -> None:
        # meshgate's own CA and serving-certificate code, with a root of the tests' own.
        self.directory = directory
        self.ca = create_root_ca("passthrough.test", datetime.now(UTC) - timedelta(minutes=5))
        self.ca_file = directory / "ca.crt"
        self.ca_file.write_text(self.ca.cert_pem)

    def issue(self, *dns_names: str) -> Issued:
        issued = issue_serving_certificate(
            self.ca,
            service="backend",
            namespace="passthrough",
            now=datetime.now(UTC),
            validity=timedelta(hours=1),
            extra_dns_names=dns_names,
        )
        stem = dns_names[0].replace("*", "star")
        cert_file = self.directory / f"{stem}.crt"
        key_file = self.directory / f"{stem}.key"
        cert_file.write_text(issued.cert_pem)
        key_file.write_text(issued.key_pem)
        return Issued(cert_file, key_file, ssl.PEM_cert_to_DER_cert(issued.cert_pem))

    def client_context(self) -> ssl.SSLContext:
        context = ssl.create_default_context(cafile=str(self.ca_file))
        context.minimum_version = ssl.TLSVersion.TLSv1_2
        return context


class _Server:
    def __init__(self) -> None:
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.port = int(self.sock.getsockname()[1])
        self.connections = 0
        self._threads: list[threading.Thread] = []
        self._accepting = threading.Thread(target=self._accept, daemon=True)
        self._accepting.start()

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.connections += 1
            thread = threading.Thread(target=self._serve_safely, args=(conn,), daemon=True)
            thread.start()
            self._threads.append(thread)

    def _serve_safely(self, conn: socket.socket) -> None:
        with contextlib.suppress(OSError), conn:
            conn.settimeout(10)
            self.serve(conn)

    def serve(self, conn: socket.socket) -> None:
        raise NotImplementedError

    def stop(self) -> None:
        with contextlib.suppress(OSError):
            self.sock.shutdown(socket.SHUT_RDWR)
        self.sock.close()
        self._accepting.join(5)
        for thread in self._threads:
            thread.join(5)


class NamingTLSServer(_Server):
    """Terminates TLS with its own certificate; answers each line with `<name> <line>`."""

    def __init__(self, name: str, issued: Issued) -> None:
        self.name = name
        self.certificate = issued.der
        self.context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self.context.load_cert_chain(issued.cert_file, issued.key_file)
        self.server_names: list[str | None] = []
        self.context.sni_callback = self._remember_sni
        super().__init__()

    def _remember_sni(self, _obj: ssl.SSLObject, name: str | None, _ctx: ssl.SSLContext) -> None:
        self.server_names.append(name)

    def serve(self, conn: socket.socket) -> None:
        with self.context.wrap_socket(conn, server_side=True) as tls:
            reader = tls.makefile("rb")
            for line in reader:
                tls.sendall(self.name.encode() + b" " + line)


class CountAfterFinServer(_Server):
    """Reads until the client's FIN, then answers how many bytes came and closes: a proxy
    that closed on the client's FIN (no half close) would never carry the answer back."""

    def serve(self, conn: socket.socket) -> None:
        total = 0
        while True:
            data = conn.recv(65536)
            if not data:
                break
            total += len(data)
        conn.sendall(b"received %d\n" % total)


def tls_lines(
    port: int, server_name: str, context: ssl.SSLContext, lines: list[bytes]
) -> tuple[list[bytes], bytes]:
    """Through the proxy at `port`: a verified handshake for `server_name`, one answer per line;
    also the peer certificate (DER) the client verified."""
    with (
        socket.create_connection(("127.0.0.1", port), timeout=10) as raw,
        context.wrap_socket(raw, server_hostname=server_name) as tls,
    ):
        peer = tls.getpeercert(binary_form=True)
        assert peer is not None
        reader = tls.makefile("rb")
        answers = []
        for line in lines:
            tls.sendall(line)
            answers.append(reader.readline())
        return answers, peer
