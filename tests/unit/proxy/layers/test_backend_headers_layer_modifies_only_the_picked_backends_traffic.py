"""Backend header layers: the modifiers of the cluster the route layer picked
(`exchange.cluster`), and no other's, on the request and on its response."""

from __future__ import annotations

from layer_fakes import Script, ok, request

from meshproxy import config
from meshproxy.layers.backend_headers import (
    BackendHeadersLayer,
    BackendRequestHeadersLayer,
    compile_backend_ops,
)
from meshproxy.layers.chain import Chain

FORWARD = config.Forward.from_data(
    {
        "clusters": [
            {
                "cluster": "v1",
                "requestHeaders": {"set": {"backend": "v1"}, "remove": ["x-debug"]},
                "responseHeaders": {"add": {"x-served-by": "v1"}},
            },
            {"cluster": "v2", "requestHeaders": {"set": {"backend": "v2"}}},
            {"cluster": "v3"},
        ]
    }
)


async def _through(
    layer_of: type, cluster: str
) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    upstream = Script(ok(200, [("server", "app")]))
    layer = layer_of(upstream, compile_backend_ops(FORWARD))
    exchange = request(headers=[("backend", "client"), ("x-debug", "1")])
    exchange.cluster = cluster
    response = await layer.handle(exchange)
    return upstream.seen[0].request.headers, response.headers


async def test_each_backend_gets_its_own_request_modifier_and_no_other() -> None:
    v1, _ = await _through(BackendHeadersLayer, "v1")
    assert v1 == [("backend", "v1")]
    v2, _ = await _through(BackendHeadersLayer, "v2")
    assert v2 == [("x-debug", "1"), ("backend", "v2")]
    v3, _ = await _through(BackendHeadersLayer, "v3")
    assert v3 == [("backend", "client"), ("x-debug", "1")]


async def test_only_the_backend_with_a_response_modifier_changes_its_response() -> None:
    _, v1 = await _through(BackendHeadersLayer, "v1")
    assert v1 == [("server", "app"), ("x-served-by", "v1")]
    _, v2 = await _through(BackendHeadersLayer, "v2")
    assert v2 == [("server", "app")]


async def test_the_request_only_layer_keeps_a_chain_driven_by_callbacks() -> None:
    started: list[str] = []

    def start(exchange: object, client: object, stack: object) -> None:
        started.append(exchange.request.header("backend"))  # type: ignore[attr-defined]

    inner = Chain(Script(ok()), start)  # type: ignore[arg-type]
    layer = BackendRequestHeadersLayer(inner.handle, compile_backend_ops(FORWARD))
    chain = inner.wrap(layer)
    assert chain.start is not None
    exchange = request(headers=[("backend", "client")])
    exchange.cluster = "v2"
    chain.start(exchange, None, None)  # type: ignore[arg-type]
    assert started == ["v2"]


def test_clusters_without_modifiers_compile_to_nothing() -> None:
    plain = config.Forward.from_data({"clusters": [{"cluster": "a"}, {"cluster": "b"}]})
    assert compile_backend_ops(plain) == {}
    assert set(compile_backend_ops(FORWARD)) == {"v1", "v2"}
