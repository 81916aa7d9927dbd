"""Which Pods run a meshgate proxy, which config each should run, and whether it runs it."""

from __future__ import annotations

from typing import Any

from meshgate.cli.proxies import config_version, parse_labels, proxies, sync_state


def pod(name: str, labels: dict[str, str], ip: str = "10.0.0.1") -> dict[str, Any]:
    return {
        "metadata": {"namespace": "shop", "name": name, "labels": labels},
        "spec": {"containers": [{"name": "meshgate-proxy", "image": "meshproxy:1"}]},
        "status": {"podIP": ip, "phase": "Running"},
    }


def cm(name: str, version: str) -> dict[str, Any]:
    return {
        "metadata": {
            "namespace": "shop",
            "name": name,
            "annotations": {"meshgate.io/config-version": version},
        }
    }


def test_gateway_and_injected_pods_are_proxies_and_others_are_not() -> None:
    found = proxies(
        [
            pod("edge-1", {"meshgate.io/gateway": "edge"}),
            pod("web-1", {"meshgate.io/injected": "true", "app": "web"}),
            pod("plain", {"app": "plain"}),
        ],
        [cm("meshgate-gw-edge", "aaa"), cm("meshgate-mesh", "bbb")],
    )
    assert [(p.pod, p.role, p.owner, p.config_map, p.desired_version) for p in found] == [
        ("edge-1", "gateway", "edge", "meshgate-gw-edge", "aaa"),
        ("web-1", "sidecar", "web", "meshgate-mesh", "bbb"),
    ]


def test_sync_state_compares_running_with_desired() -> None:
    assert sync_state("aaa", "aaa") == "SYNCED"
    assert sync_state("aaa", "bbb") == "STALE"
    assert sync_state("", "bbb") == "NOT SENT"
    assert sync_state("aaa", None) == "UNREACHABLE"


def test_config_version_is_read_from_the_config_info_metric() -> None:
    text = (
        "# HELP meshproxy_config_info x\n"
        'meshproxy_config_info{schema="meshproxy/v1",version="0123abcd"} 1\n'
    )
    assert config_version(text) == "0123abcd"
    assert config_version("meshproxy_requests_total 3\n") is None


def test_label_values_are_unescaped() -> None:
    assert parse_labels('a="x",b="say \\"hi\\""') == {"a": "x", "b": 'say "hi"'}
