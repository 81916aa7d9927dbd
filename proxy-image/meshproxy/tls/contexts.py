"""`ssl.SSLContext` factories for every TLS role the proxy plays.

- `server_context`: the inbound mesh port (15006); verifies client certificates against the
  trust bundle, required under STRICT, optional otherwise.
- `mesh_client_context`: outbound mTLS to a peer's inbound port. The peer is checked by its
  SPIFFE ID after the handshake (`identity.identity_allowed`), not by hostname.
- `edge_server_context`: HTTPS gateway listeners (several certificates via `switch.ContextSwitch`).
- `upstream_client_context`: plain TLS (SIMPLE) or client-certificate TLS (MUTUAL) to non-mesh
  upstreams.

TLS 1.2 is the floor and 1.3 is negotiated whenever both sides have it; session tickets stay on
so reconnects to the same peer resume. The mesh server issues one ticket per handshake, not
OpenSSL's two: a reconnect offers one, and every ticket issued costs server CPU. This module must
never switch verification off for the mesh, nor read certificate contents into Python objects
(that is `expiry.py`'s job, by file).
"""

from __future__ import annotations

import ssl
from collections.abc import Sequence

from meshproxy.config import Identity, ServerTLS, UpstreamTLS
from meshproxy.tls.direct import direct
from meshproxy.tls.errors import TLSFilesError
from meshproxy.tls.resumption import ResumingContext

ALPN = ("http/1.1",)
# Servers offer both: a client that asks for `h2` gets HTTP/2 (`server.negotiate`).
SERVER_ALPN = ("h2", "http/1.1")
H2_ALPN = ("h2",)


def server_context(identity: Identity, require_client_cert: bool) -> ssl.SSLContext:
    """The inbound mesh port's context. CERT_OPTIONAL still rejects a certificate that fails
    verification; it only lets a client present none (PERMISSIVE plaintext-equivalent)."""
    ctx = _new(ssl.PROTOCOL_TLS_SERVER, SERVER_ALPN)
    _load_chain(ctx, identity.cert_file, identity.key_file)
    _trust_bundle(ctx, identity.ca_file)
    ctx.verify_mode = ssl.CERT_REQUIRED if require_client_cert else ssl.CERT_OPTIONAL
    # Measured (bench/mtls): a full handshake drops from 1,120 to 936 us of server CPU.
    ctx.num_tickets = 1
    return ctx


def mesh_client_context(identity: Identity, alpn: Sequence[str] = ALPN) -> ssl.SSLContext:
    """Outbound mTLS: our certificate, the peer verified against the bundle, no hostname check.

    Mesh peers are dialled by pod IP and their certificates carry no DNS names; the caller
    checks the verified SPIFFE ID after the handshake instead. A `ResumingContext`, so the
    upstream pool can offer each peer its last session.
    """
    ctx = _new(ssl.PROTOCOL_TLS_CLIENT, alpn, ResumingContext)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_REQUIRED
    _trust_bundle(ctx, identity.ca_file)
    _load_chain(ctx, identity.cert_file, identity.key_file)
    return ctx


def edge_server_context(
    cert_file: str,
    key_file: str,
    *,
    client_ca_file: str | None = None,
    require_client_cert: bool = False,
    alpn: Sequence[str] = SERVER_ALPN,
) -> ssl.SSLContext:
    """An HTTPS gateway listener's context for one certificate."""
    ctx = _new(ssl.PROTOCOL_TLS_SERVER, alpn)
    _load_chain(ctx, cert_file, key_file)
    if client_ca_file:
        _trust_bundle(ctx, client_ca_file)
        ctx.verify_mode = ssl.CERT_REQUIRED if require_client_cert else ssl.CERT_OPTIONAL
    elif require_client_cert:
        raise TLSFilesError("requireClientCert needs clientCaFile to verify clients against")
    return ctx


def edge_context_from(tls: ServerTLS) -> ssl.SSLContext:
    return edge_server_context(
        tls.cert_file,
        tls.key_file,
        client_ca_file=tls.client_ca_file,
        require_client_cert=tls.require_client_cert,
        alpn=tls.alpn,
    )


def upstream_client_context(tls: UpstreamTLS, alpn: Sequence[str] = ALPN) -> ssl.SSLContext | None:
    """TLS to a non-mesh upstream; None for DISABLE. The caller passes `server_hostname`
    (`tls.sni` or the upstream host), which is both the SNI and the name checked."""
    if tls.mode == "DISABLE":
        return None
    if tls.mode == "MESH":
        raise ValueError("MESH upstreams use mesh_client_context(identity), not UpstreamTLS files")
    ctx = _new(ssl.PROTOCOL_TLS_CLIENT, alpn)
    # PROTOCOL_TLS_CLIENT starts with CERT_REQUIRED and check_hostname on: keep both.
    if tls.ca_file:
        _trust_bundle(ctx, tls.ca_file)
    else:
        ctx.load_default_certs(ssl.Purpose.SERVER_AUTH)
    if tls.mode == "MUTUAL":
        if not (tls.cert_file and tls.key_file):
            raise TLSFilesError("tls mode MUTUAL needs certFile and keyFile")
        _load_chain(ctx, tls.cert_file, tls.key_file)
    return ctx


def _new(
    protocol: ssl._SSLMethod, alpn: Sequence[str], kind: type[ssl.SSLContext] = ssl.SSLContext
) -> ssl.SSLContext:
    ctx = direct(kind(protocol))
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    ctx.set_alpn_protocols(list(alpn))
    # Tickets are on by default (OP_NO_TICKET unset); say so by leaving them alone. Compression
    # stays off (CRIME); renegotiation is off so a client cannot force expensive handshakes.
    ctx.options |= ssl.OP_NO_COMPRESSION | ssl.OP_NO_RENEGOTIATION
    return ctx


def _trust_bundle(ctx: ssl.SSLContext, ca_file: str) -> None:
    try:
        ctx.load_verify_locations(cafile=ca_file)
    except (OSError, ssl.SSLError) as exc:
        raise TLSFilesError(f"cannot load CA bundle {ca_file}: {_reason(exc)}") from None
    # Every certificate in the bundle is an anchor, so a user-supplied intermediate CA works
    # without its root; STRICT makes OpenSSL enforce RFC 5280 shape (AKI, critical SANs, ...).
    ctx.verify_flags |= ssl.VERIFY_X509_PARTIAL_CHAIN | ssl.VERIFY_X509_STRICT


def _load_chain(ctx: ssl.SSLContext, cert_file: str, key_file: str) -> None:
    try:
        ctx.load_cert_chain(cert_file, key_file)
    except (OSError, ssl.SSLError) as exc:
        raise TLSFilesError(
            f"cannot load certificate {cert_file} with key {key_file}: {_reason(exc)}"
        ) from None


def _reason(exc: OSError | ssl.SSLError) -> str:
    if isinstance(exc, ssl.SSLError):
        return exc.reason or exc.__class__.__name__
    return exc.strerror or exc.__class__.__name__
