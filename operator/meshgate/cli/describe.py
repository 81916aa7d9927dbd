"""`meshgate describe pod|service NAME`: the meshgate objects that apply to it, and their effect.

Reads the Pod or Service, the Services around it and every meshgate object in its namespace and
the operator's; `applies` decides. Exit codes: 0 shown, 1 not found.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from meshgate.kube.rest import MESHGATE_KINDS, POD, SERVICE, KubeError

from .applies import Workload, applying, selecting_services
from .kubeaccess import add_kube_flags, connect, current_namespace
from .output import Column, add_output_flag, render, table

KINDS = ("Route", "DestinationRule", "RetryPolicy", "PeerAuthentication", "AuthorizationPolicy")
COLUMNS = (
    Column("KIND", "kind"),
    Column("NAME", "name"),
    Column("EFFECT", "effect"),
    Column("STATUS", "status"),
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("resource", choices=("pod", "service", "svc"), help="what to describe")
    parser.add_argument("name", metavar="NAME")
    add_kube_flags(parser)
    add_output_flag(parser)


def run(args: argparse.Namespace) -> int:
    rest = connect(args)
    ns = current_namespace(args)
    kind = "service" if args.resource in ("service", "svc") else "pod"
    try:
        body = rest.read(SERVICE if kind == "service" else POD, ns, args.name)
        services = rest.list(SERVICE, ns)
        bodies: dict[str, list[dict[str, Any]]] = {}
        for k in KINDS:
            items = rest.list(MESHGATE_KINDS[k], ns)
            if args.operator_namespace != ns:
                items += rest.list(MESHGATE_KINDS[k], args.operator_namespace)
            bodies[k] = [{**i, "kind": k} for i in items]
    except KubeError as exc:
        print(f"meshgate describe: {exc}", file=sys.stderr)
        return 1
    if body is None:
        print(
            f'meshgate describe: {kind} "{args.name}" not found in namespace "{ns}"',
            file=sys.stderr,
        )
        return 1
    if kind == "service":
        selector = (body.get("spec") or {}).get("selector") or {}
        target = Workload("service", ns, args.name, selector, (args.name,))
    else:
        labels = (body.get("metadata") or {}).get("labels") or {}
        target = Workload("pod", ns, args.name, labels, selecting_services(labels, services))
    found = applying(target, bodies, args.operator_namespace)
    rows = [a.row() for a in found]
    head = f"{kind} {ns}/{args.name}"
    if kind == "pod":
        head += f"\nservices: {', '.join(target.services) or '(none select it)'}"
    head += (
        f"\nlabels: {', '.join(f'{k}={v}' for k, v in sorted(target.labels.items())) or '-'}\n\n"
    )
    text = head + table(rows, COLUMNS, empty="no meshgate policy applies to it")
    data = {
        "kind": kind,
        "namespace": ns,
        "name": args.name,
        "services": list(target.services),
        "applied": rows,
    }
    sys.stdout.write(render(data, args.output, text))
    return 0
