"""Every MESHGATE_* variable the chart's operator Deployment sets is read into a setting.

The chart template is the list: a variable added there without a setting here fails the first
test, and each variable must move its own field away from the default.
"""

from __future__ import annotations

import copy
import re
from pathlib import Path
from typing import Any

import pytest

from meshgate.handlers.startup import (
    inject_settings,
    peering_objects,
    sidecar_kind,
    webhook_settings,
)
from meshgate.identity.settings import IdentitySettings
from meshgate.inject import jsonpatch_ops
from meshgate.inject.patch import inject
from meshgate.inject.policy import NamespaceInfo
from meshgate.inject.settings import InjectSettings
from meshgate.settings import Settings

CHART = Path(__file__).resolve().parents[3] / "charts" / "meshgate" / "templates"

# variable -> (value, field, expected value of the field)
CASES: dict[str, tuple[str, str, Any]] = {
    "MESHGATE_CA_SECRET": ("corp-ca", "ca_secret", "corp-ca"),
    "MESHGATE_CA_SOURCE": ("existing", "ca_source", "existing"),
    "MESHGATE_GATEWAY_API": ("true", "gateway_api", True),
    "MESHGATE_GATEWAY_API_REPLICAS": ("1", "gateway_api_replicas", 1),
    "MESHGATE_IMAGE_PULL_POLICY": ("Always", "image_pull_policy", "Always"),
    "MESHGATE_INJECTION_ENABLED": ("false", "injection_enabled", False),
    "MESHGATE_INJECTION_FAILURE_POLICY": ("Ignore", "injection_failure_policy", "Ignore"),
    "MESHGATE_INJECTION_NAMESPACE_LABEL": ("x/y", "injection_namespace_label", "x/y"),
    "MESHGATE_INJECTION_NATIVE_SIDECAR": ("false", "injection_native_sidecar", False),
    "MESHGATE_LOG_LEVEL": ("DEBUG", "log_level", "debug"),
    "MESHGATE_METRICS_PORT": ("8080", "metrics_port", 8080),
    "MESHGATE_OPERATOR_NAMESPACE": ("mesh-ops", "operator_namespace", "mesh-ops"),
    "MESHGATE_PEERING": ("true", "peering", True),
    "MESHGATE_PEERING_NAME": ("mg", "peering_name", "mg"),
    "MESHGATE_POD_NAME": ("meshgate-0", "pod_name", "meshgate-0"),
    "MESHGATE_PROXY_CPU_REQUEST": ("75m", "proxy_cpu_request", "75m"),
    "MESHGATE_PROXY_IMAGE": ("meshproxy:dev", "proxy_image", "meshproxy:dev"),
    "MESHGATE_PROXY_LOG_LEVEL": ("warning", "proxy_log_level", "warning"),
    "MESHGATE_PROXY_MEMORY_LIMIT": ("1Gi", "proxy_memory_limit", "1Gi"),
    "MESHGATE_PROXY_MEMORY_REQUEST": ("96Mi", "proxy_memory_request", "96Mi"),
    "MESHGATE_PROXY_RESOURCES": ('{"requests": {"cpu": "33m"}}', "proxy_cpu_request", "33m"),
    "MESHGATE_RATELIMIT_REDIS_URL": ("redis://r:6379/0", "ratelimit_redis_url", "redis://r:6379/0"),
    "MESHGATE_TRUST_DOMAIN": ("example.org", "trust_domain", "example.org"),
    "MESHGATE_WATCH_NAMESPACES": ("shop, web,", "namespaces", ("shop", "web")),
    "MESHGATE_WEBHOOK_FAILURE_POLICY": ("Ignore", "injection_failure_policy", "Ignore"),
    "MESHGATE_WEBHOOK_LISTEN_ADDR": ("10.0.0.7", "webhook_listen_addr", "10.0.0.7"),
    "MESHGATE_WEBHOOK_PORT": ("9444", "webhook_port", 9444),
    "MESHGATE_WEBHOOK_SERVICE": ("mg-webhook", "webhook_service", "mg-webhook"),
}


def _chart_variables() -> set[str]:
    text = "\n".join(p.read_text() for p in CHART.glob("*.yaml"))
    return set(re.findall(r"name: (MESHGATE_[A-Z_]+)", text))


def test_the_chart_sets_no_variable_the_settings_do_not_know() -> None:
    assert _chart_variables() <= set(CASES)


@pytest.mark.parametrize("name", sorted(CASES))
def test_chart_variable_moves_its_setting_off_the_default(name: str) -> None:
    value, field, expected = CASES[name]
    assert getattr(Settings(), field) != expected
    assert getattr(Settings.from_env({name: value}), field) == expected


def test_old_names_stay_aliases() -> None:
    s = Settings.from_env({"MESHGATE_NAMESPACE": "ops", "MESHGATE_HEALTH_PORT": "8081"})
    assert (s.operator_namespace, s.metrics_port) == ("ops", 8081)


