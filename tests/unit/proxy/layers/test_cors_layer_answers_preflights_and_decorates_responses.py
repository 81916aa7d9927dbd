"""CorsLayer: a preflight is answered without the next handler; actual responses get headers."""

from __future__ import annotations

from layer_fakes import Script, ok, request

from meshproxy import config
from meshproxy.layers.cors import CorsLayer

CFG = config.Cors(
    allow_origins=["https://shop.test"],
    allow_methods=["GET", "PUT"],
    allow_headers=["x-token"],
    expose_headers=["x-trace"],
    max_age=600,
)


def preflight(origin: str) -> list[tuple[str, str]]:
    return [("origin", origin), ("access-control-request-method", "PUT")]


async def test_a_preflight_is_answered_locally_and_never_reaches_the_upstream() -> None:
    upstream = Script(ok())
    response = await CorsLayer(upstream, CFG).handle(
        request("OPTIONS", headers=preflight("https://shop.test"))
    )
    headers = dict(response.headers)
    assert (response.status, response.local, upstream.calls) == (204, True, 0)
    assert headers["access-control-allow-origin"] == "https://shop.test"
    assert headers["access-control-allow-methods"] == "GET, PUT"
    assert headers["access-control-allow-headers"] == "x-token"
    assert headers["access-control-max-age"] == "600"


async def test_a_preflight_from_another_origin_is_answered_without_any_allowance() -> None:
    upstream = Script(ok())
    response = await CorsLayer(upstream, CFG).handle(
        request("OPTIONS", headers=preflight("https://evil.test"))
    )
    assert (response.status, upstream.calls) == (204, 0)
    assert all(not n.startswith("access-control-allow") for n, _ in response.headers)


async def test_an_options_request_that_is_not_a_preflight_is_forwarded() -> None:
    upstream = Script(ok())
    response = await CorsLayer(upstream, CFG).handle(
        request("OPTIONS", headers=[("origin", "https://shop.test")])
    )
    assert (response.status, response.local, upstream.calls) == (200, False, 1)


async def test_an_allowed_origins_actual_response_carries_the_allow_and_expose_headers() -> None:
    upstream = Script(ok(200, [("content-type", "text/plain")]))
    response = await CorsLayer(upstream, CFG).handle(
        request(headers=[("origin", "https://shop.test")])
    )
    headers = dict(response.headers)
    assert upstream.calls == 1
    assert headers["content-type"] == "text/plain"
    assert headers["access-control-allow-origin"] == "https://shop.test"
    assert headers["access-control-expose-headers"] == "x-trace"


async def test_another_origins_actual_response_gets_no_allowance() -> None:
    upstream = Script(ok())
    response = await CorsLayer(upstream, CFG).handle(
        request(headers=[("origin", "https://evil.test")])
    )
    assert upstream.calls == 1
    assert all(not n.startswith("access-control-allow") for n, _ in response.headers)


async def test_a_request_with_a_cookie_allowed_by_star_gets_its_origin_echoed() -> None:
    layer = CorsLayer(Script(ok(), ok()), config.Cors(allow_origins=["*"]))
    plain = await layer.handle(request("GET", headers=[("origin", "https://a.test")]))
    assert dict(plain.headers)["access-control-allow-origin"] == "*"
    with_cookie = await layer.handle(
        request("GET", headers=[("origin", "https://a.test"), ("cookie", "foo=bar")])
    )
    assert dict(with_cookie.headers)["access-control-allow-origin"] == "https://a.test"
