"""`meshgate catalog -f DIR`: the API catalog page of a Gateway, from manifest files alone.

The same page a Gateway with `spec.catalog` serves, compiled offline: the operator's compiler over
the files, then `meshgate.catalog`. TLS Secrets the files name but do not hold are taken as
present (a catalog lists APIs; it never needs a key). Exit codes: 0 written, 1 no such Gateway
or more than one to choose from, 2 unreadable input.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import yaml

from meshgate.catalog import build, render_page
from meshgate.catalog.notes import route_notes
from meshgate.compile import MeshSettings, compile_snapshot

from . import manifests
from .offline import snapshot_of


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "-f", "--filename", action="append", required=True, help="manifest file or directory"
    )
    parser.add_argument("-n", "--namespace", default="default", help="for objects that set none")
    parser.add_argument(
        "--gateway", default=None, help="the Gateway (needed when there are several)"
    )
    parser.add_argument(
        "-o", "--output", choices=("html", "json", "yaml"), default="html", help="default html"
    )
    parser.add_argument("--out", default=None, help="write here instead of stdout")


def assumed_tls_secrets(docs: Sequence[manifests.Document]) -> list[manifests.Document]:
    """Placeholder `kubernetes.io/tls` Secrets for certificates the Gateways name and the files
    lack, so an HTTPS listener's APIs are listed. Key names only, never key material."""
    have = {(d.namespace, d.name) for d in docs if d.kind == "Secret"}
    out = []
    for doc in docs:
        if doc.kind != "Gateway":
            continue
        for listener in (doc.body.get("spec") or {}).get("listeners") or []:
            for ref in ((listener or {}).get("tls") or {}).get("certificateRefs") or []:
                key = (doc.namespace, str(ref.get("name")))
                if key not in have:
                    have.add(key)
                    body = {
                        "apiVersion": "v1",
                        "kind": "Secret",
                        "type": "kubernetes.io/tls",
                        "metadata": {"namespace": key[0], "name": key[1]},
                        "data": {"tls.crt": "", "tls.key": ""},
                    }
                    out.append(manifests.Document("(assumed)", 0, body))
    return out


def run(args: argparse.Namespace) -> int:
    try:
        docs = manifests.read(args.filename, args.namespace)
    except manifests.ManifestError as exc:
        print(f"meshgate catalog: {exc}", file=sys.stderr)
        return 2
    docs += assumed_tls_secrets(docs)
    snap = snapshot_of(docs, MeshSettings())
    result = compile_snapshot(snap)
    outputs = [g for g in result.gateways if args.gateway in (None, g.gateway.name)]
    if len(outputs) != 1:
        names = ", ".join(f"{g.gateway.namespace}/{g.gateway.name}" for g in result.gateways)
        what = f'no Gateway "{args.gateway}"' if args.gateway else "choose one Gateway"
        print(
            f"meshgate catalog: {what} (--gateway); the files hold: {names or 'none'}",
            file=sys.stderr,
        )
        return 1
    out = outputs[0]
    catalog = build(
        out.gateway.namespace,
        out.gateway.name,
        json.loads(out.config_json),
        route_notes(snap.routes),
    )
    if args.output == "html":
        text = render_page(catalog)
    else:
        data: Any = dataclasses.asdict(catalog)
        text = (
            json.dumps(data, indent=2) + "\n"
            if args.output == "json"
            else yaml.safe_dump(data, sort_keys=False)
        )
    if args.out:
        Path(args.out).write_text(text)
        gateway = f"{out.gateway.namespace}/{out.gateway.name}"
        print(f"wrote {args.out}: {len(catalog.apis)} APIs of gateway {gateway}", file=sys.stderr)
    else:
        sys.stdout.write(text)
    return 0
