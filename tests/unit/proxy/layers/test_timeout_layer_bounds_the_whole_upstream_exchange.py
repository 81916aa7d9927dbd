"""TimeoutLayer: an upstream exchange longer than the route timeout becomes a timeout failure."""

from __future__ import annotations

import asyncio

import pytest
from layer_fakes import Script, hang, ok, request

from meshproxy.http.message import Exchange, Response
from meshproxy.layers.timeout import TimeoutLayer
from meshproxy.upstream.errors import UpstreamFailure


async def test_an_answer_within_the_timeout_is_returned() -> None:
    response = await TimeoutLayer(Script(ok(201)), 5).handle(request())
    assert response.status == 201


async def test_an_upstream_that_never_answers_is_a_timeout_failure_and_is_cancelled() -> None:
    cancelled = asyncio.Event()

    async def stuck(req: Exchange) -> Response:
        try:
            return await hang(req)
        except asyncio.CancelledError:
            cancelled.set()
            raise

    loop = asyncio.get_running_loop()
    start = loop.time()
    with pytest.raises(UpstreamFailure) as raised:
        await TimeoutLayer(stuck, 0.05).handle(request())
    assert raised.value.kind == "timeout"
    assert 0.04 <= loop.time() - start < 1
    assert cancelled.is_set()


async def test_other_upstream_failures_pass_through_unchanged() -> None:
    with pytest.raises(UpstreamFailure) as raised:
        await TimeoutLayer(Script(UpstreamFailure("reset")), 5).handle(request())
    assert raised.value.kind == "reset"
