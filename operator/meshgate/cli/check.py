"""`meshgate check` (is meshgate healthy here?) and `meshgate check --pre` (can it be installed?).

Reads what each verdict in `checks` needs; every failure says what to do. Certificates are judged
from Secret metadata only (listed metadata-only), so no key material is ever fetched. Exit codes:
0 no errors (warnings allowed), 1 any error.
"""

from __future__ import annotations

import argparse
import sys
from datetime import UTC, datetime
from typing import Any

from meshgate.api.generate import crd
from meshgate.api.v1alpha1.registry import KINDS
from meshgate.kube.rest import (
    DEPLOYMENT,
    MESHGATE_KINDS,
    NAMESPACE,
    SECRET,
    Kind,
    KubeError,
    NotFound,
    Rest,
)
from meshgate.ownership import COMPONENT_LABEL, MANAGED_SELECTOR

from . import checks
from .checks import Check
from .kubeaccess import add_kube_flags, connect
from .output import Column, add_output_flag, render, table
from .proxy_status import statuses
from .version import OPERATOR_SELECTOR

CRD = Kind(
    "apiextensions.k8s.io",
    "v1",
    "customresourcedefinitions",
    "CustomResourceDefinition",
    namespaced=False,
)
MUTATING = Kind(
    "admissionregistration.k8s.io",
    "v1",
    "mutatingwebhookconfigurations",
    "MutatingWebhookConfiguration",
    namespaced=False,
)
CERT_SELECTOR = f"{MANAGED_SELECTOR},{COMPONENT_LABEL} in (ca,identity)"
COLUMNS = (Column("", "mark"), Column("CHECK", "name"), Column("RESULT", "message"))
MARKS = {"ok": "✔", "warning": "!", "error": "✘", "skipped": "-"}

# What `helm install` creates, which the installing user must be allowed to create.
INSTALL_VERBS = (
    ("apiextensions.k8s.io", "customresourcedefinitions"),
    ("admissionregistration.k8s.io", "mutatingwebhookconfigurations"),
    ("rbac.authorization.k8s.io", "clusterroles"),
    ("rbac.authorization.k8s.io", "clusterrolebindings"),
    ("", "namespaces"),
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--pre", action="store_true", help="before installing: can meshgate run here?"
    )
    parser.add_argument(
        "--webhook-config",
        default="meshgate-sidecar-injector",
        help="MutatingWebhookConfiguration name",
    )
    add_kube_flags(parser, namespaced=False)
    add_output_flag(parser)


def run(args: argparse.Namespace) -> int:
    rest = connect(args)
    now = datetime.now(UTC)
    try:
        results = pre_checks(rest) if args.pre else health_checks(rest, args, now)
    except KubeError as exc:
        print(f"meshgate check: cannot read the cluster: {exc}", file=sys.stderr)
        return 1
    rows = [{**c.row(), "mark": MARKS[c.verdict]} for c in results]
    text = table(rows, COLUMNS)
    text += "".join(
        f"    {c.name}: {c.fix}\n" for c in results if c.fix and c.verdict in ("error", "warning")
    )
    errors = sum(c.verdict == "error" for c in results)
    warnings = sum(c.verdict == "warning" for c in results)
    text += f"{'✘' if errors else '✔'} {errors} error(s), {warnings} warning(s)\n"
    data = {"checks": [c.row() for c in results], "errors": errors, "warnings": warnings}
    sys.stdout.write(render(data, args.output, text))
    return 1 if errors else 0


def _expected_crds() -> dict[str, dict[str, Any]]:
    return {info.crd_name: crd(info) for info in KINDS}


def pre_checks(rest: Rest) -> list[Check]:
    out = [checks.kube_version(rest._call("GET", "/version"))]
    for group, resource in INSTALL_VERBS:
        review = rest._call(
            "POST",
            "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews",
            body={
                "apiVersion": "authorization.k8s.io/v1",
                "kind": "SelfSubjectAccessReview",
                "spec": {
                    "resourceAttributes": {"verb": "create", "group": group, "resource": resource}
                },
            },
        )
        allowed = bool((review.get("status") or {}).get("allowed"))
        what = f"{resource}.{group}" if group else resource
        out.append(
            Check(f"may create {what}", "ok", "allowed")
            if allowed
            else Check(f"may create {what}", "error", "denied", "install as a cluster admin")
        )
    try:
        rest._call("GET", "/apis/admissionregistration.k8s.io/v1")
        out.append(Check("admission webhooks API", "ok", "admissionregistration.k8s.io/v1 served"))
    except NotFound:
        out.append(
            Check(
                "admission webhooks API",
                "error",
                "admissionregistration.k8s.io/v1 not served",
                "enable the MutatingAdmissionWebhook admission plugin",
            )
        )
    installed = {name: rest.read(CRD, "", name) for name in _expected_crds()}
    present = [n for n, b in installed.items() if b is not None]
    if present:
        stale = [
            c
            for c in checks.crds(installed, _expected_crds())
            if c.verdict == "error" and "differs" in c.message
        ]
        out.append(
            Check(
                "existing meshgate CRDs",
                "warning",
                f"{len(present)} already installed"
                + (f", {len(stale)} of another version" if stale else ""),
                "helm upgrade rather than install",
            )
        )
    else:
        out.append(Check("existing meshgate CRDs", "ok", "none: a clean install"))
    return out


def health_checks(rest: Rest, args: argparse.Namespace, now: datetime) -> list[Check]:
    ns = args.operator_namespace
    out = [checks.kube_version(rest._call("GET", "/version"))]
    expected = _expected_crds()
    out += checks.crds({name: rest.read(CRD, "", name) for name in expected}, expected)
    out.append(checks.operator(rest.list(DEPLOYMENT, ns, labels=OPERATOR_SELECTOR), ns))
    out.append(
        checks.webhook(rest.read(MUTATING, "", args.webhook_config), args.webhook_config, now)
    )
    out.append(_dry_run(rest))
    out += checks.certificates(
        rest.list(SECRET, None, labels=CERT_SELECTOR, metadata_only=True), now
    )
    policies = rest.list(MESHGATE_KINDS["RateLimitPolicy"])
    out.append(checks.rate_limit_backends(policies))
    out.append(checks.proxies_in_step(statuses(rest, None)))
    return out


def _dry_run(rest: Rest) -> Check:
    meshed = rest.list(NAMESPACE, labels="meshgate.io/inject=enabled")
    if not meshed:
        return checks.dry_run_injected(None, "")
    ns = meshed[0]["metadata"]["name"]
    pod = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "meshgate-check-dry-run", "labels": {"app": "meshgate-check"}},
        "spec": {"containers": [{"name": "app", "image": "meshgate.local/check:dry-run"}]},
    }
    try:
        created = rest._call(
            "POST", f"/api/v1/namespaces/{ns}/pods", query=[("dryRun", "All")], body=pod
        )
    except KubeError as exc:
        return checks.dry_run_injected(None, ns, str(exc))
    return checks.dry_run_injected(created, ns)
