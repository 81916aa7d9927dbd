"""Every MESHGATE_* variable the chart's operator Deployment sets changes what the operator does.

The chart template is the list: a variable added there without a probe here fails the first test.
Each probe runs the code the variable feeds (the sidecar the webhook injects, the gateway
Deployment, the webhook configuration, the compiled gateway config and its Secret, the CA Secret
the identity controller creates, the peering objects, kopf's arguments, the loggers) and returns
what a user would see; the variable set to a non-default value must change it.

Where a probe stops at an argument of a process (meshproxy's `--log-level`), the e2e suite shows
the process honouring it: tests/e2e/proxy/
test_proxy_log_lines_are_json_with_timestamps_at_the_chosen_level.py.
"""

from __future__ import annotations

import copy
import dataclasses
import json
import logging
import re
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import yaml

from meshgate.compile import compile_snapshot
from meshgate.gatewayapi import GROUP, adapt
from meshgate.gatewayapi.objects import objects_from_bodies
from meshgate.handlers import health, watches
from meshgate.handlers import operator as run
from meshgate.handlers.startup import (
    gateway_class_body,
    inject_settings,
    peering_objects,
    sidecar_kind,
    webhook_settings,
)
from meshgate.identity.ca_store import CaUnavailable, load_or_create_ca
from meshgate.inject import jsonpatch_ops
from meshgate.inject.patch import inject
from meshgate.inject.policy import NamespaceInfo
from meshgate.inject.webhook_config import cluster_role_owner, mutating_webhook_configuration
from meshgate.render import render_gateway, render_gateway_secrets
from meshgate.settings import Settings

REPO = Path(__file__).resolve().parents[3]
CHART = REPO / "charts" / "meshgate" / "templates"
GATEWAY_CASE = REPO / "tests" / "golden" / "compile" / "cases" / "gateway-basic-http.yaml"
CA_PEM = b"-----BEGIN CERTIFICATE-----\nMA==\n-----END CERTIFICATE-----\n"

Env = dict[str, str]
Probe = Callable[[Env], Any]


# --- what the operator produces from its settings --------------------------------------------


def _sidecar(env: Env) -> dict[str, Any]:
    """The proxy container the webhook injects into a Pod of a labelled namespace, and where."""
    settings = Settings.from_env(env)
    on_new_cluster = dataclasses.replace(inject_settings(settings), kube_minor=33)
    injector = sidecar_kind(on_new_cluster, settings.injection_native_sidecar)
    pod: dict[str, Any] = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "app", "namespace": "shop"},
        "spec": {"containers": [{"name": "app", "image": "app"}]},
    }
    shop = NamespaceInfo("shop", {"meshgate.io/inject": "enabled"})
    jsonpatch_ops.apply_in_place(pod, inject(copy.deepcopy(pod), shop, injector).ops)
    for place in ("initContainers", "containers"):
        for container in pod["spec"].get(place, []):
            if container["name"] == "meshgate-proxy":
                return {"place": place, **container}
    raise AssertionError("no proxy injected")


