"""Both APIs at once, installed by the chart with `gatewayAPI.enabled`: a meshgate Gateway with
its Route and a Gateway API Gateway (class `meshgate`, created by the chart) with its HTTPRoute,
in one namespace, to one echo backend. Each gateway's proxy answers its own route's path with
its own filters and refuses the other's (404): the two APIs never mix, and both are served by
the same compiler and proxy.

Manifests: `side_by_side/` (the echo Deployment and Service, `meshgate.yaml`, `standard.yaml`).
"""

from __future__ import annotations

import json

from scenario_kit import User, request

PORT = 8080
CONVERGE_SECONDS = 15.0


def test_each_gateway_serves_its_own_route(user: User) -> None:
    user.apply("side_by_side")
    echo = user.ready_pods("app=echo", 1)[0]

    user.condition("routes.meshgate.io", "native", "Accepted")
    user.condition("gateways.meshgate.io", "native", "Programmed", timeout=60)
    standard = user.condition("gateways.gateway.networking.k8s.io", "standard", "Programmed", 60)
    route = user.get("httproutes.gateway.networking.k8s.io", "standard")
    (parent,) = route["status"]["parents"]
    assert parent["controllerName"] == "meshgate.io/gateway-controller"
    assert {c["type"]: c["status"] for c in parent["conditions"]} == {
        "Accepted": "True",
        "ResolvedRefs": "True",
    }, json.dumps(parent)
    service = user.get("services", "meshgate-gw-standard")
    assert standard["status"]["addresses"] == [
        {"type": "IPAddress", "value": service["spec"]["clusterIP"]}
    ]
    assert standard["status"]["listeners"][0]["attachedRoutes"] == 1

    native_ip = user.gateway_pods("native")[0]["status"]["podIP"]
    standard_ip = user.gateway_pods("standard")[0]["status"]["podIP"]
    for address, path, served_by, seen_path in (
        (native_ip, "/native/a", "meshgate-route", "/native/a"),
        (standard_ip, "/standard/a", "httproute", "/rewritten/a"),
    ):
        answer = user.answer_within(
            lambda a=address, p=path: request(a, PORT, p),  # type: ignore[misc]
            200,
            CONVERGE_SECONDS,
            f"{path} through its gateway",
        )
        echoed = answer.json()
        assert echoed["pod"] == echo["metadata"]["name"]
        assert echoed["headers"]["x-served-by"] == served_by
        assert echoed["path"] == seen_path

    # Neither gateway serves the other API's route.
    assert request(native_ip, PORT, "/standard/a").status == 404
    assert request(standard_ip, PORT, "/native/a").status == 404
