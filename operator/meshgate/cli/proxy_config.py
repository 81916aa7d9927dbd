"""`meshgate proxy-config POD [listeners|routes|clusters|endpoints|secrets]`: what one proxy runs.

Reads the proxy's own `/config` (redacted by the proxy: no API-key digest, no Redis password)
through the API server's Pod proxy, so it shows what the proxy really loaded, not what the
operator meant to send. Exit codes: 0 shown, 1 the Pod is not a meshgate proxy or did not answer.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from meshgate.kube.rest import POD, KubeError

from . import configview
from .kubeaccess import add_kube_flags, connect, current_namespace
from .output import add_output_flag, render, table
from .proxies import proxies
from .proxyaccess import Unreachable, fetch_admin


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("pod", metavar="POD", help="the proxy's Pod (a gateway or injected Pod)")
    parser.add_argument(
        "section",
        nargs="?",
        choices=configview.SECTIONS,
        help="one section; without it, every section",
    )
    add_kube_flags(parser)
    add_output_flag(parser)


def run(args: argparse.Namespace) -> int:
    rest = connect(args)
    namespace = current_namespace(args)
    try:
        pod = rest.read(POD, namespace, args.pod)
    except KubeError as exc:
        print(f"meshgate proxy-config: {exc}", file=sys.stderr)
        return 1
    if pod is None:
        print(
            f'meshgate proxy-config: pod "{args.pod}" not found in namespace "{namespace}"',
            file=sys.stderr,
        )
        return 1
    if not proxies([pod], []):
        print(
            f"meshgate proxy-config: pod {namespace}/{args.pod} runs no meshgate proxy "
            "(neither a gateway Pod nor injected)",
            file=sys.stderr,
        )
        return 1
    try:
        config: dict[str, Any] = json.loads(fetch_admin(rest, namespace, args.pod, "/config"))
    except Unreachable as exc:
        print(f"meshgate proxy-config: the proxy did not answer: {exc}", file=sys.stderr)
        return 1
    sections = [args.section] if args.section else list(configview.SECTIONS)
    data: dict[str, Any] = {
        "pod": f"{namespace}/{args.pod}",
        "version": config.get("version", ""),
        **{s: configview.rows(config, s) for s in sections},
    }
    if args.section is None and args.output != "table":
        data["config"] = config  # scripts asking for everything get the document itself
    text = f"pod {namespace}/{args.pod}, config version {config.get('version') or '-'}\n"
    for s in sections:
        text += f"\n{s.upper()}\n" if len(sections) > 1 else "\n"
        text += table(data[s], configview.COLUMNS[s], empty=f"(no {s})")
    sys.stdout.write(render(data, args.output, text))
    return 0
