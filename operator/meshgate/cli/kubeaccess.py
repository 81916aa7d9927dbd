"""How every live command reaches the cluster: kubeconfig, context and namespace flags.

The same flags kubectl takes (`--kubeconfig`, `--context`, `-n`, `-A`), so `kubectl meshgate`
talks to the cluster `kubectl` does. Only connecting lives here; what to read is each command's.
"""

from __future__ import annotations

import argparse
import os

from kubernetes import client as k8s
from kubernetes import config as k8s_config

from meshgate.kube.rest import Rest
from meshgate.kube.rest import connect as kube_connect


def add_kube_flags(parser: argparse.ArgumentParser, *, namespaced: bool = True) -> None:
    group = parser.add_argument_group("cluster")
    group.add_argument("--kubeconfig", default=None, help="kubeconfig file (default $KUBECONFIG)")
    group.add_argument("--context", default=None, help="kubeconfig context")
    group.add_argument(
        "--operator-namespace",
        default="meshgate-system",
        help="where meshgate's operator runs (default meshgate-system)",
    )
    if namespaced:
        group.add_argument("-n", "--namespace", default=None, help="namespace (default: current)")
        group.add_argument("-A", "--all-namespaces", action="store_true", help="every namespace")


def connect(args: argparse.Namespace) -> Rest:
    return Rest(api_client(args))


def api_client(args: argparse.Namespace) -> k8s.ApiClient:
    return kube_connect(getattr(args, "kubeconfig", None), getattr(args, "context", None))


def current_namespace(args: argparse.Namespace) -> str:
    """`-n`, else the context's namespace, else `default` (kubectl's order)."""
    if getattr(args, "namespace", None):
        return str(args.namespace)
    path = getattr(args, "kubeconfig", None) or os.environ.get("KUBECONFIG") or None
    try:
        _, active = k8s_config.list_kube_config_contexts(config_file=path)  # type: ignore[no-untyped-call]
    except (k8s_config.ConfigException, OSError):
        return "default"
    if getattr(args, "context", None):
        contexts, _ = k8s_config.list_kube_config_contexts(config_file=path)  # type: ignore[no-untyped-call]
        active = next((c for c in contexts if c["name"] == args.context), active)
    return str((active or {}).get("context", {}).get("namespace") or "default")
