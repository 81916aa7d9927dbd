"""What PeerAuthentication modes mean for one inbound connection.

Under STRICT a request needs a verified mesh identity; PERMISSIVE admits plaintext, which
carries no identity (so principal-based ALLOW rules never match it), and mesh peers; DISABLE
is plaintext only: a request from a verified mesh peer is refused. Per-port overrides mean the
mode is known only once the request names its target port, so the handshake asks for client
certificates strictly only when every mode on the listener is STRICT, the listener speaks no TLS
at all when every mode is DISABLE (`plaintext_only`), and `admits` enforces the rest per request.
A TLS client without a certificate on a listener that mixes DISABLE with other modes has no
identity and is admitted like plaintext: the mode is not known at its handshake.
This module must never grant an identity: it only reads the one `identity.peer_spiffe_id` found.
"""

from __future__ import annotations

from collections.abc import Iterable

from meshproxy.config import MtlsMode


def handshake_requires_client_cert(modes: Iterable[MtlsMode]) -> bool:
    """CERT_REQUIRED at the handshake is safe only when no port on the listener allows less."""
    seen = list(modes)
    return bool(seen) and all(mode == "STRICT" for mode in seen)


def plaintext_only(modes: Iterable[MtlsMode]) -> bool:
    """A listener whose every port is DISABLE takes no TLS handshake at all."""
    seen = list(modes)
    return bool(seen) and all(mode == "DISABLE" for mode in seen)


def admits(mode: MtlsMode, peer_id: str | None) -> bool:
    """Whether a request on a connection with this verified identity (or None) may proceed."""
    if mode == "STRICT":
        return peer_id is not None
    if mode == "DISABLE":
        return peer_id is None
    return True
