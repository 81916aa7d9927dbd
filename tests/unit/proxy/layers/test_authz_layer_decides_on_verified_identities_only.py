"""AuthzLayer: an allowed request reaches the next handler; a denied one never does, whatever
headers it carries, and the denial is counted and marked."""

from __future__ import annotations

from typing import Any

import pytest
from layer_fakes import Script, ok, request

from meshproxy import config
from meshproxy.http.message import Exchange, LocalReply
from meshproxy.layers.authz import AuthzLayer
from meshproxy.observability.metrics import Child

FRONTEND = "spiffe://cluster.local/ns/shop/sa/frontend"
OTHER = "spiffe://cluster.local/ns/other/sa/frontend"

ALLOW_SHOP_GETS = {
    "name": "shop-gets",
    "rules": [{"from": [{"namespaces": ["shop"]}], "to": [{"methods": ["GET"]}]}],
}
DENY_ADMIN = {"name": "no-admin", "action": "DENY", "rules": [{"to": [{"paths": ["/admin*"]}]}]}


def layer(upstream: Script, *policies: dict[str, Any]) -> tuple[AuthzLayer, Child]:
    denied = Child()
    built = AuthzLayer(
        upstream,
        [config.AuthzPolicy.from_data(p) for p in policies],
        config.Node(role="sidecar", labels={"app": "backend"}),
        denied,
    )
    return built, denied


def peer(identity: str | None, method: str = "GET", path: str = "/", **kw: Any) -> Exchange:
    req = request(method, path, **kw)
    req.identity = identity
    req.listener_port = 8080
    return req


async def test_an_allowed_peer_reaches_the_next_handler() -> None:
    upstream = Script(ok())
    authz, denied = layer(upstream, ALLOW_SHOP_GETS)
    assert (await authz.handle(peer(FRONTEND))).status == 200
    assert (upstream.calls, denied.value) == (1, 0)


@pytest.mark.parametrize(
    ("identity", "method"), [(OTHER, "GET"), (FRONTEND, "DELETE"), (None, "GET")]
)
async def test_a_denied_request_never_reaches_the_next_handler(
    identity: str | None, method: str
) -> None:
    upstream = Script(ok())
    authz, denied = layer(upstream, ALLOW_SHOP_GETS)
    req = peer(identity, method)
    with pytest.raises(LocalReply) as refused:
        await authz.handle(req)
    assert (refused.value.status, upstream.calls, denied.value) == (403, 0, 1)
    assert req.flags == "authz_denied"


async def test_a_forged_identity_header_is_not_an_identity() -> None:
    upstream = Script(ok())
    authz, _ = layer(upstream, ALLOW_SHOP_GETS)
    forged = peer(None, headers=[("x-meshgate-peer-identity", FRONTEND)])
    with pytest.raises(LocalReply):
        await authz.handle(forged)
    assert upstream.calls == 0


async def test_deny_wins_over_allow_on_the_normalised_path() -> None:
    upstream = Script(ok())
    authz, _ = layer(upstream, ALLOW_SHOP_GETS, DENY_ADMIN)
    with pytest.raises(LocalReply):
        await authz.handle(peer(FRONTEND, path="/admin/users"))
    assert (await authz.handle(peer(FRONTEND, path="/api"))).status == 200
    assert upstream.calls == 1
