"""Route filters the API takes, compiled by the operator and served by a real gateway proxy:
`jsonProjection` with `mode: Exclude` drops the named fields and keeps the rest, and
`cache.vary` keys cached responses on the named request headers."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from compiled_edge import backend, compile_gateway
from meshproxy_e2e import Backends, Behaviour, Client, free_port, running

pytestmark = pytest.mark.e2e

GATEWAY = """
apiVersion: meshgate.io/v1alpha1
kind: Gateway
metadata: {name: edge}
spec:
  listeners: [{name: http, port: 8080, protocol: HTTP}]
"""


def route(filters: str, port: int) -> str:
    return f"""
---
apiVersion: meshgate.io/v1alpha1
kind: Route
metadata: {{name: app}}
spec:
  parentRefs: [{{name: edge}}]
  rules:
    - filters:
{filters}
      backendRefs: [{{name: app, port: {port}}}]
"""


@pytest.fixture
def backends() -> Iterator[Backends]:
    pool = Backends()
    try:
        yield pool
    finally:
        pool.close()


def test_exclude_drops_only_the_named_fields(tmp_path: Path, backends: Backends) -> None:
    app_port = backends.start(Behaviour("app"))
    filters = """        - type: JSONProjection
          jsonProjection: {mode: Exclude, fields: [received, nothing.here]}"""
    port = free_port()
    compiled = compile_gateway(
        GATEWAY + route(filters, app_port) + backend(app_port, "app"), tmp_path / "pod", port
    )
    route_status = compiled.statuses["Route shop/app"]["conditions"]
    assert not any(c["type"] == "PartiallyInvalid" for c in route_status)
    with running(tmp_path, compiled.config):
        status, _, body = Client(port).request("GET", "/orders")
    assert status == 200
    assert json.loads(body) == {"backend": "app", "path": "/orders"}


def test_cache_vary_keeps_one_entry_per_header_value(tmp_path: Path, backends: Backends) -> None:
    app = Behaviour("app")
    app_port = backends.start(app)
    filters = """        - type: Cache
          cache: {ttl: 30s, vary: [Accept-Language]}"""
    port = free_port()
    compiled = compile_gateway(
        GATEWAY + route(filters, app_port) + backend(app_port, "app"), tmp_path / "pod", port
    )
    with running(tmp_path, compiled.config):
        client = Client(port)

        def get(language: str | None) -> dict[str, str]:
            headers = {"Accept-Language": language} if language else {}
            status, answer_headers, _ = client.request("GET", "/catalog", headers=headers)
            assert status == 200
            return answer_headers

        assert "age" not in get("en")
        assert "age" in get("en")  # served from the cache
        assert "age" not in get("fr")  # another language is another entry
        assert "age" in get("fr")
        assert "age" in get("en")
        assert "age" not in get(None)
        client.close()
    assert [s.headers.get("accept-language") for s in app.seen] == ["en", "fr", None]
