"""`meshgate analyze`: every condition and reason users would see, before or after applying.

`analyze -f DIR` reads manifest files only (for GitOps CI: no cluster, no credentials) and runs
them through the operator's own compiler; `analyze` without `-f` compiles what the cluster holds,
as the operator does on its next reconcile. Each finding names the file (or the object), the field
and the reason. Exit codes: 0 no errors, 1 errors found, 2 unreadable input or no cluster.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from meshgate.compile import MeshSettings, compile_snapshot

from . import manifests
from .findings import Finding, findings
from .offline import snapshot_of
from .output import Column, add_output_flag, render, table

COLUMNS = (
    Column("SEVERITY", "severity"),
    Column("WHERE", "where"),
    Column("OBJECT", "object"),
    Column("FIELD", "field"),
    Column("REASON", "reason"),
    Column("MESSAGE", "message"),
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "-f",
        "--filename",
        action="append",
        default=[],
        help="manifest file or directory (read recursively); may repeat. Without it: the cluster",
    )
    parser.add_argument(
        "-n",
        "--namespace",
        default=None,
        help="with -f: namespace for objects that set none (what `kubectl apply -n` gives; "
        "default: default); live: only this namespace's objects",
    )
    parser.add_argument("--operator-namespace", default="meshgate-system")
    parser.add_argument("--trust-domain", default="cluster.local")
    parser.add_argument("--kubeconfig", default=None, help="live mode: kubeconfig file")
    parser.add_argument("--context", default=None, help="live mode: kubeconfig context")
    add_output_flag(parser)


def run(args: argparse.Namespace) -> int:
    settings = MeshSettings(
        operator_namespace=args.operator_namespace, trust_domain=args.trust_domain
    )
    if args.filename:
        try:
            docs = manifests.read(args.filename, args.namespace or "default")
        except manifests.ManifestError as exc:
            print(f"meshgate analyze: {exc}", file=sys.stderr)
            return 2
        result = compile_snapshot(snapshot_of(docs, settings))
        found = findings(result.statuses, docs, offline=True)
        scope = f"{len(docs)} objects in {len({d.path for d in docs})} files"
    else:
        from .live import LiveError, cluster_documents, cluster_snapshot

        try:
            snap, bodies = cluster_snapshot(args, settings)
        except LiveError as exc:
            print(f"meshgate analyze: {exc}", file=sys.stderr)
            return 2
        result = compile_snapshot(snap)
        statuses = [s for s in result.statuses if args.namespace in (None, s.namespace)]
        found = findings(statuses, cluster_documents(bodies), offline=False)
        where = f"namespace {args.namespace}" if args.namespace else "the cluster"
        scope = f"{len(statuses)} meshgate objects in {where}"
    sys.stdout.write(render(report_data(found, scope), args.output, report_table(found, scope)))
    return 1 if any(f.severity == "error" for f in found) else 0


def report_data(found: Sequence[Finding], scope: str) -> dict[str, object]:
    return {
        "analyzed": scope,
        "errors": sum(f.severity == "error" for f in found),
        "warnings": sum(f.severity == "warning" for f in found),
        "findings": [f.row() for f in found],
    }


def report_table(found: Sequence[Finding], scope: str) -> str:
    rows = [
        {
            **f.row(),
            "where": f.where,
            "object": f"{f.kind}/{f.name}" + (f" -n {f.namespace}" if f.namespace else ""),
        }
        for f in found
    ]
    errors = sum(f.severity == "error" for f in found)
    warnings = len(found) - errors
    summary = f"analyzed {scope}: {errors} error(s), {warnings} warning(s)\n"
    if not found:
        return f"✔ no problems found; {summary}"
    return table(rows, COLUMNS) + summary
