"""`meshgate operator` / `python -m meshgate.handlers.run`: run kopf against `$KUBECONFIG`.

Registers the watch handlers by importing them, sets JSON logging, and leaves every kopf setting
to the startup handler. Returns a process exit code; never exits the interpreter itself.
"""

from __future__ import annotations

import argparse
import logging
import sys

import kopf

from meshgate.settings import Settings


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--verbose", action="store_true", help="debug logging, kopf's included")


def run(args: argparse.Namespace) -> int:
    settings = Settings.from_env()
    kopf.configure(verbose=args.verbose, log_format=kopf.LogFormat.JSON)
    if not args.verbose:
        # Every watch event runs the one-line marking handler; its success is not news.
        logging.getLogger("kopf.objects").setLevel(logging.WARNING)
    from . import watch  # noqa: F401 - importing registers the handlers

    kopf.run(
        standalone=not settings.peering,
        peering_name=settings.peering_name if settings.peering else None,
        clusterwide=not settings.namespaces,
        namespaces=settings.namespaces,
    )
    return 0


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="meshgate operator", description=__doc__)
    add_arguments(parser)
    return run(parser.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
