"""What STRICT means for NetworkPolicies, independent of golden files."""

from __future__ import annotations

from typing import Any

from meshgate.identity.network_policy import strict_network_policies


def _pa(ns: str, mode: str, labels: dict[str, str] | None = None) -> dict[str, Any]:
    spec: dict[str, Any] = {"mtls": {"mode": mode}}
    if labels:
        spec["selector"] = {"matchLabels": labels}
    return {"metadata": {"name": "p", "namespace": ns}, "spec": spec}


def _policies(*pas: dict[str, Any], meshed: tuple[str, ...] = ("shop",)) -> list[Any]:
    return strict_network_policies(pas, operator_namespace="mesh-ops", meshed_namespaces=meshed)


def test_strict_namespace_gets_an_ingress_policy_for_its_meshed_pods_on_proxy_ports_only() -> None:
    [policy] = _policies(_pa("shop", "STRICT"))
    assert policy["metadata"]["name"] == "meshgate-strict-namespace"
    assert policy["metadata"]["labels"]["app.kubernetes.io/managed-by"] == "meshgate"
    spec = policy["spec"]
    assert spec["podSelector"] == {"matchLabels": {"meshgate.io/injected": "true"}}
    assert spec["policyTypes"] == ["Ingress"]
    assert spec["ingress"] == [
        {"ports": [{"protocol": "TCP", "port": 15006}, {"protocol": "TCP", "port": 15090}]}
    ]


def test_permissive_and_disable_generate_nothing() -> None:
    assert _policies(_pa("shop", "PERMISSIVE")) == []
    assert _policies(_pa("shop", "DISABLE")) == []
    assert _policies() == []


def test_mesh_wide_strict_covers_every_meshed_namespace_and_no_other() -> None:
    got = _policies(_pa("mesh-ops", "STRICT"), meshed=("a", "b"))
    assert [(p["metadata"]["namespace"], p["metadata"]["name"]) for p in got] == [
        ("a", "meshgate-strict-namespace"),
        ("b", "meshgate-strict-namespace"),
    ]


def test_workload_strict_selects_only_that_workload() -> None:
    [policy] = _policies(_pa("shop", "STRICT", {"app": "vault"}))
    assert policy["spec"]["podSelector"] == {
        "matchLabels": {"app": "vault", "meshgate.io/injected": "true"}
    }


def test_permissive_workload_in_strict_namespace_is_excluded_not_opened() -> None:
    got = _policies(_pa("shop", "STRICT"), _pa("shop", "PERMISSIVE", {"app": "legacy"}))
    [policy] = got
    assert policy["spec"]["podSelector"]["matchExpressions"] == [
        {"key": "app", "operator": "NotIn", "values": ["legacy"]}
    ]
    # No policy opens any other port for anyone.
    assert all(p["spec"]["ingress"][0]["ports"][0]["port"] == 15006 for p in got)