def test_a_single_resource_variable_wins_over_the_json() -> None:
    s = Settings.from_env(
        {
            "MESHGATE_PROXY_RESOURCES": '{"requests": {"cpu": "33m"}, "limits": {"memory": "1Gi"}}',
            "MESHGATE_PROXY_CPU_REQUEST": "44m",
        }
    )
    assert (s.proxy_cpu_request, s.proxy_memory_limit) == ("44m", "1Gi")


def test_a_bad_failure_policy_is_refused_by_name() -> None:
    with pytest.raises(ValueError, match="MESHGATE_INJECTION_FAILURE_POLICY"):
        Settings.from_env({"MESHGATE_INJECTION_FAILURE_POLICY": "Maybe"})


def test_pod_ip_binds_the_servers_there_and_the_webhook_is_called_by_url() -> None:
    s = Settings.from_env({"MESHGATE_POD_IP": "127.0.0.9", "MESHGATE_WEBHOOK_PORT": "9443"})
    assert s.listen_address == "127.0.0.9"
    hook = webhook_settings(s)
    assert (hook.listen_addr, hook.listen_port) == ("127.0.0.9", 9443)
    assert hook.url == "https://127.0.0.9:9443"


def test_without_pod_ip_the_webhook_is_reached_through_its_service() -> None:
    s = Settings.from_env(
        {
            "MESHGATE_WEBHOOK_SERVICE": "mg-webhook",
            "MESHGATE_OPERATOR_NAMESPACE": "ops",
            "MESHGATE_INJECTION_FAILURE_POLICY": "Ignore",
        }
    )
    hook = webhook_settings(s)
    assert hook.url is None
    assert (hook.service_name, hook.operator_namespace, hook.service_port) == (
        "mg-webhook",
        "ops",
        443,
    )
    assert hook.failure_policy == "Ignore"
    assert s.listen_address == "0.0.0.0"


def test_sidecars_get_the_charts_proxy_image_resources_and_trust_domain() -> None:
    s = Settings.from_env(
        {
            "MESHGATE_PROXY_IMAGE": "meshproxy:dev",
            "MESHGATE_TRUST_DOMAIN": "example.org",
            "MESHGATE_PROXY_RESOURCES": '{"requests": {"cpu": "33m", "memory": "40Mi"}}',
        }
    )
    inject = inject_settings(s)
    assert (inject.proxy_image, inject.trust_domain) == ("meshproxy:dev", "example.org")
    assert (inject.resources.cpu_request, inject.resources.memory_request) == ("33m", "40Mi")


def test_peering_object_is_cluster_wide_or_one_per_watched_namespace() -> None:
    assert peering_objects(Settings.from_env({})) == []
    (cluster,) = peering_objects(Settings.from_env({"MESHGATE_PEERING": "true"}))
    assert (cluster[0].kind, cluster[2]["metadata"]["name"]) == ("ClusterKopfPeering", "meshgate")
    per_ns = peering_objects(
        Settings.from_env({"MESHGATE_PEERING": "true", "MESHGATE_WATCH_NAMESPACES": "a,b"})
    )
    assert [(k.kind, ns) for k, ns, _ in per_ns] == [("KopfPeering", "a"), ("KopfPeering", "b")]


def test_chart_ca_source_decides_who_owns_the_ca_whatever_its_secret_name() -> None:
    # The chart names the CA Secret `<release>-ca` in both modes.
    generated = IdentitySettings.from_env(
        {"MESHGATE_CA_SOURCE": "generate", "MESHGATE_CA_SECRET": "mesh-meshgate-ca"}
    )
    assert (generated.ca_secret, generated.ca_supplied) == ("mesh-meshgate-ca", False)
    existing = IdentitySettings.from_env(
        {"MESHGATE_CA_SOURCE": "existing", "MESHGATE_CA_SECRET": "meshgate-ca"}
    )
    assert existing.ca_supplied is True


def test_native_sidecar_false_injects_a_plain_container_on_a_new_cluster() -> None:
    pod = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "app", "namespace": "shop"},
        "spec": {"containers": [{"name": "app", "image": "app"}]},
    }
    shop = NamespaceInfo("shop", {"meshgate.io/inject": "enabled"})
    new_cluster = InjectSettings(kube_minor=33)

    def proxy_place(settings: InjectSettings) -> str:
        patched = copy.deepcopy(pod)
        jsonpatch_ops.apply_in_place(patched, inject(patched, shop, settings).ops)
        spec = patched["spec"]
        if any(c["name"] == "meshgate-proxy" for c in spec.get("initContainers", [])):
            return "initContainers"
        assert any(c["name"] == "meshgate-proxy" for c in spec["containers"])
        return "containers"

    assert proxy_place(sidecar_kind(new_cluster, True)) == "initContainers"
    assert proxy_place(sidecar_kind(new_cluster, False)) == "containers"
