"""RedirectLayer and DirectResponseLayer: terminal, answered by the proxy itself."""

from __future__ import annotations

from typing import Any

import pytest
from layer_fakes import request

from meshproxy import config
from meshproxy.layers.local import DirectResponseLayer, RedirectLayer
from meshproxy.policy.routing import CompiledRoute


def redirect_route(**redirect: Any) -> tuple[CompiledRoute, config.Redirect]:
    cfg = config.Route.from_data({"name": "r", "redirect": redirect})
    assert cfg.redirect is not None
    return CompiledRoute(cfg, "site"), cfg.redirect


async def test_a_redirect_answers_its_status_and_location() -> None:
    compiled, redirect = redirect_route(scheme="https", statusCode=301)
    response = await RedirectLayer(compiled, redirect).handle(
        request(path="/cart", host="shop.test", query="a=1")
    )
    assert (response.status, response.local, response.body) == (301, True, b"")
    assert response.headers == [("location", "https://shop.test/cart?a=1")]


async def test_a_redirect_location_that_would_carry_bad_bytes_is_400() -> None:
    compiled, redirect = redirect_route(scheme="https")
    response = await RedirectLayer(compiled, redirect).handle(
        request(path="/a\r\nx-injected:1", host="shop.test")
    )
    assert response.status == 400
    assert all(n != "location" for n, _ in response.headers)


async def test_a_direct_response_answers_its_status_headers_and_body() -> None:
    direct = config.DirectResponse(status=503, body="down", headers={"retry-after": "5"})
    response = await DirectResponseLayer(direct).handle(request())
    assert (response.status, response.body, response.local) == (503, b"down", True)
    assert response.headers == [("retry-after", "5")]


def test_a_direct_response_header_with_a_line_break_is_refused_at_build() -> None:
    direct = config.DirectResponse(status=200, headers={"x": "a\r\nset-cookie: s=1"})
    with pytest.raises(ValueError, match="directResponse header"):
        DirectResponseLayer(direct)
