"""Route filters as a user writes them, compiled by the operator's compiler, served by a real
meshproxy in front of real HTTP backends: each rule's filter is seen doing what docs/api.md says.

One Gateway, one Route with a rule per filter (`compiled_e2e` adds the Services and endpoints).
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from compiled_e2e import compiled_gateway, service
from meshproxy_e2e import Backends, Behaviour, Client, Proxy, free_port, running, wait_until

SLOW_SECONDS = 2.0


class World:
    def __init__(
        self, proxy: Proxy, port: int, orders: Behaviour, shadow: Behaviour, slow: Behaviour
    ) -> None:
        self.proxy, self.port = proxy, port
        self.orders, self.shadow, self.slow = orders, shadow, slow

    def client(self) -> Client:
        return Client(self.port, host="shop.example")


ROUTE = """
apiVersion: meshgate.io/v1alpha1
kind: Route
metadata: {name: filters, creationTimestamp: "2026-01-01T00:00:01Z"}
spec:
  parentRefs: [{name: edge}]
  rules:
    - name: headers
      matches: [{path: {type: PathPrefix, value: /headers}}]
      filters:
        - type: RequestHeaderModifier
          requestHeaderModifier:
            set: [{name: x-api, value: v1}]
            add: [{name: x-trace, value: "on"}]
            remove: [x-debug]
        - type: ResponseHeaderModifier
          responseHeaderModifier: {set: [{name: x-served-by, value: edge}], remove: [content-type]}
      backendRefs: [{name: orders, port: 8080}]
    - name: rewrite
      matches: [{path: {type: PathPrefix, value: /old}}]
      filters:
        - type: URLRewrite
          urlRewrite:
            hostname: orders.internal
            path: {type: ReplacePrefixMatch, replacePrefixMatch: /new}
      backendRefs: [{name: orders, port: 8080}]
    - name: mirror
      matches: [{path: {type: PathPrefix, value: /mirrored}}]
      filters:
        - type: RequestMirror
          requestMirror: {backendRef: {name: shadow, port: 8080}}
      backendRefs: [{name: orders, port: 8080}]
    - name: projection
      matches: [{path: {type: PathPrefix, value: /projected}}]
      filters:
        - type: JSONProjection
          jsonProjection: {fields: [path]}
      backendRefs: [{name: orders, port: 8080}]
    - name: cache
      matches: [{path: {type: PathPrefix, value: /cached}}]
      filters:
        - type: Cache
          cache: {ttl: 30s, maxEntries: 10}
      backendRefs: [{name: orders, port: 8080}]
    - name: cors
      matches: [{path: {type: PathPrefix, value: /cors}}]
      filters:
        - type: CORS
          cors:
            allowOrigins: ["https://app.example.com"]
            allowMethods: [GET, POST]
            allowHeaders: [authorization]
            maxAge: 600
      backendRefs: [{name: orders, port: 8080}]
    - name: fault
      matches: [{path: {type: PathPrefix, value: /fault}}]
      filters:
        - type: Fault
          fault: {abort: {httpStatus: 418, percentage: 100}}
      backendRefs: [{name: orders, port: 8080}]
    - name: timeout
      matches: [{path: {type: PathPrefix, value: /slow}}]
      timeouts: {request: 10s, backendRequest: 300ms}
      backendRefs: [{name: slow, port: 8080}]
