"""Which PeerAuthentication mode applies to each target port of this workload's inbound side.

`Inbound.peerAuthn` carries every PeerAuthentication of the namespace (and the mesh-wide one);
the entries whose selector matches this pod's labels apply, and the most specific wins: more
selector labels beat fewer, and an unselected (namespace- or mesh-wide) entry is the fallback.
On a tie the earlier entry wins, so the operator's order decides. The winner's `portModes`
override its `mode` per target port. With no entry at all the mode is PERMISSIVE, as in Istio.

Resolved once per config load: a request only looks up its port. This module must never
decide who a peer is; `tls.modes.admits` applies the mode to the verified identity.
"""

from __future__ import annotations

from collections.abc import Mapping

from meshproxy import config
from meshproxy.config import MtlsMode

DEFAULT_MODE: MtlsMode = "PERMISSIVE"


class PeerModes:
    __slots__ = ("_by_port", "allowed_ports", "default")

    def __init__(
        self, default: MtlsMode, by_port: Mapping[int, MtlsMode], allowed_ports: frozenset[int]
    ) -> None:
        self.default = default
        self._by_port = dict(by_port)
        self.allowed_ports = allowed_ports

    @classmethod
    def compile(cls, inbound: config.Inbound, labels: Mapping[str, str]) -> PeerModes:
        chosen: config.PeerAuthn | None = None
        for entry in inbound.peer_authn:
            selector = entry.selector or {}
            if any(labels.get(k) != v for k, v in selector.items()):
                continue
            if chosen is None or len(selector) > len(chosen.selector or {}):
                chosen = entry
        if chosen is None:
            return cls(DEFAULT_MODE, {}, frozenset(inbound.allowed_ports))
        by_port: dict[int, MtlsMode] = {}
        for port, mode in chosen.port_modes.items():
            if not port.isdigit():
                raise ValueError(f"inbound.peerAuthn.portModes: {port!r} is not a port number")
            by_port[int(port)] = mode
        return cls(chosen.mode, by_port, frozenset(inbound.allowed_ports))

    def mode_for(self, port: int) -> MtlsMode:
        return self._by_port.get(port, self.default)

    def modes(self) -> list[MtlsMode]:
        """Every mode a request on this listener can meet: what the handshake must allow for."""
        if not self.allowed_ports:
            return [self.default, *self._by_port.values()]
        return [self.mode_for(port) for port in sorted(self.allowed_ports)]
