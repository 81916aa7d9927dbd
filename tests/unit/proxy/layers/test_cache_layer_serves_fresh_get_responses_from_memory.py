"""CacheLayer against a counting next handler: hit, miss, Age, no-store, Vary, bounds."""

from __future__ import annotations

from typing import Any

import pytest
from layer_fakes import Script, ok, request

from meshproxy import config
from meshproxy.http.body import Body
from meshproxy.layers.cache import CacheLayer


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def time(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


def layer(upstream: Script, clock: Clock, **cfg: Any) -> CacheLayer:
    built = CacheLayer(upstream, config.Cache.from_data(cfg))
    built._loop = clock  # type: ignore[assignment]
    return built


def cacheable(value: str = "max-age=60", body: Any = b"hello", **extra: str) -> Any:
    return ok(200, [("Cache-Control", value), *extra.items()], body)


def header(response: Any, name: str) -> str | None:
    return next((v for n, v in response.headers if n.lower() == name), None)


async def test_second_get_is_served_from_the_cache_with_its_age(clock: Clock) -> None:
    upstream = Script(cacheable())
    cache = layer(upstream, clock)
    first = await cache.handle(request())
    assert (first.body, header(first, "age"), first.local) == (b"hello", None, False)
    clock.now += 7
    second = await cache.handle(request())
    assert (second.status, second.body, second.local) == (200, b"hello", True)
    assert header(second, "age") == "7"
    assert upstream.calls == 1


async def test_a_stale_entry_goes_back_to_the_upstream(clock: Clock) -> None:
    upstream = Script(cacheable("max-age=5"))
    cache = layer(upstream, clock)
    await cache.handle(request())
    clock.now += 6
    await cache.handle(request())
    assert upstream.calls == 2


async def test_no_store_responses_are_never_served_from_the_cache(clock: Clock) -> None:
    upstream = Script(cacheable("no-store"))
    cache = layer(upstream, clock)
    await cache.handle(request())
    second = await cache.handle(request())
    assert (upstream.calls, second.local) == (2, False)


async def test_a_request_saying_no_cache_bypasses_a_fresh_entry(clock: Clock) -> None:
    upstream = Script(cacheable())
    cache = layer(upstream, clock)
    await cache.handle(request())
    await cache.handle(request(headers=[("cache-control", "no-cache")]))
    assert upstream.calls == 2


async def test_vary_keys_entries_by_the_named_request_header(clock: Clock) -> None:
    upstream = Script(cacheable(Vary="Accept-Language"))
    cache = layer(upstream, clock)
    en = [("accept-language", "en")]
    await cache.handle(request(headers=en))
    await cache.handle(request(headers=[("accept-language", "de")]))
    assert upstream.calls == 2
    hit = await cache.handle(request(headers=en))
    assert (upstream.calls, hit.local) == (2, True)


async def test_other_paths_and_hosts_are_other_entries(clock: Clock) -> None:
    upstream = Script(cacheable())
    cache = layer(upstream, clock)
    await cache.handle(request(path="/a"))
    await cache.handle(request(path="/b"))
    await cache.handle(request(path="/a", host="other.test"))
    assert upstream.calls == 3


async def test_post_passes_through_and_is_not_stored(clock: Clock) -> None:
    upstream = Script(cacheable())
    cache = layer(upstream, clock)
    await cache.handle(request("POST"))
    await cache.handle(request("POST"))
    assert upstream.calls == 2


async def test_a_non_200_answer_is_not_stored_by_the_layer(clock: Clock) -> None:
    upstream = Script(ok(404, [("Cache-Control", "max-age=60")]))
    cache = layer(upstream, clock)
    await cache.handle(request())
    await cache.handle(request())
    assert upstream.calls == 2


async def test_a_streamed_body_is_buffered_and_stored_when_it_fits(clock: Clock) -> None:
    upstream = Script(cacheable(body=Body.of(b"streamed")))
    cache = layer(upstream, clock)
    first = await cache.handle(request())
    assert first.body == b"streamed"
    hit = await cache.handle(request())
    assert (hit.body, upstream.calls) == (b"streamed", 1)


async def test_a_body_over_the_bound_streams_through_uncached(clock: Clock) -> None:
    upstream = Script(cacheable(body=Body.of(b"x" * 100)))
    cache = layer(upstream, clock, maxBodyBytes=50)
    first = await cache.handle(request())
    assert isinstance(first.body, Body)
    assert first.body.buffered() == b"x" * 100
    await cache.handle(request())
    assert upstream.calls == 2


async def test_max_entries_evicts_the_least_recently_used(clock: Clock) -> None:
    upstream = Script(cacheable())
    cache = layer(upstream, clock, maxEntries=1)
    await cache.handle(request(path="/a"))
    await cache.handle(request(path="/b"))
    await cache.handle(request(path="/a"))
    assert upstream.calls == 3
