"""The edge: a Gateway with one HTTP listener and a Route per API version. The gateway Pod's own
address answers `/v1/orders` from orders v1 and `/v2/orders` from orders v2, and nothing else.

Manifests: `edge_api_versions/` (Deployments and Services of both versions, the Gateway, the
Routes), applied with `kubectl apply -n <ns> -f`.
"""

from __future__ import annotations

from scenario_kit import User, request

LISTENER_PORT = 8080
# From Programmed to the gateway Pod's proxy serving the config.
CONVERGE_SECONDS = 15.0


def test_gateway_address_answers_each_version_from_its_own_deployment(user: User) -> None:
    user.apply("edge_api_versions")

    v1_pod = user.ready_pods("app=orders,version=v1", 1)[0]
    v2_pod = user.ready_pods("app=orders,version=v2", 1)[0]
    for route in ("orders-v1", "orders-v2"):
        user.condition("routes", route, "Accepted")
        user.condition("routes", route, "ResolvedRefs")
    gateway = user.condition("gateways.meshgate.io", "edge", "Programmed", timeout=60)
    address = user.gateway_pods("edge")[0]["status"]["podIP"]

    for path, pod in (("/v1/orders/42", v1_pod), ("/v2/orders?page=2", v2_pod)):
        # Programmed says the config is written; the Pod's proxy loads it a moment later.
        answer = user.answer_within(
            lambda p=path: request(address, LISTENER_PORT, p, {"host": "shop.example"}),  # type: ignore[misc]
            200,
            CONVERGE_SECONDS,
            f"the gateway serving {path}",
        )
        echoed = answer.json()
        # The version's own Pod answered, saw the path as the client sent it, in this namespace.
        assert echoed["pod"] == pod["metadata"]["name"], (path, echoed)
        assert echoed["version"] == pod["metadata"]["labels"]["version"]
        assert echoed["path"] == path
        assert echoed["namespace"] == user.namespace

    # No Route claims /v3: the gateway answers it itself, no backend sees it.
    assert request(address, LISTENER_PORT, "/v3/orders").status == 404
    assert gateway["status"]["summary"]["routes"] == 2
