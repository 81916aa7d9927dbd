"""`meshgate version`: this client, the operator, and every proxy version running.

The operator's version is its Deployment's `app.kubernetes.io/version` label (the chart's
appVersion) and image; a proxy's is its image, and for injected Pods the version the webhook
stamped (`meshgate.io/injected-version`). `--client` never contacts a cluster.
"""

from __future__ import annotations

import argparse
import sys
from collections import Counter
from typing import Any

from urllib3.exceptions import HTTPError

from meshgate import __version__
from meshgate.kube.credentials import CredentialsError
from meshgate.kube.rest import DEPLOYMENT, POD, KubeError

from .kubeaccess import add_kube_flags, connect
from .output import Column, add_output_flag, render, table
from .proxies import proxies

OPERATOR_SELECTOR = "app.kubernetes.io/part-of=meshgate,app.kubernetes.io/name=meshgate"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--client", action="store_true", help="only this client's version")
    add_kube_flags(parser, namespaced=False)
    add_output_flag(parser)


def run(args: argparse.Namespace) -> int:
    data: dict[str, Any] = {"client": {"version": __version__}}
    text = f"client version: {__version__}\n"
    if args.client:
        sys.stdout.write(render(data, args.output, text))
        return 0
    try:
        rest = connect(args)
        deployments = rest.list(DEPLOYMENT, args.operator_namespace, labels=OPERATOR_SELECTOR)
        pods = rest.list(POD)
    except (KubeError, CredentialsError, HTTPError, OSError) as exc:
        print(f"meshgate version: cannot read the cluster: {exc}", file=sys.stderr)
        sys.stdout.write(render(data, args.output, text))
        return 1
    operators = [
        {
            "namespace": d["metadata"]["namespace"],
            "name": d["metadata"]["name"],
            "version": (d["metadata"].get("labels") or {}).get("app.kubernetes.io/version", ""),
            "image": next(
                (c.get("image") for c in d["spec"]["template"]["spec"]["containers"]), ""
            ),
            "ready": f"{(d.get('status') or {}).get('readyReplicas', 0)}"
            f"/{d['spec'].get('replicas', 1)}",
        }
        for d in deployments
    ]
    counts = Counter((p.role, p.image, p.injected_version) for p in proxies(pods, []))
    proxy_rows = [
        {"role": role, "image": image, "injectedVersion": injected, "pods": n}
        for (role, image, injected), n in sorted(counts.items())
    ]
    data["operator"] = operators
    data["proxies"] = proxy_rows
    if operators:
        text += "".join(
            f"operator version: {o['version'] or '-'} ({o['image']}, {o['namespace']}/{o['name']}, "
            f"{o['ready']} ready)\n"
            for o in operators
        )
    else:
        text += f"operator: not found in namespace {args.operator_namespace}\n"
    text += "proxies:\n" + (
        table(
            proxy_rows,
            (
                Column("ROLE", "role"),
                Column("IMAGE", "image"),
                Column("INJECTED BY", "injectedVersion"),
                Column("PODS", "pods"),
            ),
        )
        if proxy_rows
        else "  none running\n"
    )
    sys.stdout.write(render(data, args.output, text))
    return 0
