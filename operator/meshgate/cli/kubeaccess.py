"""How every live command reaches the cluster: kubeconfig, context and namespace flags.

The same flags kubectl takes (`--kubeconfig`, `--context`, `-n`, `-A`), so `kubectl meshgate`
talks to the cluster `kubectl` does. Only connecting lives here; what to read is each command's.
"""

from __future__ import annotations

import argparse

from meshgate.kube.credentials import context_namespace
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
    return kube_connect(getattr(args, "kubeconfig", None), getattr(args, "context", None))


def current_namespace(args: argparse.Namespace) -> str:
    """`-n`, else the context's namespace, else `default` (kubectl's order)."""
    if getattr(args, "namespace", None):
        return str(args.namespace)
    found = context_namespace(getattr(args, "kubeconfig", None), getattr(args, "context", None))
    return found or "default"
