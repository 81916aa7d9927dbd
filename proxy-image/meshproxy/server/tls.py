"""TLS for listeners: the server context, the SNI the client asked for, the peer's SPIFFE id.

The peer identity comes only from a verified client certificate's URI SAN, never from a header.
"""

from __future__ import annotations

import ssl
from typing import Any

from meshproxy import config
from meshproxy.server.state import ListenerState

_MAX_PENDING_SNI = 10_000  # handshakes that named a host but never completed


def server_context(tls: config.ServerTLS, state: ListenerState) -> ssl.SSLContext:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.load_cert_chain(tls.cert_file, tls.key_file)
    if tls.client_ca_file:
        context.load_verify_locations(tls.client_ca_file)
        context.verify_mode = ssl.CERT_REQUIRED if tls.require_client_cert else ssl.CERT_OPTIONAL
    if tls.alpn:
        context.set_alpn_protocols(tls.alpn)

    def remember_sni(ssl_object: Any, name: str | None, _context: ssl.SSLContext) -> None:
        if name:
            if len(state.sni_names) > _MAX_PENDING_SNI:
                state.sni_names.clear()
            state.sni_names[id(ssl_object)] = name.lower()

    context.sni_callback = remember_sni
    return context


def peer_identity(ssl_object: Any) -> str | None:
    """The SPIFFE id in the verified peer certificate's URI SAN, or None."""
    try:
        cert = ssl_object.getpeercert()
    except (ValueError, AttributeError):
        return None
    if not cert:
        return None
    for kind, value in cert.get("subjectAltName", ()):
        if kind == "URI" and value.startswith("spiffe://"):
            return str(value)
    return None
