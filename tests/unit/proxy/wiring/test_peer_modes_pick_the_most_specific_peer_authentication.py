"""Which PeerAuthentication mode a target port gets: the most specific matching entry, its
per-port overrides, PERMISSIVE when nothing applies; and what the handshake must allow for."""

from __future__ import annotations

from typing import Any

from meshproxy import config
from meshproxy.peermodes import PeerModes
from meshproxy.tls.modes import handshake_requires_client_cert


def _inbound(peer_authn: list[dict[str, Any]], ports: list[int] | None = None) -> config.Inbound:
    return config.Inbound.from_data(
        {"allowedPorts": ports or [8080, 9090], "peerAuthn": peer_authn}
    )


def test_nothing_configured_is_permissive() -> None:
    modes = PeerModes.compile(_inbound([]), {})
    assert modes.mode_for(8080) == "PERMISSIVE"
    assert not handshake_requires_client_cert(modes.modes())


def test_a_workload_selector_beats_the_namespace_wide_entry() -> None:
    inbound = _inbound([{"mode": "PERMISSIVE"}, {"selector": {"app": "backend"}, "mode": "STRICT"}])
    assert PeerModes.compile(inbound, {"app": "backend"}).mode_for(8080) == "STRICT"
    assert PeerModes.compile(inbound, {"app": "other"}).mode_for(8080) == "PERMISSIVE"


def test_port_overrides_apply_to_their_port_only_and_relax_the_handshake() -> None:
    inbound = _inbound([{"mode": "STRICT", "portModes": {"9090": "PERMISSIVE"}}])
    modes = PeerModes.compile(inbound, {})

    assert (modes.mode_for(8080), modes.mode_for(9090)) == ("STRICT", "PERMISSIVE")
    assert not handshake_requires_client_cert(modes.modes())


def test_all_ports_strict_lets_the_handshake_require_certificates() -> None:
    inbound = _inbound([{"mode": "PERMISSIVE", "portModes": {"8080": "STRICT", "9090": "STRICT"}}])
    assert handshake_requires_client_cert(PeerModes.compile(inbound, {}).modes())
