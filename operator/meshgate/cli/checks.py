"""The verdicts of `meshgate check`: each takes what was read from the cluster and says ok,
warning or error, with what to do about it. Pure: no clock (now is passed in), no I/O.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from typing import Any, Literal

from cryptography import x509

from meshgate.inject.names import NATIVE_SIDECAR_MINOR, PROXY_CONTAINER
from meshgate.ownership import COMPONENT_LABEL
from meshgate.settings import CA_WARNING, WORKLOAD_WARNING_FRACTION

Verdict = Literal["ok", "warning", "error", "skipped"]


@dataclass(frozen=True)
class Check:
    name: str
    verdict: Verdict
    message: str
    fix: str = ""

    def row(self) -> dict[str, str]:
        return asdict(self)


def kube_version(version: Mapping[str, Any]) -> Check:
    major = str(version.get("major", "")).rstrip("+")
    minor_text = str(version.get("minor", "")).rstrip("+")
    git = str(version.get("gitVersion") or f"v{major}.{minor_text}")
    try:
        minor = int(minor_text)
    except ValueError:
        return Check("kubernetes version", "warning", f"cannot read the version ({git})")
    if major == "1" and minor >= NATIVE_SIDECAR_MINOR:
        return Check("kubernetes version", "ok", f"{git}: native sidecars available")
    return Check(
        "kubernetes version",
        "warning",
        f"{git}: older than 1.{NATIVE_SIDECAR_MINOR}, sidecars are injected as plain containers "
        "(they may stop before the app and miss its last requests)",
        f"upgrade to Kubernetes 1.{NATIVE_SIDECAR_MINOR} or newer",
    )


def crds(
    installed: Mapping[str, Mapping[str, Any] | None], expected: Mapping[str, Mapping[str, Any]]
) -> list[Check]:
    """One check per meshgate CRD: present, established, and the schema this version ships."""
    out = []
    for name in sorted(expected):
        body = installed.get(name)
        if body is None:
            out.append(
                Check(
                    f"CRD {name}",
                    "error",
                    "not installed",
                    "install meshgate's CRDs: helm upgrade --install meshgate charts/meshgate "
                    "(crds.enabled=true)",
                )
            )
            continue
        conds = {
            c.get("type"): c.get("status")
            for c in (body.get("status") or {}).get("conditions") or []
        }
        if conds.get("Established") != "True":
            out.append(
                Check(
                    f"CRD {name}",
                    "error",
                    "installed but not Established",
                    "see kubectl describe crd " + name,
                )
            )
        elif _schema(body) != _schema(expected[name]):
            out.append(
                Check(
                    f"CRD {name}",
                    "error",
                    "installed, but its schema differs from this meshgate version's",
                    "upgrade the CRDs to the chart's: helm upgrade meshgate charts/meshgate "
                    "(Helm never upgrades a chart's crds/ folder; meshgate's template does)",
                )
            )
        else:
            out.append(Check(f"CRD {name}", "ok", "installed, established, schema current"))
    return out


def _schema(crd: Mapping[str, Any]) -> str:
    versions = (crd.get("spec") or {}).get("versions") or []
    return json.dumps([(v.get("name"), v.get("schema")) for v in versions], sort_keys=True)


def webhook(config: Mapping[str, Any] | None, name: str, now: datetime) -> Check:
    """Registered, with a caBundle that parses and is valid now."""
    if config is None:
        return Check(
            "injection webhook",
            "error",
            f"MutatingWebhookConfiguration {name} not found: new Pods get no sidecar",
            "a running operator re-applies it within seconds; still missing means the operator "
            "is not running: kubectl -n meshgate-system rollout restart deployment/meshgate",
        )
    for hook in config.get("webhooks") or []:
        bundle = (hook.get("clientConfig") or {}).get("caBundle") or ""
        if not bundle:
            return Check(
                "injection webhook",
                "error",
                f"webhook {hook.get('name')} has no caBundle: the API server cannot trust it",
                "restart the operator; it writes the caBundle at start-up",
            )
        try:
            import base64

            cert = x509.load_pem_x509_certificate(base64.b64decode(bundle))
        except ValueError:
            return Check(
                "injection webhook",
                "error",
                f"webhook {hook.get('name')}: caBundle is not a PEM certificate",
                "restart the operator; it rewrites the caBundle at start-up",
            )
        if cert.not_valid_after_utc <= now:
            return Check(
                "injection webhook",
                "error",
                f"webhook {hook.get('name')}: caBundle expired {cert.not_valid_after_utc:%Y-%m-%d}",
                "restart the operator to issue a new serving certificate",
            )
    return Check("injection webhook", "ok", f"{name} registered, caBundle valid")


def dry_run_injected(pod: Mapping[str, Any] | None, namespace: str, error: str = "") -> Check:
    """The Pod a server-side dry run created: it carries the sidecar when the webhook answers."""
    if not namespace:
        return Check(
            "webhook answers",
            "skipped",
            "no namespace is labelled meshgate.io/inject=enabled, nothing to try it on",
            "kubectl label namespace NAME meshgate.io/inject=enabled",
        )
    if pod is None:
        return Check(
            "webhook answers",
            "error",
            f"a dry-run Pod in {namespace} was refused: {error}",
            "check the operator's logs and that the API server can reach the webhook",
        )
    spec = pod.get("spec") or {}
    names = [
        c.get("name")
        for c in [*(spec.get("initContainers") or []), *(spec.get("containers") or [])]
    ]
    if PROXY_CONTAINER in names:
        return Check("webhook answers", "ok", f"a dry-run Pod in {namespace} came back injected")
    return Check(
        "webhook answers",
        "error",
        f"a dry-run Pod in {namespace} came back without the sidecar: the webhook did not answer "
        "(with failurePolicy Ignore the API server skips it silently)",
        "check the operator is Ready and the API server reaches its webhook Service or URL",
    )


def certificates(secrets: Sequence[Mapping[str, Any]], now: datetime) -> list[Check]:
    """The CA and workload certificates, by the `meshgate.io/not-before` and `not-after` the
    operator stamps on each Secret: read from metadata alone, so `check` never reads key material.
    Warnings follow the operator's own rules: the CA within 30 days of its end; a workload
    certificate (renewed at 2/3 of its life) with less than a sixth of its life left."""
    out = []
    # The workload certificate nearest its warning point: (time left past the margin, ...).
    soonest: tuple[timedelta, datetime, timedelta, str] | None = None
    count = 0
    for secret in secrets:
        meta = secret.get("metadata") or {}
        component = (meta.get("labels") or {}).get(COMPONENT_LABEL)
        annotations = meta.get("annotations") or {}
        not_after = _when(annotations.get("meshgate.io/not-after"))
        not_before = _when(annotations.get("meshgate.io/not-before"))
        key = f"{meta.get('namespace')}/{meta.get('name')}"
        if component == "ca":
            fix = "rotate the CA (docs/security.md)"
            out.append(_expiry("mesh CA", key, not_after, now, CA_WARNING, fix))
        elif component == "identity" and not_after is not None:
            count += 1
            life = (not_after - not_before) if not_before else timedelta(hours=24)
            margin = life / WORKLOAD_WARNING_FRACTION
            slack = not_after - now - margin
            if soonest is None or slack < soonest[0]:
                soonest = (slack, not_after, margin, key)
    if soonest is not None:
        _, not_after, margin, key = soonest
        fix = (
            "the operator renews workload certificates at 2/3 of their life: check it is "
            "running and its logs for issuing errors"
        )
        check = _expiry("workload certificates", key, not_after, now, margin, fix)
        if check.verdict == "ok":
            check = Check(
                check.name,
                "ok",
                f"{count} certificate(s), renewed in time; the soonest to end ({key}) ends "
                f"{not_after:%Y-%m-%d %H:%M} UTC",
            )
        out.append(check)
    elif not out:
        out.append(Check("certificates", "skipped", "no meshgate CA or workload certificate found"))
    return out


def _when(text: object) -> datetime | None:
    try:
        return datetime.fromisoformat(str(text).replace("Z", "+00:00")) if text else None
    except ValueError:
        return None


def _expiry(
    name: str, key: str, not_after: datetime | None, now: datetime, warn: timedelta, fix: str
) -> Check:
    if not_after is None:
        return Check(name, "warning", f"{key}: no meshgate.io/not-after annotation, expiry unknown")
    left = not_after - now
    when = f"{not_after:%Y-%m-%d %H:%M} UTC"
    if left <= timedelta(0):
        return Check(name, "error", f"{key} expired {when}", fix)
    if left < warn:
        minutes = int(left.total_seconds() // 60)
        return Check(
            name, "warning", f"{key} expires in {minutes // 60}h{minutes % 60:02d}m ({when})", fix
        )
    return Check(name, "ok", f"{key} valid until {when}")


def operator(deployments: Sequence[Mapping[str, Any]], namespace: str) -> Check:
    if not deployments:
        return Check(
            "operator",
            "error",
            f"no meshgate operator Deployment in {namespace}",
            "helm install meshgate charts/meshgate -n " + namespace,
        )
    d = deployments[0]
    want = (d.get("spec") or {}).get("replicas", 1)
    ready = (d.get("status") or {}).get("readyReplicas", 0) or 0
    if ready < 1:
        return Check(
            "operator",
            "error",
            f"{namespace}/{d['metadata']['name']}: 0/{want} ready",
            f"kubectl -n {namespace} describe deployment {d['metadata']['name']}",
        )
    return Check("operator", "ok", f"{namespace}/{d['metadata']['name']}: {ready}/{want} ready")


def rate_limit_backends(policies: Sequence[Mapping[str, Any]]) -> Check:
    """Global RateLimitPolicies need Redis: the operator resolves each one's URL (status)."""
    glob = [p for p in policies if (p.get("spec") or {}).get("mode") == "Global"]
    if not glob:
        return Check("redis for global limits", "skipped", "no RateLimitPolicy in mode Global")
    bad = []
    for p in glob:
        for cond in (p.get("status") or {}).get("conditions") or []:
            if cond.get("type") in ("Accepted", "ResolvedRefs") and cond.get("status") == "False":
                bad.append(
                    f"{p['metadata']['namespace']}/{p['metadata']['name']}: {cond.get('message')}"
                )
                break
    if bad:
        return Check(
            "redis for global limits",
            "error",
            "; ".join(bad),
            "create the Secret with the Redis URL the policy names, "
            "or set ratelimit.redisUrl in the chart",
        )
    return Check(
        "redis for global limits", "ok", f"{len(glob)} global policy(ies) have a Redis URL"
    )


def proxies_in_step(rows: Sequence[Mapping[str, Any]]) -> Check:
    if not rows:
        return Check("proxies", "skipped", "no meshgate proxy running")
    behind = [f"{r['namespace']}/{r['pod']} {r['status']}" for r in rows if r["status"] != "SYNCED"]
    if behind:
        return Check(
            "proxies",
            "error",
            f"{len(rows) - len(behind)}/{len(rows)} on their current config; " + ", ".join(behind),
            "meshgate proxy-status shows each; a proxy that stays STALE cannot read its ConfigMap",
        )
    return Check("proxies", "ok", f"{len(rows)}/{len(rows)} on their current config")
