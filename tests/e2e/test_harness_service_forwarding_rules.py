"""The agent's kube-proxy turns Services and EndpointSlices into DNAT rules: each TCP port of a
ClusterIP (or load-balancer IP) inside 198.18.0.0/15 to the ready endpoints of the matching port
name; nothing for an address outside that range, an unready endpoint or UDP."""

from __future__ import annotations

from typing import Any

from harness.kubeproxy import local_cidrs
from harness.services import Forward, forwards, ruleset


def _service(name: str, ip: str, ports: list[dict[str, Any]], lb: str = "") -> dict[str, Any]:
    body: dict[str, Any] = {
        "metadata": {"namespace": "ns", "name": name},
        "spec": {"clusterIP": ip, "clusterIPs": [ip], "ports": ports},
    }
    if lb:
        body["status"] = {"loadBalancer": {"ingress": [{"ip": lb}]}}
    return body


def _slice(service: str, ports: list[dict[str, Any]], endpoints: list[Any]) -> dict[str, Any]:
    return {
        "metadata": {"namespace": "ns", "labels": {"kubernetes.io/service-name": service}},
        "addressType": "IPv4",
        "ports": ports,
        "endpoints": [
            {"addresses": [ip], "conditions": {"ready": ready}} for ip, ready in endpoints
        ],
    }


def test_each_port_forwards_to_the_ready_endpoints_of_its_name() -> None:
    svc = _service(
        "web",
        "198.19.0.10",
        [
            {"name": "http", "port": 8080, "targetPort": 3000},
            {"name": "h2c", "port": 8081, "targetPort": 3001},
        ],
    )
    eps = _slice(
        "web",
        [{"name": "http", "port": 3000}, {"name": "h2c", "port": 3001}],
        [("198.18.0.5", True), ("198.18.0.6", None), ("198.18.0.7", False)],
    )

    assert forwards([svc], [eps]) == [
        Forward("198.19.0.10", 8080, (("198.18.0.5", 3000), ("198.18.0.6", 3000))),
        Forward("198.19.0.10", 8081, (("198.18.0.5", 3001), ("198.18.0.6", 3001))),
    ]


def test_addresses_outside_the_test_range_and_udp_ports_are_never_forwarded() -> None:
    outside = _service("old", "10.0.0.10", [{"name": "http", "port": 80}])
    udp = _service("dns", "198.19.0.53", [{"name": "dns", "port": 53, "protocol": "UDP"}])
    slices = [
        _slice("old", [{"name": "http", "port": 80}], [("198.18.0.5", True)]),
        _slice("dns", [{"name": "dns", "port": 53, "protocol": "UDP"}], [("198.18.0.5", True)]),
    ]

    assert forwards([outside, udp], slices) == []


def test_load_balancer_ingress_ip_is_forwarded_like_the_cluster_ip() -> None:
    svc = _service("gw", "198.19.0.20", [{"name": "http", "port": 80}], lb="198.19.255.1")
    eps = _slice("gw", [{"name": "http", "port": 80}], [("198.18.0.9", True)])

    assert [f.address for f in forwards([svc], [eps])] == ["198.19.0.20", "198.19.255.1"]


def test_ruleset_replaces_the_table_and_picks_an_endpoint_at_random() -> None:
    script = ruleset(
        [
            Forward("198.19.0.10", 80, (("198.18.0.5", 3000),)),
            Forward("198.19.0.11", 80, (("198.18.0.5", 3000), ("198.18.0.6", 3000))),
        ]
    )

    assert script.startswith("add table ip meshgate_services\ndelete table ip meshgate_services\n")
    assert "ip daddr 198.19.0.10 tcp dport 80 dnat to 198.18.0.5:3000\n" in script
    assert (
        "ip daddr 198.19.0.11 tcp dport 80 dnat to numgen random mod 2 "
        "map { 0 : 198.18.0.5 . 3000, 1 : 198.18.0.6 . 3000 }\n"
    ) in script
    assert "type nat hook output priority -100" in script
    assert "type nat hook prerouting priority -100" in script


def test_only_service_cidrs_inside_the_test_range_are_routed_locally() -> None:
    listed = [{"spec": {"cidrs": ["198.19.0.0/16", "10.0.0.0/24", "fd00:10:96::/108"]}}]

    assert local_cidrs(listed) == (["198.19.0.0/16"], ["10.0.0.0/24"])
