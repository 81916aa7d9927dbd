"""The `meshgate` command line: the operator, the local control plane, the demo."""

from __future__ import annotations

import argparse
import sys


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="meshgate", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("operator", help="run the operator against $KUBECONFIG")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.command == "operator":
        print("meshgate operator: not implemented yet", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
