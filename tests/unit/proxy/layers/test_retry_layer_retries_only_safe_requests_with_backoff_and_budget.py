"""RetryLayer against a scripted next handler: conditions, backoff, budget, safety."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from layer_fakes import Script, Sleeps, hang, ok, request

from meshproxy import config
from meshproxy.http.body import Body
from meshproxy.http.message import Exchange, Response
from meshproxy.layers import retry as retry_module
from meshproxy.layers.retry import REPLAY_BUFFER, RetryLayer
from meshproxy.observability.metrics import Child
from meshproxy.upstream.errors import UpstreamFailure


@pytest.fixture
def sleeps(monkeypatch: pytest.MonkeyPatch) -> Sleeps:
    fake = Sleeps()
    monkeypatch.setattr(retry_module, "asyncio", fake)
    return fake


def layer(next_handler: Any, *, counter: Child | None = None, **cfg: Any) -> RetryLayer:
    built = RetryLayer(next_handler, config.Retry.from_data(cfg), counter or Child())
    built._random = lambda: 0.5
    return built


async def test_a_listed_status_is_retried_until_it_succeeds_and_each_retry_is_counted(
    sleeps: Sleeps,
) -> None:
    upstream = Script(ok(503), ok(503), ok(200))
    counter = Child()
    req = request()
    response = await layer(upstream, counter=counter, attempts=3, retryOn=["gateway-error"]).handle(
        req
    )
    assert (response.status, upstream.calls, counter.value, req.attempts) == (200, 3, 2, 2)


async def test_a_status_outside_the_conditions_is_returned_as_is(sleeps: Sleeps) -> None:
    upstream = Script(ok(500), ok(200))
    response = await layer(upstream, attempts=3, retryOn=["gateway-error"]).handle(request())
    assert (response.status, upstream.calls) == (500, 1)


async def test_retriable_status_codes_retry_exactly_the_listed_codes(sleeps: Sleeps) -> None:
    upstream = Script(ok(409), ok(200))
    cfg: dict[str, Any] = {"retryOn": ["retriable-status-codes"], "retriableStatusCodes": [409]}
    response = await layer(upstream, **cfg).handle(request())
    assert (response.status, upstream.calls) == (200, 2)


async def test_attempts_bound_the_retries_and_the_last_answer_is_returned(sleeps: Sleeps) -> None:
    upstream = Script(ok(503))
    response = await layer(upstream, attempts=2, retryOn=["5xx"]).handle(request())
    assert (response.status, upstream.calls) == (503, 3)


async def test_a_reset_is_retried_and_a_final_failure_propagates(sleeps: Sleeps) -> None:
    rescued = Script(UpstreamFailure("reset"), ok(200))
    assert (await layer(rescued, retryOn=["reset"]).handle(request())).status == 200
    assert rescued.calls == 2
    doomed = Script(UpstreamFailure("reset"))
    with pytest.raises(UpstreamFailure):
        await layer(doomed, attempts=1, retryOn=["reset"]).handle(request())
    assert doomed.calls == 2


async def test_an_overflow_is_never_retried(sleeps: Sleeps) -> None:
    upstream = Script(UpstreamFailure("overflow"), ok(200))
    with pytest.raises(UpstreamFailure):
        await layer(upstream, retryOn=["5xx", "reset"]).handle(request())
    assert upstream.calls == 1


async def test_backoff_doubles_up_to_the_cap_less_the_jitter_share(sleeps: Sleeps) -> None:
    upstream = Script(ok(503))
    cfg: dict[str, Any] = {
        "attempts": 4,
        "retryOn": ["5xx"],
        "backoff": {"baseInterval": 0.1, "maxInterval": 0.3, "jitter": 0.5},
    }
    await layer(upstream, **cfg).handle(request())
    # r = 0.5 takes a quarter off: 0.1, 0.2, 0.3 (capped), 0.3, each times 0.75.
    assert sleeps.delays == pytest.approx([0.075, 0.15, 0.225, 0.225])


async def test_post_is_not_retried_on_a_status_but_is_on_a_connect_failure(sleeps: Sleeps) -> None:
    status = Script(ok(503), ok(200))
    response = await layer(status, retryOn=["5xx"]).handle(request("POST", body=Body.of(b"x")))
    assert (response.status, status.calls) == (503, 1)
    connect = Script(UpstreamFailure("connect-failure"), ok(200))
    response = await layer(connect, retryOn=["5xx"]).handle(request("POST", body=Body.of(b"x")))
    assert (response.status, connect.calls) == (200, 2)


async def test_retry_non_idempotent_lets_a_post_go_again(sleeps: Sleeps) -> None:
    upstream = Script(ok(503), ok(200))
    cfg: dict[str, Any] = {"retryOn": ["5xx"], "retryNonIdempotent": True}
    response = await layer(upstream, **cfg).handle(request("POST", body=Body.of(b"x")))
    assert (response.status, upstream.calls) == (200, 2)


async def test_a_body_too_large_to_buffer_is_never_replayed(sleeps: Sleeps) -> None:
    body = Body(None)
    body.feed(b"x" * (REPLAY_BUFFER + 1))  # still streaming: no end yet
    upstream = Script(ok(503), ok(200))
    response = await layer(upstream, retryOn=["5xx"]).handle(request("PUT", body=body))
    assert (response.status, upstream.calls) == (503, 1)


async def test_a_small_streaming_body_is_buffered_first_and_replayed_whole(sleeps: Sleeps) -> None:
    body = Body(None)
    body.feed(b"abc")
    asyncio.get_running_loop().call_soon(body.finish)
    sent: list[bytes] = []

    async def record(req: Exchange) -> Response:
        assert req.request.body is not None
        assert req.request.body.complete
        sent.append(req.request.body.buffered())
        return ok(503 if len(sent) == 1 else 200)

    response = await layer(record, retryOn=["5xx"]).handle(request("PUT", body=body))
    assert (response.status, sent) == (200, [b"abc", b"abc"])


async def test_a_discarded_attempts_streaming_body_is_cancelled(sleeps: Sleeps) -> None:
    first = Body(None)
    first.feed(b"partial")
    upstream = Script(ok(503, body=first), ok(200))
    await layer(upstream, retryOn=["5xx"]).handle(request())
    assert first.error is not None


async def test_a_per_try_timeout_is_a_reset_that_is_retried(sleeps: Sleeps) -> None:
    upstream = Script(hang, ok(200))
    cfg: dict[str, Any] = {"retryOn": ["reset"], "perTryTimeout": 0.01}
    response = await layer(upstream, **cfg).handle(request())
    assert (response.status, upstream.calls) == (200, 2)


async def test_the_budget_lets_only_min_concurrency_retries_run_at_once(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    release = asyncio.Event()
    waits: list[float] = []

    class Held(Sleeps):
        async def sleep(self, delay: float) -> None:
            waits.append(delay)
            await release.wait()

    monkeypatch.setattr(retry_module, "asyncio", Held())
    upstream = Script(ok(503), ok(503), ok(200))
    cfg: dict[str, Any] = {"retryOn": ["5xx"], "budget": {"percent": 0, "minConcurrency": 1}}
    retrying = layer(upstream, **cfg)
    first = asyncio.ensure_future(retrying.handle(request()))
    for _ in range(5):
        await asyncio.sleep(0)
    assert len(waits) == 1  # the first request holds the only retry slot
    second = await retrying.handle(request())
    assert second.status == 503  # over budget: its failure is returned, not retried
    release.set()
    assert (await first).status == 200


async def test_without_a_budget_concurrent_failures_all_retry(sleeps: Sleeps) -> None:
    upstream = Script(ok(503), ok(503), ok(200), ok(200))
    retrying = layer(upstream, retryOn=["5xx"])
    results = await asyncio.gather(retrying.handle(request()), retrying.handle(request()))
    assert [r.status for r in results] == [200, 200]
