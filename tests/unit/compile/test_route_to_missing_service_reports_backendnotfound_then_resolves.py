"""A Route to a missing Service says so in ResolvedRefs, and resolves once the Service exists."""

from __future__ import annotations

from golden_cases import documents, snapshot

from meshgate.compile import compile_snapshot


def _route_status(docs: list[dict[str, object]]) -> dict[str, tuple[str, str, str]]:
    result = compile_snapshot(snapshot(docs))
    status = next(s for s in result.statuses if s.kind == "Route")
    return {c.type: (c.status, c.reason, c.message) for c in status.conditions}


def test_missing_service_then_present() -> None:
    docs = documents("route-missing-backend-reports-backendnotfound")
    before = _route_status(docs)
    assert before["ResolvedRefs"] == (
        "False",
        "BackendNotFound",
        'service "payments" not found in namespace "shop"',
    )
    docs.append(
        {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": {"name": "payments", "namespace": "shop"},
            "spec": {"ports": [{"name": "http", "port": 8080, "targetPort": 8080}]},
        }
    )
    after = _route_status(docs)
    assert after["ResolvedRefs"][0] == "True"
    # No endpoints yet: served, but the status says why nothing answers.
    assert after["Served"][:2] == ("False", "NoReadyEndpoints")


def test_rule_with_only_missing_backends_answers_500_instead_of_falling_through() -> None:
    result = compile_snapshot(snapshot(documents("route-missing-backend-reports-backendnotfound")))
    route = result.gateways[0].config.listeners[0].virtual_hosts[0].routes[0]
    assert route.forward is None
    assert route.direct_response is not None
    assert route.direct_response.status == 500