"""


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    pool = Backends()
    orders, shadow = Behaviour("orders"), Behaviour("shadow", delay=SLOW_SECONDS)
    slow = Behaviour("slow", delay=SLOW_SECONDS)
    ports = {b.name: pool.start(b) for b in (orders, shadow, slow)}
    manifests = ROUTE + "".join("---\n" + service(name, port) for name, port in ports.items())
    port = free_port()
    cfg = compiled_gateway(manifests, port)
    try:
        with running(Path(tmp_path_factory.mktemp("filters")), cfg) as proxy:
            yield World(proxy, port, orders, shadow, slow)
    finally:
        pool.close()


def _last(behaviour: Behaviour, path_prefix: str) -> dict[str, str]:
    seen = [s for s in behaviour.seen if s.path.startswith(path_prefix)]
    assert seen, f"{behaviour.name} saw no {path_prefix}"
    return {"path": seen[-1].path, **seen[-1].headers}


def test_request_headers_are_set_added_and_removed_and_response_headers_changed(
    world: World,
) -> None:
    status, headers, _ = world.client().request(
        "GET", "/headers", headers={"x-api": "v0", "x-trace": "client", "x-debug": "1"}
    )
    assert status == 200
    seen = world.orders.seen[-1]
    assert seen.headers["x-api"] == "v1"  # set replaces
    assert "x-debug" not in seen.headers  # removed
    # add keeps the client's value and appends ours (the kit's backend folds repeats by name;
    # the last one written wins there).
    assert seen.headers["x-trace"] in {"on", "client, on", "client,on"}
    assert headers["x-served-by"] == "edge"
    assert "content-type" not in headers


def test_url_rewrite_replaces_the_prefix_and_the_host(world: World) -> None:
    status, _, body = world.client().request("GET", "/old/items/7?x=1")
    assert status == 200
    seen = _last(world.orders, "/new")
    assert seen["path"] == "/new/items/7?x=1"
    assert seen["host"] == "orders.internal"
    assert json.loads(body)["path"] == "/new/items/7?x=1"


def test_mirror_target_gets_a_copy_and_the_client_never_waits_for_it(world: World) -> None:
    client = world.client()
    started = time.monotonic()
    status, _, body = client.request("GET", "/mirrored/1")
    elapsed = time.monotonic() - started
    assert status == 200
    assert json.loads(body)["backend"] == "orders"
    # The shadow answers after 2 s; the client had its answer long before.
    assert elapsed < SLOW_SECONDS / 2, elapsed
    wait_until(
        lambda: any(s.path == "/mirrored/1" for s in world.shadow.seen), 5, "the mirrored copy"
    )
    copy = next(s for s in world.shadow.seen if s.path == "/mirrored/1")
    assert copy.headers["host"].endswith("-shadow")


def test_json_projection_keeps_only_the_listed_fields(world: World) -> None:
    status, _, body = world.client().request("GET", "/projected/1")
    assert status == 200
    assert json.loads(body) == {"path": "/projected/1"}


def test_cache_answers_the_second_get_without_the_backend(world: World) -> None:
    client = world.client()
    before = sum(1 for s in world.orders.seen if s.path == "/cached/a")
    first = client.request("GET", "/cached/a")
    second = client.request("GET", "/cached/a")
    assert first[0] == second[0] == 200
    assert first[2] == second[2]
    assert sum(1 for s in world.orders.seen if s.path == "/cached/a") == before + 1


def test_cors_preflight_is_answered_locally_and_responses_carry_the_allow_origin(
    world: World,
) -> None:
    client = world.client()
    before = len(world.orders.seen)
    status, headers, _ = client.request(
        "OPTIONS",
        "/cors",
        headers={
            "origin": "https://app.example.com",
            "access-control-request-method": "POST",
            "access-control-request-headers": "authorization",
        },
    )
    assert status == 204
    assert headers["access-control-allow-origin"] == "https://app.example.com"
    assert "POST" in headers["access-control-allow-methods"]
    assert headers["access-control-max-age"] == "600"
    assert len(world.orders.seen) == before  # the preflight never reached the backend
    status, headers, _ = client.request(
        "GET", "/cors", headers={"origin": "https://app.example.com"}
    )
    assert (status, headers["access-control-allow-origin"]) == (200, "https://app.example.com")
    _, headers, _ = client.request("GET", "/cors", headers={"origin": "https://evil.example"})
    assert "access-control-allow-origin" not in headers


def test_fault_abort_answers_its_status_without_the_backend(world: World) -> None:
    before = len(world.orders.seen)
    statuses = {world.client().request("GET", "/fault")[0] for _ in range(5)}
    assert statuses == {418}
    assert len(world.orders.seen) == before


def test_backend_request_timeout_answers_504_before_the_backend_does(world: World) -> None:
    started = time.monotonic()
    status, _, _ = world.client().request("GET", "/slow")
    elapsed = time.monotonic() - started
    assert status == 504
    assert elapsed < SLOW_SECONDS, elapsed
