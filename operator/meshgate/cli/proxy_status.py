"""`meshgate proxy-status`: every meshgate proxy, the config it runs and whether it is in step.

Desired: the content hash the operator stamped on the proxy's ConfigMap. Running: the hash the
proxy reports on its stats port (`meshproxy_config_info`), read through the API server's Pod
proxy. Exit codes: 0 every proxy in step, 1 any proxy stale, unreachable or without config.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import asdict
from typing import Any

from meshgate.kube.listing import OUTPUT_SELECTOR
from meshgate.kube.rest import CONFIG_MAP, POD, Rest

from .kubeaccess import add_kube_flags, connect
from .output import Column, add_output_flag, render, table
from .proxies import Proxy, config_version, proxies, sync_state
from .proxyaccess import STATS_PORT, Unreachable, fetch

COLUMNS = (
    Column("NAMESPACE", "namespace"),
    Column("POD", "pod"),
    Column("ROLE", "role"),
    Column("OWNER", "owner"),
    Column("CONFIGMAP", "configMap"),
    Column("DESIRED", "desiredVersion"),
    Column("RUNNING", "runningVersion"),
    Column("STATUS", "status"),
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_kube_flags(parser)
    add_output_flag(parser)


def statuses(rest: Rest, namespace: str | None) -> list[dict[str, Any]]:
    """One row per proxy: what it should run, what it runs, in step or not."""
    pods = rest.list(POD, namespace)
    config_maps = rest.list(CONFIG_MAP, namespace, labels=OUTPUT_SELECTOR)
    return [_row(rest, p) for p in proxies(pods, config_maps)]


def _row(rest: Rest, proxy: Proxy) -> dict[str, Any]:
    running: str | None = None
    detail = ""
    if not proxy.pod_ip:
        detail = f"no Pod IP ({proxy.phase or 'unknown'})"
    else:
        try:
            running = (
                config_version(fetch(rest, proxy.namespace, proxy.pod, STATS_PORT, "/metrics"))
                or ""
            )
        except Unreachable as exc:
            detail = str(exc)
    base = asdict(proxy)
    return {
        "namespace": proxy.namespace,
        "pod": proxy.pod,
        "role": proxy.role,
        "owner": proxy.owner,
        "configMap": proxy.config_map,
        "desiredVersion": proxy.desired_version,
        "runningVersion": running or "",
        "status": sync_state(proxy.desired_version, running),
        "detail": detail,
        "image": base["image"],
    }


def run(args: argparse.Namespace) -> int:
    rest = connect(args)
    namespace = None if args.all_namespaces else (args.namespace or None)
    rows = statuses(rest, namespace)
    text = table(rows, COLUMNS, empty="no meshgate proxies found")
    if rows:
        synced = sum(r["status"] == "SYNCED" for r in rows)
        text += f"{synced}/{len(rows)} proxies in step\n"
        text += "".join(
            f"  {r['namespace']}/{r['pod']}: {r['detail']}\n" for r in rows if r["detail"]
        )
    sys.stdout.write(render({"proxies": rows}, args.output, text))
    return 0 if all(r["status"] == "SYNCED" for r in rows) else 1
