"""On the real API server, a parentRef that no listener takes gets the Gateway API's reason in
meshgate's parent entry: NoMatchingParent (no listener of that sectionName), NotAllowedByListeners
(the listener's namespace selector excludes the route), NoMatchingListenerHostname; a route that
later matches turns Accepted."""

from __future__ import annotations

from gwapi_harness import apply, gateway, http_route, service, wait_route_condition
from kubernetes.client import ApiClient
from operator_harness import OperatorProcess

SELECTED = {
    "name": "selected",
    "port": 8081,
    "protocol": "HTTP",
    "allowedRoutes": {
        "namespaces": {"from": "Selector", "selector": {"matchLabels": {"team": "blue"}}}
    },
}
NAMED = {"name": "named", "port": 8082, "protocol": "HTTP", "hostname": "shop.example.com"}


def test_refusal_reasons(
    api_client: ApiClient, namespace: str, class_name: str, gateway_api_operator: OperatorProcess
) -> None:
    ns = namespace
    apply(api_client, service(), ns)
    apply(api_client, gateway(class_name, SELECTED, NAMED), ns)
    apply(
        api_client,
        http_route("no-such-listener", parent={"name": "edge", "sectionName": "nope"}),
        ns,
    )
    apply(
        api_client,
        http_route("not-allowed", parent={"name": "edge", "sectionName": "selected"}),
        ns,
    )
    apply(
        api_client,
        http_route(
            "other-host",
            parent={"name": "edge", "sectionName": "named"},
            hostnames=["other.example.org"],
        ),
        ns,
    )
    wait_route_condition(
        api_client, ns, "no-such-listener", "Accepted", ("False", "NoMatchingParent")
    )
    wait_route_condition(
        api_client, ns, "not-allowed", "Accepted", ("False", "NotAllowedByListeners")
    )
    wait_route_condition(
        api_client, ns, "other-host", "Accepted", ("False", "NoMatchingListenerHostname")
    )

    apply(
        api_client,
        http_route(
            "other-host",
            parent={"name": "edge", "sectionName": "named"},
            hostnames=["shop.example.com"],
        ),
        ns,
    )
    wait_route_condition(api_client, ns, "other-host", "Accepted", ("True", "Accepted"))
