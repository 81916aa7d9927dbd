"""The inbound layer reads the target port from its header only on verified mTLS, applies the
port's mode, and hands the upstream the verified identity; authz authorizes that identity, that
port and the normalised path, and marks and counts what it denies. The upstream head drops
every client copy of the proxy's own headers."""

from __future__ import annotations

import pytest

from meshproxy import config
from meshproxy.http.message import Exchange, LocalReply, Request, Response
from meshproxy.layers.authz import AuthzLayer
from meshproxy.layers.inbound import InboundLayer
from meshproxy.layers.upstream import UpstreamLayer
from meshproxy.observability.metrics import Child, RequestStats
from meshproxy.peermodes import PeerModes

FRONTEND = "spiffe://cluster.local/ns/shop/sa/frontend"


def _request(
    headers: list[tuple[str, str]] | None = None,
    identity: str | None = None,
    host: str = "backend:8080",
    method: str = "GET",
    path: str = "/",
) -> Exchange:
    message = Request(method, path, "", headers or [], host, None, "1.1", True)
    exchange = Exchange(message, "10.0.0.9", "http", 0.0)
    exchange.identity = identity
    exchange.listener_port = 15006
    return exchange


async def _seen(exchange: Exchange) -> Response:
    return Response(200, [], b"")


def _inbound(mode: str = "STRICT", ports: tuple[int, ...] = (8080, 9090)) -> InboundLayer:
    inbound = config.Inbound.from_data({"allowedPorts": list(ports), "peerAuthn": [{"mode": mode}]})
    stats = {f"inbound|{p}": RequestStats(()) for p in ports}
    return InboundLayer(_seen, PeerModes.compile(inbound, {}), stats, Child())


async def test_verified_peer_names_its_target_port_and_the_app_learns_its_identity() -> None:
    request = _request([("x-meshgate-target-port", "9090")], identity=FRONTEND)

    await _inbound().handle(request)

    assert (request.target_port, request.cluster) == (9090, "inbound|9090")
    assert request.extra_head == f"x-meshgate-peer-identity: {FRONTEND}\r\n"


async def test_plaintext_target_port_header_is_ignored_for_the_host_port() -> None:
    request = _request([("x-meshgate-target-port", "9090")], host="backend:8080")

    await _inbound("PERMISSIVE").handle(request)

    assert request.target_port == 8080
    assert request.extra_head == ""


async def test_strict_port_refuses_a_request_without_identity_and_counts_it() -> None:
    layer = _inbound("STRICT")
    with pytest.raises(LocalReply) as refused:
        await layer.handle(_request())
    assert refused.value.status == 403
    assert layer._refused.value == 1


@pytest.mark.parametrize("port", ["15090", "8081", "+8080", "99999", "\uff18\uff10\uff18\uff10"])
async def test_a_port_outside_allowed_ports_is_404(port: str) -> None:
    with pytest.raises(LocalReply) as refused:
        await _inbound().handle(_request([("x-meshgate-target-port", port)], identity=FRONTEND))
    assert refused.value.status == 404


def _authz(policy: dict[str, object]) -> AuthzLayer:
    return AuthzLayer(
        _seen,
        [config.AuthzPolicy.from_data(policy)],
        config.Node(role="sidecar", labels={"app": "backend"}),
        Child(),
    )


async def test_authz_matches_the_verified_namespace_and_the_target_port() -> None:
    layer = _authz(
        {
            "name": "shop-on-8080",
            "rules": [{"from": [{"namespaces": ["shop"]}], "to": [{"ports": [8080]}]}],
        }
    )
    allowed = _request(identity=FRONTEND)
    allowed.target_port = 8080
    await layer.handle(allowed)

    wrong_port = _request(identity=FRONTEND)
    wrong_port.target_port = 9090
    with pytest.raises(LocalReply):
        await layer.handle(wrong_port)
    with pytest.raises(LocalReply):
        await layer.handle(_request())  # plaintext: no namespace at all
    assert layer._denied.value == 2


async def test_authz_marks_a_denial_for_the_access_log() -> None:
    layer = _authz({"name": "deny-all", "action": "DENY", "rules": [{}]})
    request = _request(identity=FRONTEND)
    with pytest.raises(LocalReply) as denied:
        await layer.handle(request)
    assert denied.value.status == 403
    assert request.flags == "authz_denied"


async def test_upstream_head_drops_client_copies_of_proxy_headers() -> None:
    request = _request(
        [
            ("x-meshgate-peer-identity", "spiffe://cluster.local/ns/kube-system/sa/admin"),
            ("x-meshgate-target-port", "22"),
            ("accept", "*/*"),
        ]
    )
    request.extra_head = f"x-meshgate-peer-identity: {FRONTEND}\r\n"

    head = UpstreamLayer({}, set_forwarded_proto=False).head(
        request, "x-meshgate-target-port: 8080\r\n"
    )

    lines = head.decode().split("\r\n")
    assert [line for line in lines if line.startswith("x-meshgate")] == [
        "x-meshgate-target-port: 8080",
        f"x-meshgate-peer-identity: {FRONTEND}",
    ]
    assert "accept: */*" in lines
