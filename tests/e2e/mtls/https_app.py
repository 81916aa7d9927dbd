"""An HTTPS app for the CONNECT tests: a real TLS server on loopback with a certificate from a
CA of its own for DNS names the test chooses, so a client that verifies it (curl) proves the
TLS session ran end to end, from the client to the app, through the proxies' tunnels.

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

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID


@dataclass(frozen=True)
class HttpsApp:
    port: int
    ca_file: Path


@contextlib.contextmanager
def https_app(tmp: Path, names: list[str], address: str = "127.0.0.1") -> Iterator[HttpsApp]:
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca = _certificate(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "app ca")]), ca_key)
    key = ec.generate_private_key(ec.SECP256R1())
    cert = _certificate(
        x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, names[0])]), key, ca, ca_key, names
    )
    tmp.mkdir(parents=True, exist_ok=True)
    ca_file, cert_file, key_file = tmp / "app-ca.pem", tmp / "app.crt", tmp / "app.key"
    ca_file.write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
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


def _certificate(
    subject: x509.Name,
    key: ec.EllipticCurvePrivateKey,
    issuer: x509.Certificate | None = None,
    signer: ec.EllipticCurvePrivateKey | None = None,
    names: list[str] | None = None,
) -> x509.Certificate:
    now = dt.datetime.now(dt.UTC)
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer.subject if issuer is not None else subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(hours=2))
        .add_extension(x509.BasicConstraints(ca=issuer is None, path_length=None), critical=True)
    )
    if issuer is None:
        builder = builder.add_extension(
            x509.KeyUsage(
                digital_signature=True, content_commitment=False, key_encipherment=False,
                data_encipherment=False, key_agreement=False, key_cert_sign=True, crl_sign=True,
                encipher_only=False, decipher_only=False,
            ),
            critical=True,
        )  # fmt: skip
        builder = builder.add_extension(
            x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False
        )
        return builder.sign(key, hashes.SHA256())
    assert signer is not None
    assert names
    builder = builder.add_extension(
        x509.SubjectAlternativeName([x509.DNSName(n) for n in names]), critical=False
    ).add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
    builder = builder.add_extension(
        x509.AuthorityKeyIdentifier.from_issuer_public_key(signer.public_key()), critical=False
    )
    return builder.sign(signer, hashes.SHA256())
