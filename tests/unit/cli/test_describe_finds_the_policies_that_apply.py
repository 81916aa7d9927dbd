"""`meshgate describe`: which meshgate objects apply to a workload, and their effect."""

from __future__ import annotations

from typing import Any

from meshgate.cli.applies import Workload, applying, selecting_services


def obj(kind: str, name: str, spec: dict[str, Any], ns: str = "shop") -> dict[str, Any]:
    return {"kind": kind, "metadata": {"namespace": ns, "name": name}, "spec": spec}


BODIES = {
    "Route": [
        obj(
            "Route",
            "to-reviews",
            {
                "hosts": ["reviews"],
                "rules": [
                    {"backendRefs": [{"name": "reviews", "port": 80, "subset": "v2", "weight": 5}]}
                ],
            },
        ),
        obj("Route", "elsewhere", {"rules": [{"backendRefs": [{"name": "ratings", "port": 80}]}]}),
    ],
    "DestinationRule": [
        obj("DestinationRule", "reviews", {"host": "reviews", "subsets": [{"name": "v2"}]})
    ],
    "RetryPolicy": [
        obj(
            "RetryPolicy",
            "r",
            {"targetRefs": [{"kind": "Service", "name": "reviews"}], "attempts": 3},
        )
    ],
    "PeerAuthentication": [
        obj("PeerAuthentication", "mesh", {"mtls": {"mode": "STRICT"}}, ns="meshgate-system"),
        obj("PeerAuthentication", "other-app", {"selector": {"matchLabels": {"app": "x"}}}),
    ],
    "AuthorizationPolicy": [
        obj(
            "AuthorizationPolicy",
            "allow",
            {"selector": {"matchLabels": {"app": "reviews"}}, "rules": [{}]},
        )
    ],
}


def test_a_pod_gets_what_applies_to_its_services_and_its_labels() -> None:
    services = [{"metadata": {"name": "reviews"}, "spec": {"selector": {"app": "reviews"}}}]
    labels = {"app": "reviews", "version": "v2"}
    target = Workload("pod", "shop", "reviews-1", labels, selecting_services(labels, services))
    found = {(a.kind, a.name): a.effect for a in applying(target, BODIES, "meshgate-system")}
    assert set(found) == {
        ("Route", "to-reviews"),
        ("DestinationRule", "reviews"),
        ("RetryPolicy", "r"),
        ("PeerAuthentication", "mesh"),
        ("AuthorizationPolicy", "allow"),
    }
    assert "subset v2" in found[("Route", "to-reviews")]
    assert found[("PeerAuthentication", "mesh")] == "mTLS STRICT (mesh-wide)"
    assert "up to 3 retries" in found[("RetryPolicy", "r")]


def test_a_pod_no_service_selects_gets_only_namespace_policies() -> None:
    target = Workload("pod", "shop", "lonely", {"app": "lonely"}, ())
    kinds = {a.kind for a in applying(target, BODIES, "meshgate-system")}
    assert kinds == {"PeerAuthentication"}
