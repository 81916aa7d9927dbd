"""Which verified identity may have which config: a gateway's only its own, a namespace's mesh
config only that namespace's workloads."""

from __future__ import annotations

import pytest

from meshgate.push.access import refusal
from meshproxy.delivery.target import Target, parse
from meshproxy.tls.identity import SpiffeId

TD = "cluster.local"
GW = Target("gateway", "shop", "edge")
MESH = Target("mesh", "shop")


@pytest.mark.parametrize(
    ("peer", "target", "allowed"),
    [
        (SpiffeId(TD, "shop", "meshgate-gw-edge"), GW, True),
        (SpiffeId(TD, "shop", "meshgate-gw-other"), GW, False),  # another gateway
        (SpiffeId(TD, "shop", "frontend"), GW, False),  # a sidecar of the same namespace
        (SpiffeId(TD, "bank", "meshgate-gw-edge"), GW, False),  # same name, other namespace
        (SpiffeId(TD, "shop", "frontend"), MESH, True),
        (SpiffeId(TD, "shop", "default"), MESH, True),
        (SpiffeId(TD, "bank", "frontend"), MESH, False),
        (SpiffeId(TD, "shop", "meshgate-gw-edge"), MESH, False),  # a gateway runs no sidecar
        (SpiffeId("other.example", "shop", "frontend"), MESH, False),
        (None, MESH, False),
    ],
)
def test_identity_may_have_only_its_own_config(
    peer: SpiffeId | None, target: Target, allowed: bool
) -> None:
    why = refusal(peer, target, TD)
    assert (why is None) is allowed
    if not allowed:
        assert why  # a refusal always says why


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("gateway/shop/edge", GW),
        ("mesh/shop", MESH),
        ("gateway/shop", None),
        ("mesh/shop/extra", None),
        ("mesh/../etc", None),
        ("mesh/Shop", None),
        ("cluster/shop", None),
        ("", None),
    ],
)
def test_targets_parse_only_in_their_two_shapes(text: str, expected: Target | None) -> None:
    assert parse(text) == expected
    if expected is not None:
        assert str(expected) == text
