"""A Route to a missing Service reports ResolvedRefs=False with the reason, an Event says so,
and ResolvedRefs turns True within 2 s of the Service appearing."""

from __future__ import annotations

import time
from typing import Any

from kubernetes.client import ApiClient
from manifests import API, gateway, route, service
from operator_harness import OperatorProcess, apply, events, eventually, get


def _resolved(api: ApiClient, ns: str) -> dict[str, Any] | None:
    rt = get(api, "Route", API, ns, "orders")
    for c in ((rt or {}).get("status") or {}).get("conditions") or []:
        if c["type"] == "ResolvedRefs":
            return dict(c)
    return None


def test_missing_backend_then_service_appears(
    api_client: ApiClient, namespace: str, running_operator: OperatorProcess
) -> None:
    ns = namespace
    apply(api_client, gateway(), ns)
    apply(api_client, route("orders", "orders"), ns)
    cond = eventually(lambda: _resolved(api_client, ns), timeout=20, what="ResolvedRefs condition")
    assert cond["status"] == "False"
    assert cond["reason"] == "BackendNotFound"
    assert cond["message"] == f'service "orders" not found in namespace "{ns}"'

    posted = eventually(
        lambda: [
            e
            for e in events(api_client, ns)
            if e.get("reason") == "BackendNotFound" and e["regarding"]["name"] == "orders"
        ],
        timeout=10,
        what="a BackendNotFound event for the route",
    )
    assert posted[0]["type"] == "Warning"

    created = time.monotonic()
    apply(api_client, service("orders"), ns)
    eventually(
        lambda: (c := _resolved(api_client, ns)) and c["status"] == "True",
        timeout=2.0,
        what="ResolvedRefs=True within 2s of the Service appearing",
    )
    assert time.monotonic() - created < 2.0
