"""FaultLayer: a configured share of requests is delayed and/or answered with the abort status."""

from __future__ import annotations

import random

import pytest
from layer_fakes import Script, Sleeps, ok, request

from meshproxy import config
from meshproxy.http.message import LocalReply
from meshproxy.layers import fault as fault_module
from meshproxy.layers.fault import FaultLayer


@pytest.fixture
def sleeps(monkeypatch: pytest.MonkeyPatch) -> Sleeps:
    fake = Sleeps()
    monkeypatch.setattr(fault_module, "asyncio", fake)
    return fake


async def test_a_full_abort_answers_the_status_and_never_calls_the_upstream() -> None:
    upstream = Script(ok())
    layer = FaultLayer(upstream, config.Fault.from_data({"abort": {"status": 418}}))
    with pytest.raises(LocalReply) as raised:
        await layer.handle(request())
    assert (raised.value.status, upstream.calls) == (418, 0)


async def test_a_delay_waits_its_fixed_time_and_then_forwards(sleeps: Sleeps) -> None:
    upstream = Script(ok())
    cfg = config.Fault.from_data({"delay": {"fixedDelay": 1.5}})
    response = await FaultLayer(upstream, cfg).handle(request())
    assert (response.status, upstream.calls, sleeps.delays) == (200, 1, [1.5])


async def test_the_abort_share_follows_its_percentage() -> None:
    upstream = Script(ok())
    layer = FaultLayer(upstream, config.Fault.from_data({"abort": {"status": 503, "percent": 25}}))
    layer._random = random.Random(5).random
    aborted = 0
    for _ in range(2000):
        try:
            await layer.handle(request())
        except LocalReply:
            aborted += 1
    assert 440 <= aborted <= 560
    assert upstream.calls == 2000 - aborted


async def test_the_delay_share_follows_its_percentage(sleeps: Sleeps) -> None:
    upstream = Script(ok())
    cfg = config.Fault.from_data({"delay": {"fixedDelay": 0.2, "percent": 10}})
    layer = FaultLayer(upstream, cfg)
    layer._random = random.Random(9).random
    for _ in range(2000):
        await layer.handle(request())
    assert 140 <= len(sleeps.delays) <= 260
    assert set(sleeps.delays) == {0.2}
    assert upstream.calls == 2000
