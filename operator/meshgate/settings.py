"""Operator configuration, read once from the environment (the Helm chart sets these variables).

`meshgate operator` (`handlers/operator.py`) calls `Settings.from_env()` once at start-up and passes
the result down; nothing else reads the environment for settings. Pure parsing:
`Settings.from_env(environ)` takes the mapping, so tests pass a dict and nothing here reads the
process environment on import. Every variable the chart's operator Deployment sets has
a field here; older names stay accepted as aliases (the first name listed wins).
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from meshgate.certs.rotation import MIN_CHECK_INTERVAL
from meshgate.certs.workload import WORKLOAD_VALIDITY

TRUE = ("1", "true", "yes", "on")
# What `meshproxy --log-level` accepts.
PROXY_LOG_LEVELS = ("debug", "info", "warning", "error")


DEFAULT_CA_SECRET = "meshgate-ca"  # noqa: S105 - a Secret name, not a secret
# A workload certificate still unrenewed with a sixth of its life left (4 h of 24 h) means
# renewal has been failing for half of the slack the 2/3 rule leaves: worth a warning.
WORKLOAD_WARNING_FRACTION = 6
CA_WARNING = timedelta(days=30)
CA_ROTATION_OVERLAP = timedelta(minutes=10)


@dataclass(frozen=True)
class IdentitySettings:
    """What the identity controller reads: the mesh CA and workload certificates."""

    ca_secret: str = DEFAULT_CA_SECRET
    # The chart's `ca.source`: "generate" or "existing"; empty means "decide by the name".
    ca_source: str = ""
    workload_validity: timedelta = WORKLOAD_VALIDITY
    ca_warning: timedelta = CA_WARNING
    # The shortest wait between renewal checks; tests with 30 s certificates lower it.
    min_check_interval: timedelta = MIN_CHECK_INTERVAL
    # How long each step of a CA rotation waits, after every identity Secret is written, for
    # proxies to load them: longer than a kubelet's Secret sync plus the proxy's file polling.
    ca_rotation_overlap: timedelta = CA_ROTATION_OVERLAP

    @property
    def ca_supplied(self) -> bool:
        """The user's CA (e.g. cert-manager's): the operator waits for it and never writes it.
        Said by `MESHGATE_CA_SOURCE=existing`; without a source, a CA Secret under another name
        than the default is the user's. (The chart names the Secret `<release>-ca` even when
        the operator generates it.)"""
        if self.ca_source:
            return self.ca_source == "existing"
        return self.ca_secret != DEFAULT_CA_SECRET

    @property
    def workload_warning(self) -> timedelta:
        return self.workload_validity / WORKLOAD_WARNING_FRACTION

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> IdentitySettings:
        d = cls()
        supplied = env.get("MESHGATE_CA_SECRET", "").strip()
        source = env.get("MESHGATE_CA_SOURCE", "").strip()
        if source not in ("", "generate", "existing"):
            raise ValueError(f"MESHGATE_CA_SOURCE must be generate or existing, not {source!r}")
        return cls(
            ca_secret=supplied or d.ca_secret,
            ca_source=source,
            workload_validity=_seconds(
                env, "MESHGATE_IDENTITY_VALIDITY_SECONDS", d.workload_validity
            ),
            ca_warning=_seconds(env, "MESHGATE_CA_WARNING_SECONDS", d.ca_warning),
            min_check_interval=_seconds(
                env, "MESHGATE_IDENTITY_MIN_CHECK_SECONDS", d.min_check_interval
            ),
            ca_rotation_overlap=_seconds(
                env, "MESHGATE_CA_ROTATION_OVERLAP_SECONDS", d.ca_rotation_overlap
            ),
        )


@dataclass(frozen=True)
class Settings:
    # Namespaces to watch; empty means the whole cluster.
    namespaces: tuple[str, ...] = ()
    operator_namespace: str = "meshgate-system"
    # The operator Pod's own address (downward API; the local e2e runner sets it).
    pod_ip: str = ""
    log_level: str = "info"
    trust_domain: str = "cluster.local"
    cluster_domain: str = "cluster.local"
    # The mesh CA and workload certificates (MESHGATE_CA_SECRET, MESHGATE_CA_SOURCE, ...).
    identity: IdentitySettings = field(default_factory=IdentitySettings)
    proxy_image: str = "ghcr.io/meshgate/meshproxy:0.1.0"
    image_pull_policy: str = "IfNotPresent"
    proxy_log_level: str = "info"
    # The same defaults as the chart's proxy.resources and inject.settings.ProxyResources (a unit
    # test holds the three equal), so a gateway proxy and a sidecar ask for the same.
    proxy_cpu_request: str = "50m"
    proxy_memory_request: str = "64Mi"
    proxy_memory_limit: str = "256Mi"
    # A change to an idle controller runs at once; changes during a run or within this long after
    # it fold into one next run, started this long after the previous one ended. Short: a run
    # already folds what came while it ran, and a change right after one waits this long (0.15 s
    # measured slower than 0.02 s, bench/operator/REPORT.md).
    debounce_seconds: float = 0.02
    # A full reconcile at least this often, whatever the events, to repair drift.
    resync_seconds: float = 45.0
    # `/healthz` and `/metrics`.
    metrics_port: int = 9090
    # The config server proxies stream their config from (mTLS); 0: proxies follow files only.
    push_port: int = 15012
    # What proxies dial for it (`host:port`); empty: the chart's Service name in the cluster DNS.
    push_address: str = ""
    # The operator's ServiceAccount: the config server's SPIFFE ID names it.
    service_account: str = "meshgate"
    # Active/standby between replicas through kopf peering (needs kopf's peering CRDs).
    peering: bool = False
    peering_name: str = "meshgate"
    # Sidecar injection: the admission webhook the operator serves.
    injection_enabled: bool = True
    injection_failure_policy: str = "Fail"
    injection_native_sidecar: bool = True
    webhook_config_name: str = "meshgate-sidecar-injector"
    webhook_service: str = "meshgate-webhook"
    webhook_service_port: int = 443
    # Where the admission server listens; the Pod IP when known.
    webhook_listen_addr: str = "0.0.0.0"  # noqa: S104 - reached through the webhook Service
    webhook_port: int = 9443
    # Set: the API server calls this URL instead of the Service (no cluster DNS, e.g. locally).
    webhook_url: str = ""
    # The Secret (in the operator namespace) holding the webhook identity every replica serves,
    # and how often each replica re-reads it.
    webhook_tls_secret: str = "meshgate-webhook-tls"  # noqa: S105 - a Secret name, not a secret
    webhook_identity_check_seconds: float = 60.0
    # Redis for RateLimitPolicies in mode Global that name none themselves.
    ratelimit_redis_url: str = ""
    # Serve the standard Gateway API (gateway.networking.k8s.io) too; needs its CRDs.
    gateway_api: bool = False
    # Proxy replicas of each Gateway API Gateway (the standard API has no field for it).
    gateway_api_replicas: int = 2
    # The GatewayClass (controllerName meshgate.io/gateway-controller) the operator creates when
    # the Gateway API is served; empty: none (the user brings their own).
    gateway_class: str = ""
    # The chart's ClusterRole: owner of the cluster-scoped objects the operator creates, so
    # `helm uninstall` garbage-collects them. Empty: they have no owner.
    owner_cluster_role: str = ""

    @property
    def listen_address(self) -> str:
        """Where the operator's own servers bind: the Pod's address when known (several local
        Pods share one host there), every interface otherwise."""
        return self.pod_ip or "0.0.0.0"  # noqa: S104 - scraped and probed on the Pod IP

    @property
    def push_dial_address(self) -> str:
        """`host:port` proxies reach the config server at."""
        default = f"meshgate-config.{self.operator_namespace}.svc:{self.push_port}"
        return self.push_address or default

    @property
    def push_identity(self) -> str:
        """The SPIFFE ID of the config server's certificate, which proxies check."""
        return (
            f"spiffe://{self.trust_domain}/ns/{self.operator_namespace}/sa/{self.service_account}"
        )

    @property
    def admission_url(self) -> str | None:
        """The webhook's client URL, or None for a Service reference. With a Pod IP and no
        explicit URL the API server calls the Pod directly (the local runner has no Services
        routing)."""
        if self.webhook_url:
            return self.webhook_url
        if self.pod_ip:
            return f"https://{self.pod_ip}:{self.webhook_port}"
        return None

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if env is None else env
        d = cls()

        def get(default: str, *names: str) -> str:
            for name in names:
                value = env.get(f"MESHGATE_{name}", "").strip()
                if value:
                    return value
            return default

        def flag(default: bool, *names: str) -> bool:
            return get("true" if default else "false", *names).lower() in TRUE

        namespaces = tuple(
            sorted(n.strip() for n in get("", "WATCH_NAMESPACES").split(",") if n.strip())
        )
        resources = _resources(get("", "PROXY_RESOURCES"))
        pod_ip = get("", "POD_IP")
        failure_policy = get(
            d.injection_failure_policy, "INJECTION_FAILURE_POLICY", "WEBHOOK_FAILURE_POLICY"
        )
        if failure_policy not in ("Fail", "Ignore"):
            raise ValueError(
                f"MESHGATE_INJECTION_FAILURE_POLICY must be Fail or Ignore, not {failure_policy!r}"
            )
        proxy_log_level = get(d.proxy_log_level, "PROXY_LOG_LEVEL").lower()
        if proxy_log_level not in PROXY_LOG_LEVELS:
            raise ValueError(
                f"MESHGATE_PROXY_LOG_LEVEL must be one of {', '.join(PROXY_LOG_LEVELS)}, "
                f"not {proxy_log_level!r}"
            )
        return cls(
            namespaces=namespaces,
            operator_namespace=get(d.operator_namespace, "OPERATOR_NAMESPACE", "NAMESPACE"),
            pod_ip=pod_ip,
            log_level=get(d.log_level, "LOG_LEVEL").lower(),
            trust_domain=get(d.trust_domain, "TRUST_DOMAIN"),
            cluster_domain=get(d.cluster_domain, "CLUSTER_DOMAIN"),
            identity=IdentitySettings.from_env(env),
            proxy_image=get(d.proxy_image, "PROXY_IMAGE"),
            image_pull_policy=get(d.image_pull_policy, "IMAGE_PULL_POLICY"),
            proxy_log_level=proxy_log_level,
            proxy_cpu_request=get(
                resources.get(("requests", "cpu"), d.proxy_cpu_request), "PROXY_CPU_REQUEST"
            ),
            proxy_memory_request=get(
                resources.get(("requests", "memory"), d.proxy_memory_request),
                "PROXY_MEMORY_REQUEST",
            ),
            proxy_memory_limit=get(
                resources.get(("limits", "memory"), d.proxy_memory_limit), "PROXY_MEMORY_LIMIT"
            ),
            debounce_seconds=float(get(str(d.debounce_seconds), "DEBOUNCE_SECONDS")),
            resync_seconds=float(get(str(d.resync_seconds), "RESYNC_SECONDS")),
            metrics_port=int(get(str(d.metrics_port), "METRICS_PORT", "HEALTH_PORT")),
            push_port=int(get(str(d.push_port), "PUSH_PORT")),
            push_address=get("", "PUSH_ADDRESS"),
            service_account=get(d.service_account, "SERVICE_ACCOUNT"),
            peering=flag(False, "PEERING"),
            peering_name=get(d.peering_name, "PEERING_NAME"),
            injection_enabled=flag(True, "INJECTION_ENABLED"),
            injection_failure_policy=failure_policy,
            injection_native_sidecar=flag(True, "INJECTION_NATIVE_SIDECAR"),
            webhook_config_name=get(d.webhook_config_name, "WEBHOOK_CONFIG_NAME"),
            webhook_service=get(d.webhook_service, "WEBHOOK_SERVICE"),
            webhook_service_port=int(get(str(d.webhook_service_port), "WEBHOOK_SERVICE_PORT")),
            webhook_listen_addr=pod_ip or get(d.webhook_listen_addr, "WEBHOOK_LISTEN_ADDR"),
            webhook_port=int(get(str(d.webhook_port), "WEBHOOK_PORT")),
            webhook_url=get("", "WEBHOOK_URL"),
            webhook_tls_secret=get(d.webhook_tls_secret, "WEBHOOK_TLS_SECRET"),
            webhook_identity_check_seconds=float(
                get(str(d.webhook_identity_check_seconds), "WEBHOOK_IDENTITY_CHECK_SECONDS")
            ),
            ratelimit_redis_url=get("", "RATELIMIT_REDIS_URL"),
            gateway_api=flag(False, "GATEWAY_API"),
            gateway_api_replicas=int(get(str(d.gateway_api_replicas), "GATEWAY_API_REPLICAS")),
            gateway_class=get("", "GATEWAY_CLASS"),
            owner_cluster_role=get("", "OWNER_CLUSTER_ROLE"),
        )


def _resources(raw: str) -> dict[tuple[str, str], str]:
    """`{"requests": {"cpu": ..}, "limits": {"memory": ..}}` (the chart's proxy.resources)."""
    if not raw:
        return {}
    try:
        data: Any = json.loads(raw)
    except ValueError:
        raise ValueError("MESHGATE_PROXY_RESOURCES is not JSON") from None
    out: dict[tuple[str, str], str] = {}
    for kind in ("requests", "limits"):
        for resource, value in ((data or {}).get(kind) or {}).items():
            out[(kind, str(resource))] = str(value)
    return out


def _seconds(env: Mapping[str, str], name: str, default: timedelta) -> timedelta:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ValueError(f"{name}={raw!r} is not a number of seconds") from None
    if value <= 0:
        raise ValueError(f"{name} must be positive, got {raw!r}")
    return timedelta(seconds=value)
