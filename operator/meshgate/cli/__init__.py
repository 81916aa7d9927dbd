"""The `meshgate` command line (and `kubectl meshgate`): one entry per subcommand in `COMMANDS`,
loaded on demand.

A subcommand is a module (or a `module:attribute` object) with two functions:

    add_arguments(parser: argparse.ArgumentParser) -> None
    run(args: argparse.Namespace) -> int        # the process exit code

To add one, write that module (the user-facing ones live in this package, one module per
command) and add a line to `COMMANDS`. Only the chosen subcommand's module is
imported, so a heavy or broken module never slows down or breaks the others. This module must
never hold a subcommand's logic itself beyond a placeholder.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol, cast


class Subcommand(Protocol):
    def add_arguments(self, parser: argparse.ArgumentParser) -> None: ...

    def run(self, args: argparse.Namespace) -> int: ...


@dataclass(frozen=True)
class Command:
    name: str
    help: str
    # "package.module" or "package.module:attribute"; imported only when this command runs.
    target: str

    def load(self) -> Subcommand:
        module_name, _, attr = self.target.partition(":")
        obj: object = importlib.import_module(module_name)
        if attr:
            obj = getattr(obj, attr)
        return cast(Subcommand, obj)


class OperatorPlaceholder:
    """Stands in for `meshgate operator` until the operator's entry module exists."""

    @staticmethod
    def add_arguments(parser: argparse.ArgumentParser) -> None:
        del parser

    @staticmethod
    def run(args: argparse.Namespace) -> int:
        del args
        print("meshgate operator: not implemented yet", file=sys.stderr)
        return 2


COMMANDS: tuple[Command, ...] = (
    Command("operator", "run the operator against $KUBECONFIG", "meshgate.handlers.run"),
    Command(
        "cluster",
        "start, stop or describe the local control plane (etcd, kube-apiserver, kcm)",
        "meshgate.localcluster.command",
    ),
    Command(
        "inject",
        "add the meshgate sidecar to every pod template in a manifest (offline, for GitOps)",
        "meshgate.inject.cli:InjectCommand",
    ),
    Command(
        "uninject",
        "remove what `meshgate inject` added",
        "meshgate.inject.cli:UninjectCommand",
    ),
    Command(
        "demo",
        "meshgate's CRDs and quickstart on the local control plane (or $KUBECONFIG's)",
        "meshgate.demo",
    ),
    Command("version", "client, operator and every proxy version seen", "meshgate.cli.version"),
    Command(
        "check",
        "is the mesh healthy: Kubernetes version, CRDs, webhook, certificates, proxies",
        "meshgate.cli.check",
    ),
    Command(
        "analyze",
        "every condition users would see: offline over files (-f) or live over the cluster",
        "meshgate.cli.analyze",
    ),
    Command(
        "proxy-config",
        "what one proxy actually runs: listeners, routes, clusters, endpoints, secrets",
        "meshgate.cli.proxy_config",
    ),
    Command(
        "proxy-status",
        "every proxy, the config version it runs and whether it is in step",
        "meshgate.cli.proxy_status",
    ),
    Command(
        "describe",
        "which meshgate policies apply to a pod or service, and their effect",
        "meshgate.cli.describe",
    ),
    Command(
        "stat",
        "golden signals per workload, Route and Gateway from the proxies' /metrics",
        "meshgate.cli.stat",
    ),
    Command("top", "`stat`, refreshed live", "meshgate.cli.stat:TopCommand"),
    Command(
        "catalog",
        "the API catalog page of a Gateway, written offline from manifest files (-f)",
        "meshgate.cli.catalog",
    ),
    Command(
        "completion",
        "shell completion script for bash or zsh",
        "meshgate.cli.completion",
    ),
)


def _chosen(argv: Sequence[str]) -> Command | None:
    """The command argv names (its first non-option word), if any."""
    word = next((a for a in argv if not a.startswith("-")), None)
    return next((c for c in COMMANDS if c.name == word), None)


def build_parser(
    argv: Sequence[str], prog: str = "meshgate"
) -> tuple[argparse.ArgumentParser, Command | None]:
    parser = argparse.ArgumentParser(
        prog=prog,
        description="meshgate: an API gateway and a service mesh from one Kubernetes operator.",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    chosen = _chosen(argv)
    for cmd in COMMANDS:
        p = sub.add_parser(cmd.name, help=cmd.help, description=cmd.help)
        if cmd is chosen:
            cmd.load().add_arguments(p)
    return parser, chosen


def main(argv: Sequence[str] | None = None, prog: str = "meshgate") -> int:
    args_list = list(sys.argv[1:] if argv is None else argv)
    parser, chosen = build_parser(args_list, prog)
    args = parser.parse_args(args_list)
    assert chosen is not None  # argparse has already refused an unknown or missing command
    run: Callable[[argparse.Namespace], int] = chosen.load().run
    return run(args)


def kubectl_main() -> int:
    """`kubectl-meshgate`: kubectl runs it for `kubectl meshgate ...`."""
    return main(prog="kubectl meshgate")


if __name__ == "__main__":
    sys.exit(main())
