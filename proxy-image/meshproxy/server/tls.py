"""TLS for listeners: the SNI each client sent, and the peer identity of a verified certificate.

The SNI is remembered per handshake so the server can answer 421 when `Host` names another host
than the one the client's TLS session was set up for. Python exposes the server-side SNI only to
the context's SNI callback, so the switch's callback is wrapped, not replaced: it still moves
each handshake onto the current certificate.

Peer identities come only from `tls.identity.peer_spiffe_id` (a verified certificate's URI SAN
in our trust domain), never from a header.
"""

from __future__ import annotations

import ssl
from collections.abc import Callable
from functools import partial

from meshproxy.server.state import ListenerState
from meshproxy.tls.identity import peer_spiffe_id

_MAX_PENDING_SNI = 10_000  # handshakes that named a host but never completed

IdentityOf = Callable[[ssl.SSLObject], str | None]


def remember_sni(context: ssl.SSLContext, state: ListenerState) -> ssl.SSLContext:
    """Make `context` record each handshake's server name in `state.sni_names`."""
    inner = context.sni_callback

    # typeshed says `name: str`; OpenSSL passes None when the client sent no SNI.
    def on_client_hello(ssl_object: ssl.SSLObject, name: str, ctx: ssl.SSLContext) -> int | None:
        if name:
            if len(state.sni_names) > _MAX_PENDING_SNI:
                state.sni_names.clear()
            state.sni_names[id(ssl_object)] = name.lower().rstrip(".")
        return inner(ssl_object, name, ctx) if inner is not None else None

    context.sni_callback = on_client_hello
    return context


def identity_reader(trust_domain: str) -> IdentityOf:
    return partial(peer_spiffe_id, trust_domain=trust_domain)
