"""Real TLS on loopback for the proxy's TLS building blocks: certificates and a test server.

Certificates come from the operator's own issuing functions (what production proxies get), and
`forge` makes the deliberately broken ones. `InboundServer` plays the runtime's part with the
same calls the runtime makes: sniff, accept with or without TLS, read the verified identity,
apply the mode, then echo `<peer identity or -> <line>` per line.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import ssl
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from meshgate.certs.bundle import TrustBundle
from meshgate.certs.ca import CertificateAuthority
from meshgate.certs.workload import IssuedCertificate, issue_workload_certificate
from meshproxy.config import Identity, MtlsMode
from meshproxy.tls.identity import peer_spiffe_id
from meshproxy.tls.modes import admits
from meshproxy.tls.sniff import sniff_tls

TD = "cluster.local"


@dataclass(frozen=True)
class Mesh:
    ca: CertificateAuthority
    bundle: TrustBundle

    def issue(
        self,
        namespace: str = "shop",
        sa: str = "frontend",
        *,
        now: datetime | None = None,
        validity: timedelta = timedelta(hours=24),
        trust_domain: str = TD,
    ) -> IssuedCertificate:
        return issue_workload_certificate(
            self.ca,
            self.bundle,
            trust_domain=trust_domain,
            namespace=namespace,
            service_account=sa,
            now=now or datetime.now(UTC),
            validity=validity,
        )


def write_identity(
    directory: Path, cert_pem: str, key_pem: str, ca_pem: str, trust_domain: str = TD
) -> Identity:
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "tls.crt").write_text(cert_pem)
    (directory / "tls.key").write_text(key_pem)
    (directory / "ca.crt").write_text(ca_pem)
    return Identity(
        cert_file=str(directory / "tls.crt"),
        key_file=str(directory / "tls.key"),
        ca_file=str(directory / "ca.crt"),
        trust_domain=trust_domain,
    )


def identity_from(
    directory: Path, issued: IssuedCertificate, ca_pem: str | None = None
) -> Identity:
    return write_identity(
        directory, issued.cert_pem, issued.key_pem, ca_pem or issued.ca_bundle_pem
    )


def forge(
    ca: CertificateAuthority,
    *,
    uris: tuple[str, ...] = ("spiffe://cluster.local/ns/shop/sa/frontend",),
    dns: tuple[str, ...] = (),
    eku: tuple[x509.ObjectIdentifier, ...] = (
        ExtendedKeyUsageOID.SERVER_AUTH,
        ExtendedKeyUsageOID.CLIENT_AUTH,
    ),
    key_usage: str = "signature",
    not_before: datetime | None = None,
    not_after: datetime | None = None,
) -> tuple[str, str]:
    """(cert PEM, key PEM) with exactly the flaws asked for; everything else as issued."""
    now = datetime.now(UTC)
    key = ec.generate_private_key(ec.SECP256R1())
    names: list[x509.GeneralName] = [x509.UniformResourceIdentifier(u) for u in uris]
    names += [x509.DNSName(d) for d in dns]
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, dns[0])]) if dns else x509.Name([])
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(ca.cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before or now - timedelta(minutes=5))
        .not_valid_after(not_after or now + timedelta(hours=1))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=key_usage == "signature",
                content_commitment=False,
                key_encipherment=key_usage == "encipher",
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=key_usage == "cert-sign",
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.ExtendedKeyUsage(list(eku)), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca.cert.public_key()),  # type: ignore[arg-type]
            critical=False,
        )
    )
    if names:
        builder = builder.add_extension(x509.SubjectAlternativeName(names), critical=not dns)
    cert = builder.sign(ca.key, hashes.SHA256())
    key_pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    return cert.public_bytes(serialization.Encoding.PEM).decode(), key_pem


@dataclass
class InboundServer:
    """A minimal inbound port that makes the runtime's TLS calls in the runtime's order."""

    context: Callable[[], ssl.SSLContext]
    mode: MtlsMode
    trust_domain: str = TD
    port: int = 0
    seen: list[str | None] = field(default_factory=list)
    refused: int = 0
    _sock: socket.socket | None = None
    _tasks: set[asyncio.Task[None]] = field(default_factory=set)

    async def start(self) -> None:
        sock = socket.socket()
        sock.bind(("127.0.0.1", 0))
        sock.listen(128)
        sock.setblocking(False)
        self._sock = sock
        self.port = sock.getsockname()[1]
        self._spawn(self._accept_loop())

    def _spawn(self, coro: object) -> None:
        task = asyncio.ensure_future(coro)  # type: ignore[arg-type]
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _accept_loop(self) -> None:
        loop = asyncio.get_running_loop()
        assert self._sock is not None
        while True:
            conn, _ = await loop.sock_accept(self._sock)
            self._spawn(self._handle(conn))

    async def _handle(self, conn: socket.socket) -> None:
        loop = asyncio.get_running_loop()
        try:
            async with asyncio.timeout(5):
                is_tls = await sniff_tls(conn)
            if self.mode == "STRICT" and not is_tls:
                raise ConnectionRefusedError("plaintext on a STRICT port")
            reader = asyncio.StreamReader()
            protocol = asyncio.StreamReaderProtocol(reader)
            if is_tls:
                transport, _ = await loop.connect_accepted_socket(
                    lambda: protocol, conn, ssl=self.context(), ssl_handshake_timeout=5
                )
            else:
                transport, _ = await loop.connect_accepted_socket(lambda: protocol, conn)
        except (OSError, TimeoutError):
            self.refused += 1
            conn.close()
            return
        writer = asyncio.StreamWriter(transport, protocol, reader, loop)
        peer = peer_spiffe_id(transport.get_extra_info("ssl_object"), self.trust_domain)
        if not admits(self.mode, peer):
            self.refused += 1
            writer.close()
            return
        self.seen.append(peer)
        try:
            while line := await reader.readline():
                writer.write(f"{peer or '-'} {line.decode().strip()}\n".encode())
                await writer.drain()
        except OSError:
            pass
        finally:
            writer.close()

    async def stop(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        for task in list(self._tasks):
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        if self._sock is not None:
            self._sock.close()


@contextlib.asynccontextmanager
async def inbound(
    context: ssl.SSLContext | Callable[[], ssl.SSLContext], mode: MtlsMode
) -> AsyncIterator[InboundServer]:
    factory = context if callable(context) else (lambda: context)
    server = InboundServer(factory, mode)  # type: ignore[arg-type]
    await server.start()
    try:
        yield server
    finally:
        await server.stop()


class Refused(Exception):
    """The connection did not carry a request: handshake failure, reset, or closed unanswered."""


async def ask(port: int, context: ssl.SSLContext | None, message: str = "ping") -> str:
    """One line there and back on a new connection; Refused when the server will not serve."""
    try:
        return await _ask(port, context, message)
    except (OSError, TimeoutError) as exc:
        raise Refused(f"{type(exc).__name__}: {exc}") from exc


async def _ask(port: int, context: ssl.SSLContext | None, message: str) -> str:
    reader, writer = await asyncio.open_connection("127.0.0.1", port, ssl=context)
    try:
        writer.write(message.encode() + b"\n")
        await writer.drain()
        async with asyncio.timeout(5):
            line = await reader.readline()
        if not line:
            raise ConnectionAbortedError("closed without an answer")
        return line.decode().strip()
    finally:
        writer.close()
        with contextlib.suppress(OSError):
            await writer.wait_closed()


@dataclass
class MemoryTLS:
    """Both ends of a TLS connection over memory BIOs, handshake done: no sockets, no loop.
    `bios` are the client's in and out, then the server's in and out: records move by hand."""

    client: ssl.SSLObject
    server: ssl.SSLObject
    bios: tuple[ssl.MemoryBIO, ssl.MemoryBIO, ssl.MemoryBIO, ssl.MemoryBIO]


def handshake_in_memory(
    client_ctx: ssl.SSLContext,
    server_ctx: ssl.SSLContext,
    session: ssl.SSLSession | None = None,
) -> MemoryTLS:
    """Run one handshake between the two contexts to completion, records moved by hand."""
    c_in, c_out, s_in, s_out = (ssl.MemoryBIO() for _ in range(4))
    client = client_ctx.wrap_bio(c_in, c_out, session=session)
    server = server_ctx.wrap_bio(s_in, s_out, server_side=True)
    done = {client: False, server: False}
    for _ in range(10):
        for end in (client, server):
            if not done[end]:
                try:
                    end.do_handshake()
                    done[end] = True
                except ssl.SSLWantReadError:
                    pass
        s_in.write(c_out.read())
        c_in.write(s_out.read())
        if all(done.values()):
            break
    assert all(done.values()), "the in-memory handshake did not complete in 10 rounds"
    return MemoryTLS(client, server, (c_in, c_out, s_in, s_out))
