"""InboundLayer: picks the target port and its cluster, admits by the port's mode, and hands on
the verified identity; a refusal never reaches the next handler."""

from __future__ import annotations

import pytest
from layer_fakes import Script, ok, request

from meshproxy import config
from meshproxy.http.message import Exchange, LocalReply
from meshproxy.layers.inbound import InboundLayer
from meshproxy.observability.metrics import Child, RequestStats
from meshproxy.peermodes import PeerModes

FRONTEND = "spiffe://cluster.local/ns/shop/sa/frontend"


def layer(upstream: Script, modes: list[dict[str, object]]) -> tuple[InboundLayer, Child]:
    inbound = config.Inbound.from_data({"allowedPorts": [8080, 9090], "peerAuthn": modes})
    stats = {f"inbound|{p}": RequestStats(()) for p in (8080, 9090)}
    refused = Child()
    return InboundLayer(upstream, PeerModes.compile(inbound, {}), stats, refused), refused


def caller(identity: str | None, host: str = "backend:8080", port: str | None = None) -> Exchange:
    headers = [("x-meshgate-target-port", port)] if port is not None else []
    req = request(host=host, headers=headers)
    req.identity = identity
    return req


async def test_a_verified_caller_reaches_the_port_it_names_with_its_identity() -> None:
    upstream = Script(ok())
    inbound, _ = layer(upstream, [{"mode": "STRICT"}])
    req = caller(FRONTEND, port="9090")
    assert (await inbound.handle(req)).status == 200
    [seen] = upstream.seen
    assert (seen.target_port, seen.cluster, seen.route) == (9090, "inbound|9090", "inbound")
    assert seen.extra_head == f"x-meshgate-peer-identity: {FRONTEND}\r\n"


async def test_strict_refuses_plaintext_before_the_next_handler() -> None:
    upstream = Script(ok())
    inbound, refused = layer(upstream, [{"mode": "STRICT"}])
    req = caller(None)
    with pytest.raises(LocalReply) as raised:
        await inbound.handle(req)
    assert (raised.value.status, upstream.calls, refused.value) == (403, 0, 1)
    assert req.flags == "peer_authn_refused"


async def test_a_port_override_relaxes_only_its_port() -> None:
    upstream = Script(ok())
    inbound, _ = layer(upstream, [{"mode": "STRICT", "portModes": {"9090": "PERMISSIVE"}}])
    assert (await inbound.handle(caller(None, host="backend:9090"))).status == 200
    with pytest.raises(LocalReply):
        await inbound.handle(caller(None, host="backend:8080"))
    assert upstream.calls == 1


async def test_a_port_not_allowed_is_404_and_a_plaintext_port_header_is_ignored() -> None:
    upstream = Script(ok())
    inbound, _ = layer(upstream, [{"mode": "PERMISSIVE"}])
    with pytest.raises(LocalReply) as raised:
        await inbound.handle(caller(FRONTEND, port="22"))
    assert raised.value.status == 404
    req = caller(None, host="backend:8080", port="9090")
    await inbound.handle(req)
    assert (req.target_port, req.extra_head) == (8080, "")
    assert upstream.calls == 1