def _gateway(env: Env, extra: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    """A Gateway compiled and rendered: its proxy container, config and generated Secret."""
    from compile.golden_cases import snapshot  # tests/unit is on sys.path

    settings = Settings.from_env(env)
    docs = [d for d in yaml.safe_load_all(GATEWAY_CASE.read_text()) if d] + (extra or [])
    snap = snapshot(docs)
    snap = dataclasses.replace(
        snap,
        settings=dataclasses.replace(snap.settings, default_redis_url=settings.ratelimit_redis_url),
    )
    result = compile_snapshot(snap)
    (gw,) = result.gateways
    deployment = next(o for o in render_gateway(gw, settings) if o["kind"] == "Deployment")
    secrets = render_gateway_secrets(gw)
    return {
        "container": deployment["spec"]["template"]["spec"]["containers"][0],
        "config": json.loads(gw.config_json),
        "secret_files": dict(gw.edge_files),
        "secrets": [s["metadata"]["name"] for s in secrets],
        "status": {s.kind: s for s in result.statuses},
    }


def _webhook_configuration(env: Env) -> dict[str, Any]:
    hook = webhook_settings(Settings.from_env(env))
    if hook.owner_cluster_role:  # configure_admission reads the uid from the API server
        hook = dataclasses.replace(hook, owner=cluster_role_owner(hook.owner_cluster_role, "u1"))
    return mutating_webhook_configuration(hook, CA_PEM)


class _NoCaYet:
    """The API server as the identity controller meets it on a fresh cluster: no CA Secret."""

    def __init__(self) -> None:
        self.created: list[dict[str, Any]] = []

    def read(self, kind: Any, namespace: str, name: str) -> None:
        return None

    def create(self, kind: Any, namespace: str, body: dict[str, Any]) -> dict[str, Any]:
        self.created.append(body)
        return body


def _ca_secret_on_a_fresh_cluster(env: Env) -> str:
    settings = Settings.from_env(env)
    identity = settings.identity
    kube = _NoCaYet()
    try:
        load_or_create_ca(
            kube,  # type: ignore[arg-type]
            namespace=settings.operator_namespace,
            name=identity.ca_secret,
            supplied=identity.ca_supplied,
            trust_domain=settings.trust_domain,
            now=datetime(2026, 1, 1, tzinfo=UTC),
        )
    except CaUnavailable as exc:
        return f"refused: {exc}"
    (body,) = kube.created
    return f"created {body['metadata']['namespace']}/{body['metadata']['name']}"


@pytest.fixture
def _restore_logging() -> Iterator[None]:
    root = logging.getLogger()
    saved = (root.handlers[:], root.level, logging.getLogger("meshgate").level)
    try:
        yield
    finally:
        root.handlers[:], root.level = saved[0], saved[1]
        logging.getLogger("meshgate").setLevel(saved[2])
        logging.getLogger("kopf.objects").setLevel(logging.NOTSET)


def _operator_writes_debug_lines(env: Env) -> bool:
    run.configure_logging(Settings.from_env(env), verbose=False)
    return logging.getLogger("meshgate.reconcile").isEnabledFor(logging.DEBUG)


def _kopf_scope(env: Env) -> dict[str, Any]:
    args = run.kopf_run_arguments(Settings.from_env(env))
    args["priority"] = args["priority"] is not None  # random per replica
    return args


def _gateway_api_replicas(env: Env) -> list[int | None]:
    """Replicas of the proxy a standard Gateway API Gateway becomes."""
    from compile.golden_cases import CHART_GATEWAY_CLASS, snapshot

    gateway = {
        "apiVersion": f"{GROUP}/v1",
        "kind": "Gateway",
        "metadata": {"name": "std", "namespace": "shop", "generation": 1},
        "spec": {
            "gatewayClassName": "meshgate",
            "listeners": [{"name": "http", "port": 8080, "protocol": "HTTP"}],
        },
    }
    adapted = adapt(
        objects_from_bodies([CHART_GATEWAY_CLASS, gateway]),
        snapshot([]),
        replicas=Settings.from_env(env).gateway_api_replicas,
    )
    return [g.spec.replicas if g.spec else None for g in adapted.gateways]


GLOBAL_LIMIT_WITHOUT_REDIS = {
    "apiVersion": "meshgate.io/v1alpha1",
    "kind": "RateLimitPolicy",
    "metadata": {"name": "shared", "namespace": "shop"},
    "spec": {
        "targetRefs": [{"kind": "Gateway", "name": "edge"}],
        "mode": "Global",
        "rules": [{"name": "per-ip", "key": "ClientIP", "requests": 5, "per": "Second"}],
    },
}


def _global_limit(env: Env) -> dict[str, Any]:
    gw = _gateway(env, [copy.deepcopy(GLOBAL_LIMIT_WITHOUT_REDIS)])
    status = gw["status"]["RateLimitPolicy"]
    return {
        "limits": gw["config"].get("rateLimits"),
        "files": gw["secret_files"],
        "conditions": [(c.type, c.status, c.message) for c in status.conditions],
    }


def _watches(env: Env) -> list[str]:
    """What the operator watches, every controller the chart allows served."""
    settings = Settings.from_env(env)
    served = run.serve(settings, None, run.served_controllers(settings))  # type: ignore[arg-type]
    return [w.id for w in watches.watches(run.watched(served))]


def _config_server_env(env: Env) -> tuple[list[dict[str, str]], list[dict[str, str]]]:
    """Where the injected sidecar and a gateway's proxies stream their config from, and the
    identity they expect there."""
    pushed = ("MESHGATE_CONFIG_SERVER", "MESHGATE_CONFIG_SERVER_ID", "MESHGATE_CONFIG_TARGET")
    sidecar = [e for e in _sidecar(env)["env"] if e["name"] in pushed]
    gateway = [e for e in _gateway(env)["container"].get("env", []) if e["name"] in pushed]
    return sidecar, gateway


# variable -> (a non-default value, the probe that must see it)
PROBES: dict[str, tuple[str, Probe]] = {
    "MESHGATE_CA_SECRET": ("corp-ca", _ca_secret_on_a_fresh_cluster),
    "MESHGATE_CA_SOURCE": ("existing", _ca_secret_on_a_fresh_cluster),
    "MESHGATE_GATEWAY_API": ("true", lambda env: _watches(env)),
    "MESHGATE_GATEWAY_API_REPLICAS": ("1", _gateway_api_replicas),
    "MESHGATE_GATEWAY_CLASS": (
        "meshgate",
        lambda env: gateway_class_body(Settings.from_env({**env, "MESHGATE_GATEWAY_API": "true"})),
    ),
    "MESHGATE_IMAGE_PULL_POLICY": (
        "Always",
        lambda env: (
            _sidecar(env)["imagePullPolicy"],
            _gateway(env)["container"]["imagePullPolicy"],
        ),
    ),
    "MESHGATE_INJECTION_ENABLED": (
        "false",
        lambda env: (run.served_controllers(Settings.from_env(env)), _watches(env)),
    ),
    "MESHGATE_INJECTION_FAILURE_POLICY": (
        "Ignore",
        lambda env: [w["failurePolicy"] for w in _webhook_configuration(env)["webhooks"]],
    ),
    "MESHGATE_INJECTION_NATIVE_SIDECAR": ("false", lambda env: _sidecar(env)["place"]),
    "MESHGATE_LOG_LEVEL": ("debug", _operator_writes_debug_lines),
    "MESHGATE_METRICS_PORT": ("19080", lambda env: health.address(Settings.from_env(env))),
    "MESHGATE_OPERATOR_NAMESPACE": (
        "mesh-ops",
        lambda env: (_webhook_configuration(env)["webhooks"], _ca_secret_on_a_fresh_cluster(env)),
    ),
    "MESHGATE_OWNER_CLUSTER_ROLE": (
        "meshgate-cluster",
        lambda env: _webhook_configuration(env)["metadata"].get("ownerReferences"),
    ),
    "MESHGATE_PEERING": ("true", lambda env: peering_objects(Settings.from_env(env))),
    "MESHGATE_PEERING_NAME": (
        "mg",
        lambda env: (
            peering_objects(Settings.from_env({**env, "MESHGATE_PEERING": "true"})),
            _kopf_scope({**env, "MESHGATE_PEERING": "true"}),
        ),
    ),
    "MESHGATE_PUSH_ADDRESS": ("198.19.250.12:15012", lambda env: _config_server_env(env)),
    "MESHGATE_PUSH_PORT": ("0", lambda env: _config_server_env(env)),
    "MESHGATE_PROXY_CPU_REQUEST": (
        "75m",
        lambda env: (_sidecar(env)["resources"], _gateway(env)["container"]["resources"]),
    ),
    "MESHGATE_PROXY_IMAGE": (
        "meshproxy:dev",
        lambda env: (_sidecar(env)["image"], _gateway(env)["container"]["image"]),
    ),
    "MESHGATE_PROXY_LOG_LEVEL": (
        "warning",
        lambda env: (_sidecar(env)["args"], _gateway(env)["container"]["args"]),
    ),
    "MESHGATE_PROXY_MEMORY_LIMIT": ("1Gi", lambda env: _sidecar(env)["resources"]),
    "MESHGATE_PROXY_MEMORY_REQUEST": ("96Mi", lambda env: _sidecar(env)["resources"]),
    "MESHGATE_PROXY_RESOURCES": (
        '{"requests": {"cpu": "33m"}}',
        lambda env: _sidecar(env)["resources"],
    ),
    "MESHGATE_RATELIMIT_REDIS_URL": ("redis://:pw@redis.infra:6379/0", _global_limit),
    "MESHGATE_SERVICE_ACCOUNT": ("mg", lambda env: _config_server_env(env)),
    "MESHGATE_TRUST_DOMAIN": (
        "example.org",
        lambda env: (_sidecar(env)["env"], _gateway(env)["config"].get("identity")),
    ),
    "MESHGATE_WATCH_NAMESPACES": ("shop,web", _kopf_scope),
    "MESHGATE_WEBHOOK_LISTEN_ADDR": (
        "10.0.0.7",
        lambda env: webhook_settings(Settings.from_env(env)).listen_addr,
    ),
    "MESHGATE_WEBHOOK_PORT": (
        "9444",
        lambda env: webhook_settings(Settings.from_env(env)).listen_port,
    ),
    "MESHGATE_WEBHOOK_SERVICE": (
        "mg-webhook",
        lambda env: [w["clientConfig"] for w in _webhook_configuration(env)["webhooks"]],
    ),
}


def _chart_variables() -> set[str]:
    text = "\n".join(p.read_text() for p in CHART.glob("*.yaml"))
    return set(re.findall(r"name: (MESHGATE_[A-Z_]+)", text))


def test_every_variable_the_chart_sets_has_a_probe() -> None:
    assert _chart_variables() == set(PROBES)


@pytest.mark.usefixtures("_restore_logging")
@pytest.mark.parametrize("name", sorted(PROBES))
def test_chart_variable_changes_what_the_operator_does(name: str) -> None:
    value, probe = PROBES[name]
    assert probe({name: value}) != probe({})


def test_chart_config_server_reaches_every_proxy_with_the_identity_to_expect() -> None:
    env = {"MESHGATE_PUSH_ADDRESS": "198.19.250.12:15012", "MESHGATE_OPERATOR_NAMESPACE": "ops",
           "MESHGATE_SERVICE_ACCOUNT": "mg"}  # fmt: skip
    sidecar, gateway = _config_server_env(env)
    expected = [
        {"name": "MESHGATE_CONFIG_SERVER", "value": "198.19.250.12:15012"},
        {"name": "MESHGATE_CONFIG_SERVER_ID", "value": "spiffe://cluster.local/ns/ops/sa/mg"},
    ]
    assert sidecar == expected
    assert gateway == [*expected, {"name": "MESHGATE_CONFIG_TARGET", "value": "gateway/shop/edge"}]
    assert _config_server_env({"MESHGATE_PUSH_PORT": "0"}) == ([], [])


def test_chart_proxy_log_level_reaches_every_proxy_as_its_argument() -> None:
    env = {"MESHGATE_PROXY_LOG_LEVEL": "warning"}
    for args in (_sidecar(env)["args"], _gateway(env)["container"]["args"]):
        assert args[args.index("--log-level") + 1] == "warning"


def test_a_bad_proxy_log_level_stops_the_operator_with_the_variable_named() -> None:
    with pytest.raises(ValueError, match="MESHGATE_PROXY_LOG_LEVEL must be one of"):
        Settings.from_env({"MESHGATE_PROXY_LOG_LEVEL": "loud"})


def test_chart_redis_url_serves_global_limits_through_the_generated_secret_only() -> None:
    url = "redis://:pw@redis.infra:6379/0"
    served = _global_limit({"MESHGATE_RATELIMIT_REDIS_URL": url})
    (limit,) = served["limits"]
    assert limit["mode"] == "Global"
    assert limit["redisUrlFile"] == "/etc/meshgate/edge/redis.operator.url"
    assert served["files"]["redis.operator.url"] == url
    assert [c[:2] for c in served["conditions"]] == [("Accepted", "True"), ("ResolvedRefs", "True")]
    assert url not in json.dumps(_gateway({"MESHGATE_RATELIMIT_REDIS_URL": url})["config"])
    # Without it, the policy says what to set instead of silently limiting nothing.
    unset = _global_limit({})
    assert not unset["limits"]
    assert ("ResolvedRefs", "False") in [c[:2] for c in unset["conditions"]]
    assert any("rateLimit.redisUrl" in c[2] for c in unset["conditions"])


def test_chart_ca_source_existing_refuses_to_invent_a_ca() -> None:
    outcome = _ca_secret_on_a_fresh_cluster(
        {"MESHGATE_CA_SOURCE": "existing", "MESHGATE_CA_SECRET": "corp-ca"}
    )
    assert outcome.startswith("refused: CA Secret meshgate-system/corp-ca")


def test_old_names_stay_aliases() -> None:
    s = Settings.from_env(
        {
            "MESHGATE_NAMESPACE": "ops",
            "MESHGATE_HEALTH_PORT": "8081",
            "MESHGATE_WEBHOOK_FAILURE_POLICY": "Ignore",
        }
    )
    assert (s.operator_namespace, s.metrics_port, s.injection_failure_policy) == (
        "ops",
        8081,
        "Ignore",
    )


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


def test_peering_object_is_cluster_wide_or_one_per_watched_namespace() -> None:
    assert peering_objects(Settings.from_env({})) == []
    (cluster,) = peering_objects(Settings.from_env({"MESHGATE_PEERING": "true"}))
    assert (cluster[0].kind, cluster[2]["metadata"]["name"]) == ("ClusterKopfPeering", "meshgate")
    per_ns = peering_objects(
        Settings.from_env({"MESHGATE_PEERING": "true", "MESHGATE_WATCH_NAMESPACES": "a,b"})
    )
    assert [(k.kind, ns) for k, ns, _ in per_ns] == [("KopfPeering", "a"), ("KopfPeering", "b")]


def test_native_sidecar_false_injects_a_plain_container_on_a_new_cluster() -> None:
    assert _sidecar({})["place"] == "initContainers"
    assert _sidecar({"MESHGATE_INJECTION_NATIVE_SIDECAR": "false"})["place"] == "containers"
