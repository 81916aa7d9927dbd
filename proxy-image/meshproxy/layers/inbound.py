"""A sidecar's inbound side: which local port the caller wants, whether its mTLS mode admits the
caller, and who the caller is for the app.

The target port comes from `x-meshgate-target-port`, which the calling sidecar sets on its mTLS
connection (the app behind Host may name a Service port, not the pod's), and is read only when
the connection carries a verified mesh identity; a plaintext caller's copy is ignored and the
port in Host is used instead. A port outside `allowedPorts` is 404. The PeerAuthentication mode
of that port must admit the connection (STRICT needs a verified identity), else 403.

The app learns the caller from `x-meshgate-peer-identity`, set here from the verified
certificate only; the upstream layer drops every client-supplied copy of both headers. This
layer runs before authz, which authorizes the resolved target port.
"""

from __future__ import annotations

from meshproxy.http.heads import PEER_IDENTITY_HEADER, TARGET_PORT_HEADER
from meshproxy.http.message import Exchange, LocalReply, Response
from meshproxy.layers import Handler
from meshproxy.observability.metrics import Child, RequestStats
from meshproxy.peermodes import PeerModes
from meshproxy.tls.modes import admits


class InboundLayer:
    __slots__ = ("_clusters", "_modes", "_next", "_refused", "_restricted", "_stats")

    def __init__(
        self,
        next_handler: Handler,
        modes: PeerModes,
        stats: dict[str, RequestStats] | None,
        refused: Child,
    ) -> None:
        """`stats` (by cluster name) is given when this layer also picks the cluster, i.e. the
        listener forwards to `inbound|<port>` without routes."""
        self._next = next_handler
        self._modes = modes
        self._clusters = {port: f"inbound|{port}" for port in modes.allowed_ports}
        self._stats = stats
        self._refused = refused
        # Routes on an inbound listener without allowedPorts decide themselves where to go.
        self._restricted = bool(self._clusters) or stats is not None

    async def handle(self, exchange: Exchange) -> Response:
        identity = exchange.identity
        request = exchange.request
        named = request.header(TARGET_PORT_HEADER) if identity is not None else None
        if named is not None:
            port = _port(named)  # a peer that names a port gets that one or none: no fallback
        else:
            _, sep, text = request.host.rpartition(":")
            port = _port(text) if sep else None
        if port is None or (port not in self._clusters and self._restricted):
            raise LocalReply(404)
        if not admits(self._modes.mode_for(port), identity):
            self._refused.inc()
            exchange.flags = "peer_authn_refused"
            raise LocalReply(403)
        exchange.target_port = port
        if identity is not None:
            # A SPIFFE ID that passed `parse_spiffe_id` holds no CR/LF: safe as a header line.
            exchange.extra_head = f"{PEER_IDENTITY_HEADER}: {identity}\r\n"
        stats = self._stats
        if stats is not None:
            cluster = exchange.cluster = self._clusters[port]
            exchange.route = "inbound"
            exchange.stats = stats[cluster]
        return await self._next(exchange)


def _port(text: str | None) -> int | None:
    if text is None or not (text.isascii() and text.isdigit()) or len(text) > 5:
        return None
    return int(text)
