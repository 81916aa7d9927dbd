"""EdgeAuthentication `mode: Optional`, compiled by the operator and served by a real gateway
proxy: a request without a key passes (with no consumer), a good key passes as its consumer, a
bad key is refused exactly as under `Required`, which next to it refuses a request without one."""

from __future__ import annotations

from pathlib import Path

import pytest
from compiled_edge import backend, compile_gateway
from edge_e2e import EchoBackend, echoed
from meshproxy_e2e import Client, free_port, running

pytestmark = pytest.mark.e2e

MANIFESTS = """
apiVersion: meshgate.io/v1alpha1
kind: Gateway
metadata: {name: edge}
spec:
  listeners: [{name: http, port: 8080, protocol: HTTP}]
---
apiVersion: meshgate.io/v1alpha1
kind: Route
metadata: {name: open}
spec:
  parentRefs: [{name: edge}]
  rules:
    - matches: [{path: {type: PathPrefix, value: /open}}]
      backendRefs: [{name: echo, port: PORT}]
---
apiVersion: meshgate.io/v1alpha1
kind: Route
metadata: {name: closed}
spec:
  parentRefs: [{name: edge}]
  rules:
    - matches: [{path: {type: PathPrefix, value: /closed}}]
      backendRefs: [{name: echo, port: PORT}]
---
apiVersion: meshgate.io/v1alpha1
kind: EdgeAuthentication
metadata: {name: optional}
spec:
  targetRefs: [{kind: Route, name: open}]
  mode: Optional
  apiKeys: {secretRefs: [{name: partner-keys}], header: x-api-key}
---
apiVersion: meshgate.io/v1alpha1
kind: EdgeAuthentication
metadata: {name: required}
spec:
  targetRefs: [{kind: Route, name: closed}]
  apiKeys: {secretRefs: [{name: partner-keys}], header: x-api-key}
---
apiVersion: v1
kind: Secret
metadata: {name: partner-keys}
type: Opaque
stringData: {acme: key-acme-123}
"""


def test_optional_lets_anonymous_requests_through_and_still_refuses_bad_keys(
    tmp_path: Path, echo: EchoBackend
) -> None:
    port = free_port()
    compiled = compile_gateway(
        MANIFESTS.replace("PORT", str(echo.port)) + backend(echo.port), tmp_path / "pod", port
    )
    accepted = compiled.statuses["EdgeAuthentication shop/optional"]["conditions"][0]
    assert (accepted["type"], accepted["status"]) == ("Accepted", "True")

    with running(tmp_path, compiled.config) as proxy:
        client = Client(port)
        status, _, body = client.request("GET", "/open/items")
        assert status == 200
        assert echoed(body, "x-meshgate-consumer") == []

        status, _, body = client.request(
            "GET", "/open/items", headers={"x-api-key": "key-acme-123", "x-meshgate-consumer": "x"}
        )
        assert status == 200
        assert echoed(body, "x-meshgate-consumer") == ["acme"]

        status, headers, _ = client.request("GET", "/open/items", headers={"x-api-key": "wrong"})
        assert status == 401
        assert "apikey" in headers.get("www-authenticate", "").lower()

        # A forged consumer header without a key is stripped, not believed.
        status, _, body = client.request("GET", "/open/x", headers={"x-meshgate-consumer": "acme"})
        assert status == 200
        assert echoed(body, "x-meshgate-consumer") == []

        assert client.request("GET", "/closed/items")[0] == 401
        assert (
            client.request("GET", "/closed/items", headers={"x-api-key": "key-acme-123"})[0] == 200
        )
        assert proxy.metric("meshproxy_authn_failures_total", reason="missing") == 1
        client.close()
