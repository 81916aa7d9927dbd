"""`meshproxy --config PATH [--admin-port N]` and `python -m meshproxy`."""

from __future__ import annotations

import argparse
import sys


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="meshproxy")
    parser.add_argument("--config", required=True, help="path of the proxy config JSON file")
    parser.add_argument("--admin-port", type=int, default=15090)
    parser.parse_args(argv)
    print("meshproxy: not implemented yet", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
