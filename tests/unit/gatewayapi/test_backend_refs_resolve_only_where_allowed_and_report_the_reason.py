"""A backendRef resolves only to an existing Service port, in the route's namespace or one whose
ReferenceGrant allows it; otherwise ResolvedRefs=False says why (InvalidKind, RefNotPermitted,
BackendNotFound), the route stays accepted, and its rule answers 500."""

from __future__ import annotations

from typing import Any

import pytest
from gwapi_kit import (
    backend,
    gateway,
    gateway_class,
    http_route,
    parent_condition,
    reference_grant,
    rule,
    run,
    service,
    status,
)

from meshgate.compile import compile_snapshot

BASE = [gateway_class(), gateway(), service(), service("api", namespace="backend")]


def _route_result(ref: dict[str, Any], *extra: dict[str, Any]) -> tuple[tuple[str, str], Any]:
    adapted, snap = run([*BASE, *extra, http_route(rules=[rule(ref)])])
    body = status(adapted, "HTTPRoute", "web")
    assert parent_condition(body, "Accepted") == ("True", "Accepted")
    (gw,) = compile_snapshot(snap).gateways
    (route,) = gw.config.listeners[0].virtual_hosts[0].routes
    return parent_condition(body, "ResolvedRefs"), route


@pytest.mark.parametrize(
    ("ref", "reason"),
    [
        (backend(kind="Pod"), "InvalidKind"),
        (backend(group="example.com", kind="Widget"), "InvalidKind"),
        (backend("missing"), "BackendNotFound"),
        (backend(port=9999), "BackendNotFound"),
        (backend("api", namespace="backend"), "RefNotPermitted"),
    ],
)
def test_unresolved_backend_reports_the_reason_and_answers_500(
    ref: dict[str, Any], reason: str
) -> None:
    resolved, route = _route_result(ref)
    assert resolved == ("False", reason)
    assert route.forward is None
    assert route.direct_response is not None
    assert route.direct_response.status == 500


@pytest.mark.parametrize(
    "grant",
    [
        reference_grant("backend", "HTTPRoute", "shop", "Service"),
        reference_grant("backend", "HTTPRoute", "shop", "Service", "api"),
    ],
)
def test_reference_grant_allows_a_cross_namespace_backend(grant: dict[str, Any]) -> None:
    resolved, route = _route_result(backend("api", namespace="backend"), grant)
    assert resolved == ("True", "ResolvedRefs")
    assert route.forward is not None
    assert [c.cluster for c in route.forward.clusters] == ["backend/api:8080"]


@pytest.mark.parametrize(
    "grant",
    [
        reference_grant("backend", "HTTPRoute", "elsewhere", "Service"),
        reference_grant("backend", "HTTPRoute", "shop", "Service", "not-api"),
        reference_grant("backend", "Gateway", "shop", "Service"),
        reference_grant("shop", "HTTPRoute", "shop", "Service"),  # in the wrong namespace
    ],
)
def test_grant_that_does_not_name_this_route_or_service_does_not_allow(
    grant: dict[str, Any],
) -> None:
    resolved, _ = _route_result(backend("api", namespace="backend"), grant)
    assert resolved == ("False", "RefNotPermitted")


def test_backend_weights_carry_over_to_the_proxy_route() -> None:
    refs = [backend(weight=3), backend("api", port=8080, weight=1, namespace="shop")]
    _adapted, snap = run([*BASE, service("api"), http_route(rules=[rule(*refs)])])
    (gw,) = compile_snapshot(snap).gateways
    (route,) = gw.config.listeners[0].virtual_hosts[0].routes
    assert route.forward is not None
    weights = {c.cluster: c.weight for c in route.forward.clusters}
    assert weights == {"shop/web:8080": 3, "shop/api:8080": 1}
