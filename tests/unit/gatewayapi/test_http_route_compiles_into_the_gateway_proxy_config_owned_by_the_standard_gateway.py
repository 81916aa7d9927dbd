"""An HTTPRoute on a Gateway of meshgate's class compiles, through meshgate's own compiler, into
the gateway proxy config, Deployment and Service, owned by the standard Gateway; the Gateway
and the route report what the Gateway API asks."""

from __future__ import annotations

import pytest
from gwapi_kit import (
    condition,
    gateway,
    gateway_class,
    http_route,
    listener_status,
    parent_condition,
    run,
    service,
    status,
)

from meshgate.compile import compile_snapshot
from meshgate.render import render_gateway
from meshgate.settings import Settings

DOCS = [gateway_class(), gateway(), http_route(hostnames=["shop.example.com"]), service()]


def test_route_becomes_a_virtual_host_forwarding_to_the_service() -> None:
    _, snap = run(DOCS, addresses={"shop/edge": [("IPAddress", "10.0.0.9")]})
    (gw,) = compile_snapshot(snap).gateways
    (ln,) = gw.config.listeners
    assert ln.port == 80
    (vhost,) = ln.virtual_hosts
    assert vhost.domains == ["shop.example.com", "shop.example.com:80"]
    (route,) = vhost.routes
    assert route.source == "shop/httproute:web"
    assert route.forward is not None
    assert [c.cluster for c in route.forward.clusters] == [c.name for c in gw.config.clusters]
    assert gw.config.clusters[0].name == "shop/web:8080"


def test_generated_objects_are_owned_by_the_gateway_api_gateway() -> None:
    _, snap = run(DOCS)
    (gw,) = compile_snapshot(snap).gateways
    objects = render_gateway(gw, Settings(proxy_image="meshproxy:test"))
    assert {o["kind"] for o in objects} == {"ConfigMap", "Deployment", "Service"}
    for obj in objects:
        (owner,) = obj["metadata"]["ownerReferences"]
        assert owner["apiVersion"] == "gateway.networking.k8s.io/v1"
        assert (owner["kind"], owner["name"], owner["uid"]) == ("Gateway", "edge", "uid-edge")


def test_gateway_is_accepted_programmed_with_the_service_address() -> None:
    adapted, _ = run(DOCS, addresses={"shop/edge": [("IPAddress", "10.0.0.9")]})
    body = status(adapted, "Gateway", "edge")
    assert condition(body["conditions"], "Accepted") == ("True", "Accepted")
    assert condition(body["conditions"], "Programmed") == ("True", "Programmed")
    assert body["addresses"] == [{"type": "IPAddress", "value": "10.0.0.9"}]
    http = listener_status(body, "http")
    assert http["attachedRoutes"] == 1
    assert http["supportedKinds"] == [
        {"group": "gateway.networking.k8s.io", "kind": "HTTPRoute"},
        {"group": "gateway.networking.k8s.io", "kind": "GRPCRoute"},
    ]
    for type_, want in (
        ("Accepted", ("True", "Accepted")),
        ("ResolvedRefs", ("True", "ResolvedRefs")),
        ("Programmed", ("True", "Programmed")),
        ("Conflicted", ("False", "NoConflicts")),
    ):
        assert condition(http["conditions"], type_) == want


def test_gateway_without_an_address_yet_is_not_programmed() -> None:
    adapted, _ = run(DOCS)
    body = status(adapted, "Gateway", "edge")
    assert condition(body["conditions"], "Programmed") == ("False", "AddressNotAssigned")
    assert "addresses" not in body


def test_route_parent_entry_names_meshgate_and_echoes_the_parent_ref() -> None:
    adapted, _ = run(DOCS)
    body = status(adapted, "HTTPRoute", "web")
    (entry,) = body["parents"]
    assert entry["controllerName"] == "meshgate.io/gateway-controller"
    assert entry["parentRef"] == {
        "group": "gateway.networking.k8s.io",
        "kind": "Gateway",
        "name": "edge",
    }
    assert parent_condition(body, "Accepted") == ("True", "Accepted")
    assert parent_condition(body, "ResolvedRefs") == ("True", "ResolvedRefs")
    assert all(c["observedGeneration"] == 1 for c in entry["conditions"])


@pytest.mark.parametrize(
    "addresses",
    [
        [{"type": "IPAddress", "value": "198.19.0.99"}],
        [{"type": "Hostname"}],
        [{"type": "IPAddress"}, {"type": "IPAddress"}],
    ],
    ids=["a-value", "a-hostname-to-assign", "two-to-assign"],
)
def test_gateway_asking_for_static_addresses_is_refused_and_not_compiled(
    addresses: list[dict[str, str]],
) -> None:
    gw = gateway()
    gw["spec"]["addresses"] = addresses
    adapted, snap = run([gateway_class(), gw, http_route(), service()])
    body = status(adapted, "Gateway", "edge")
    assert condition(body["conditions"], "Accepted") == ("False", "UnsupportedAddress")
    assert condition(body["conditions"], "Programmed") == ("False", "Invalid")
    assert compile_snapshot(snap).gateways == ()


def test_gateway_asking_for_an_ip_address_without_a_value_gets_its_services_address() -> None:
    gw = gateway()
    gw["spec"]["addresses"] = [{"type": "IPAddress"}]
    adapted, snap = run(
        [gateway_class(), gw, http_route(), service()],
        addresses={"shop/edge": [("IPAddress", "10.0.0.9")]},
    )
    body = status(adapted, "Gateway", "edge")
    assert condition(body["conditions"], "Accepted") == ("True", "Accepted")
    assert body["addresses"] == [{"type": "IPAddress", "value": "10.0.0.9"}]
    assert len(compile_snapshot(snap).gateways) == 1
