"""What PeerAuthentication modes mean for one inbound connection.

Under STRICT a request needs a verified mesh identity; PERMISSIVE and DISABLE admit plaintext,
which carries no identity (so principal-based ALLOW rules never match it). Per-port overrides
mean the mode is known only once the request names its target port, so the handshake asks for
client certificates strictly only when every mode on the listener is STRICT, and `admits`
enforces the rest per request. This module must never grant an identity: it only reads the one
`identity.peer_spiffe_id` found.
"""

from __future__ import annotations

from collections.abc import Iterable

from meshproxy.config import MtlsMode


def handshake_requires_client_cert(modes: Iterable[MtlsMode]) -> bool:
    """CERT_REQUIRED at the handshake is safe only when no port on the listener allows less."""
    seen = list(modes)
    return bool(seen) and all(mode == "STRICT" for mode in seen)


def admits(mode: MtlsMode, peer_id: str | None) -> bool:
    """Whether a request on a connection with this verified identity (or None) may proceed."""
    if mode == "STRICT":
        return peer_id is not None
    return True
