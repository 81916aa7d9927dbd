"""TransformLayer: the route's header modifiers both ways, and the forward rewrite."""

from __future__ import annotations

from typing import Any

from layer_fakes import Script, ok, request

from meshproxy import config
from meshproxy.layers.transform import TransformLayer
from meshproxy.policy.routing import CompiledRoute


def route(**extra: Any) -> CompiledRoute:
    cfg = config.Route.from_data(
        {"name": "r", "forward": {"clusters": [{"cluster": "be"}]}, **extra}
    )
    return CompiledRoute(cfg, "site")


async def test_request_headers_are_set_added_and_removed_before_the_upstream() -> None:
    upstream = Script(ok())
    compiled = route(
        requestHeaders={"set": {"x-env": "prod"}, "add": {"x-tag": "b"}, "remove": ["x-drop"]}
    )
    req = request(headers=[("x-env", "dev"), ("x-tag", "a"), ("x-drop", "1"), ("x-keep", "k")])
    await TransformLayer(upstream, compiled).handle(req)
    seen = upstream.seen[0].request.headers
    assert ("x-env", "prod") in seen
    assert ("x-env", "dev") not in seen
    assert [v for n, v in seen if n == "x-tag"] == ["a", "b"]
    assert all(n != "x-drop" for n, _ in seen)
    assert ("x-keep", "k") in seen
    assert upstream.seen[0].request.header("x-env") == "prod"  # the cached mapping was refreshed


async def test_response_headers_are_modified_on_the_way_back() -> None:
    upstream = Script(ok(200, [("Server", "app/1.0"), ("x-a", "1")]))
    compiled = route(responseHeaders={"set": {"x-a": "2"}, "remove": ["server"]})
    response = await TransformLayer(upstream, compiled).handle(request())
    assert ("x-a", "2") in response.headers
    assert all(n.lower() != "server" for n, _ in response.headers)


async def test_prefix_rewrite_and_hostname_rewrite_reach_the_upstream() -> None:
    upstream = Script(ok())
    compiled = route(
        match={"path": {"type": "PathPrefix", "value": "/api"}},
        forward={
            "clusters": [{"cluster": "be"}],
            "rewrite": {
                "hostname": "internal.test",
                "path": {"type": "ReplacePrefixMatch", "value": "/v2"},
            },
        },
    )
    layer = TransformLayer(upstream, compiled)
    assert TransformLayer.needed(compiled)
    await layer.handle(request(path="/api/items", host="shop.test"))
    assert (upstream.seen[0].request.path, upstream.seen[0].request.host) == (
        "/v2/items",
        "internal.test",
    )


def test_a_route_without_modifiers_or_rewrite_needs_no_transform_layer() -> None:
    assert not TransformLayer.needed(route())
