"""`meshgate inject` and `meshgate uninject`: the offline patch over manifest files or stdin.

Thin: argument parsing and file I/O around `offline`. Output goes to stdout, warnings to stderr,
so `meshgate inject -f app.yaml > injected.yaml` leaves a clean file. Exit codes: 0 done,
1 unreadable input. This module must never talk to a cluster.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import yaml

from meshgate import __version__
from meshgate.settings import Settings

from . import offline
from .settings import InjectSettings

_DEFAULTS = InjectSettings(injected_version=__version__)


def _kube_minor(text: str) -> int:
    """`1.28`, `v1.28.3` or `28` to 28."""
    parts = text.lstrip("v").split(".")
    try:
        return int(parts[1] if len(parts) > 1 else parts[0])
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a Kubernetes version: {text!r}") from None


def _add_common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "-f",
        "--filename",
        required=True,
        action="append",
        help="manifest file (YAML, multi-document); '-' reads stdin; may repeat",
    )


def _add_inject(parser: argparse.ArgumentParser) -> None:
    _add_common(parser)
    parser.add_argument("--proxy-image", default=_DEFAULTS.proxy_image)
    parser.add_argument(
        "--kube-version",
        type=_kube_minor,
        default=_DEFAULTS.kube_minor,
        metavar="1.MINOR",
        help="target cluster version: 1.29+ gets a native sidecar, older a plain container",
    )
    parser.add_argument("--operator-namespace", default=_DEFAULTS.operator_namespace)
    parser.add_argument("--trust-domain", default=_DEFAULTS.trust_domain)
    parser.add_argument("--injected-version", default=_DEFAULTS.injected_version)
    parser.add_argument(
        "--config-server",
        default=None,
        metavar="HOST:PORT",
        help="the operator's config server the sidecar streams its config from (default: the "
        "chart's, meshgate-config.<operator-namespace>.svc:15012; '' for the mounted file only)",
    )
    parser.add_argument(
        "--config-server-id",
        default=None,
        metavar="SPIFFE_ID",
        help="the config server's SPIFFE ID (default: the operator's ServiceAccount 'meshgate')",
    )


def _read(sources: list[str]) -> list[object]:
    docs: list[object] = []
    for src in sources:
        text = sys.stdin.read() if src == "-" else Path(src).read_text()
        docs += offline.load_all(text)
    return docs


def _emit(result: offline.Result) -> int:
    for w in result.warnings:
        print(w, file=sys.stderr)
    sys.stdout.write(offline.dump_all(result.documents))
    return 0


def run_inject(args: argparse.Namespace) -> int:
    # The webhook's sidecars stream their config from the operator; an offline-injected one
    # must too, from where the chart's defaults put the config server.
    operator = Settings(operator_namespace=args.operator_namespace, trust_domain=args.trust_domain)
    server = operator.push_dial_address if args.config_server is None else args.config_server
    server_id = operator.push_identity if args.config_server_id is None else args.config_server_id
    settings = InjectSettings(
        proxy_image=args.proxy_image,
        injected_version=args.injected_version,
        kube_minor=args.kube_version,
        operator_namespace=args.operator_namespace,
        trust_domain=args.trust_domain,
        config_server=server,
        config_server_id=server_id if server else "",
    )
    try:
        docs = _read(args.filename)
    except (OSError, yaml.YAMLError) as e:
        print(f"meshgate inject: {e}", file=sys.stderr)
        return 1
    return _emit(offline.inject_documents(docs, settings))


def run_uninject(args: argparse.Namespace) -> int:
    try:
        docs = _read(args.filename)
    except (OSError, yaml.YAMLError) as e:
        print(f"meshgate uninject: {e}", file=sys.stderr)
        return 1
    return _emit(offline.uninject_documents(docs))


class InjectCommand:
    """`meshgate inject`, in the shape `meshgate.cli.COMMANDS` loads."""

    @staticmethod
    def add_arguments(parser: argparse.ArgumentParser) -> None:
        _add_inject(parser)

    @staticmethod
    def run(args: argparse.Namespace) -> int:
        return run_inject(args)


class UninjectCommand:
    """`meshgate uninject`, in the shape `meshgate.cli.COMMANDS` loads."""

    @staticmethod
    def add_arguments(parser: argparse.ArgumentParser) -> None:
        _add_common(parser)

    @staticmethod
    def run(args: argparse.Namespace) -> int:
        return run_uninject(args)


def main(argv: list[str]) -> int:
    """`inject ...` or `uninject ...`, without the `meshgate` dispatcher in front."""
    parser = argparse.ArgumentParser(prog="meshgate")
    sub = parser.add_subparsers(dest="command", required=True)
    _add_inject(sub.add_parser("inject", help="add the sidecar to every pod template"))
    _add_common(sub.add_parser("uninject", help="remove what inject added"))
    args = parser.parse_args(argv)
    return run_inject(args) if args.command == "inject" else run_uninject(args)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
