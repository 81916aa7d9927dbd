"""MirrorLayer: fire-and-forget copies to another cluster, the original never affected."""

from __future__ import annotations

import asyncio
import random

from layer_fakes import Script, hang, ok, request, settle

from meshproxy import config
from meshproxy.http.body import Body
from meshproxy.layers.mirror import MAX_IN_FLIGHT, MirrorLayer
from meshproxy.observability.metrics import Child
from meshproxy.upstream.errors import UpstreamFailure


def layer(
    main: Script, send: Script, percent: float = 100, dropped: Child | None = None
) -> MirrorLayer:
    mirrors = [config.Mirror(cluster="shadow-be", percent=percent)]
    return MirrorLayer(main, mirrors, send, dropped or Child())


async def test_each_request_is_copied_to_the_mirror_cluster_with_a_shadow_host() -> None:
    main, mirror = Script(ok(200, body=b"main")), Script(ok(200, body=b"mirror"))
    original = request("POST", "/orders", [("x-a", "1")], Body.of(b"payload"), "shop.test:8080")
    original.cluster = "be"
    response = await layer(main, mirror).handle(original)
    await settle()
    assert response.body == b"main"
    assert main.seen == [original]
    [copy] = mirror.seen
    assert (copy.cluster, copy.request.host, copy.request.method, copy.request.path) == (
        "shadow-be", "shop.test-shadow:8080", "POST", "/orders"
    )  # fmt: skip
    assert copy.request.body is not None
    assert copy.request.body.buffered() == b"payload"
    assert copy.request.headers == [("x-a", "1")]
    assert copy.request.headers is not original.request.headers
    assert (original.request.host, original.cluster) == ("shop.test:8080", "be")


async def test_the_share_follows_the_percentage() -> None:
    main, mirror = Script(ok()), Script(ok())
    mirroring = layer(main, mirror, percent=30)
    mirroring._random = random.Random(11).random
    for _ in range(1000):
        await mirroring.handle(request())
        await settle(2)  # each copy finishes before the next: the in-flight bound plays no part
    assert main.calls == 1000
    assert 250 <= mirror.calls <= 350


async def test_zero_percent_sends_no_copy() -> None:
    main, mirror = Script(ok()), Script(ok())
    mirroring = layer(main, mirror, percent=0)
    for _ in range(50):
        await mirroring.handle(request())
    await settle()
    assert mirror.calls == 0


async def test_a_failing_mirror_leaves_the_main_response_untouched() -> None:
    main = Script(ok(201, body=b"created"))
    for failure in (UpstreamFailure("connect-failure"), RuntimeError("boom")):
        response = await layer(main, Script(failure)).handle(request())
        await settle()
        assert (response.status, response.body) == (201, b"created")


async def test_the_main_response_does_not_wait_for_a_mirror_that_never_answers() -> None:
    main, mirror = Script(ok()), Script(hang)
    mirroring = layer(main, mirror)
    response = await asyncio.wait_for(mirroring.handle(request()), timeout=1)
    await settle()
    assert (response.status, mirror.calls) == (200, 1)
    for task in list(mirroring._tasks):
        task.cancel()
    await settle()


async def test_a_streaming_request_body_is_not_mirrored() -> None:
    main, mirror = Script(ok()), Script(ok())
    streaming = Body(None)
    streaming.feed(b"part")
    await layer(main, mirror).handle(request("POST", body=streaming))
    await settle()
    assert (main.calls, mirror.calls) == (1, 0)


async def test_copies_beyond_the_in_flight_bound_are_dropped_and_counted() -> None:
    main, mirror = Script(ok()), Script(hang)
    dropped = Child()
    mirroring = layer(main, mirror, dropped=dropped)
    for _ in range(MAX_IN_FLIGHT + 5):
        await mirroring.handle(request())
    await settle()
    assert (main.calls, mirror.calls, dropped.value) == (MAX_IN_FLIGHT + 5, MAX_IN_FLIGHT, 5)
    for task in list(mirroring._tasks):
        task.cancel()
    await settle()
