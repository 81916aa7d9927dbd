"""`gatewayAPI.enabled` decides what the chart renders for the Gateway API: off, nothing (no
RBAC rule, no GatewayClass, no CRD, MESHGATE_GATEWAY_API=false); on, the RBAC rules and the
operator settings, among them the GatewayClass `meshgate` the operator creates at start;
`installCRDs` adds the standard-channel CRDs of v1.5.1, unchanged but for meshgate's labels and
the keep annotation."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from chartkit import run

GROUP = "gateway.networking.k8s.io"


def _render(helm: str, chart_dir: Path, *sets: str) -> list[dict[str, Any]]:
    args = [a for s in sets for a in ("--set", s)]
    out = run([helm, "template", "m", str(chart_dir), "-n", "meshgate-system", *args])
    return [d for d in yaml.safe_load_all(out) if d]


def _rules(docs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [
        r
        for d in docs
        if d["kind"] == "ClusterRole"
        for r in d.get("rules") or []
        if GROUP in r.get("apiGroups", [])
    ]


def _env(docs: list[dict[str, Any]], name: str) -> str:
    deployment = next(d for d in docs if d["kind"] == "Deployment")
    env = deployment["spec"]["template"]["spec"]["containers"][0]["env"]
    return str(next(e["value"] for e in env if e["name"] == name))


def _gateway_api_crds(docs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [
        d for d in docs if d["kind"] == "CustomResourceDefinition" and d["spec"]["group"] == GROUP
    ]


def test_off_renders_nothing_of_the_gateway_api(helm: str, chart_dir: Path) -> None:
    docs = _render(helm, chart_dir)
    assert _rules(docs) == []
    assert not [d for d in docs if d["kind"] == "GatewayClass"]
    assert _gateway_api_crds(docs) == []
    assert _env(docs, "MESHGATE_GATEWAY_API") == "false"
    assert _env(docs, "MESHGATE_GATEWAY_CLASS") == ""


def test_on_renders_rbac_gatewayclass_and_the_setting(helm: str, chart_dir: Path) -> None:
    docs = _render(helm, chart_dir, "gatewayAPI.enabled=true", "gatewayAPI.gatewayReplicas=1")
    resources = {res for r in _rules(docs) for res in r["resources"]}
    assert {"gatewayclasses", "gateways", "httproutes", "referencegrants"} <= resources
    assert {"gatewayclasses/status", "gateways/status", "httproutes/status"} <= resources
    writes = {
        res for r in _rules(docs) if set(r["verbs"]) & {"patch", "update"} for res in r["resources"]
    }
    assert all(res.endswith("/status") for res in writes), writes
    # The operator creates the class (Helm could not map it in a release that installs its CRD).
    assert not [d for d in docs if d["kind"] == "GatewayClass"]
    assert _env(docs, "MESHGATE_GATEWAY_CLASS") == "meshgate"
    creates = {res for r in _rules(docs) if "create" in r["verbs"] for res in r["resources"]}
    assert "gatewayclasses" in creates
    assert _env(docs, "MESHGATE_GATEWAY_API") == "true"
    assert _env(docs, "MESHGATE_GATEWAY_API_REPLICAS") == "1"
    assert _gateway_api_crds(docs) == []


def test_install_crds_renders_the_standard_channel_crds(helm: str, chart_dir: Path) -> None:
    docs = _render(helm, chart_dir, "gatewayAPI.enabled=true", "gatewayAPI.installCRDs=true")
    crds = _gateway_api_crds(docs)
    names = {d["metadata"]["name"] for d in crds}
    assert {
        "gatewayclasses.gateway.networking.k8s.io",
        "gateways.gateway.networking.k8s.io",
        "httproutes.gateway.networking.k8s.io",
        "referencegrants.gateway.networking.k8s.io",
    } <= names
    for crd in crds:
        annotations = crd["metadata"]["annotations"]
        assert annotations["gateway.networking.k8s.io/bundle-version"] == "v1.5.1"
        assert annotations["gateway.networking.k8s.io/channel"] == "standard"
        assert annotations["helm.sh/resource-policy"] == "keep"
    assert not [d for d in docs if d["kind"] == "GatewayClass"]
