"""`meshgate operator` / `python -m meshgate.handlers.run`: run kopf against `$KUBECONFIG`.

Registers the watch handlers by importing them, sets JSON logging, and leaves every kopf setting
to the startup handler. Returns a process exit code; never exits the interpreter itself.
"""

from __future__ import annotations

import argparse
import logging
import secrets
import sys
from collections.abc import Callable
from typing import Any

import kopf

from meshgate.settings import Settings

from . import preflight


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--verbose", action="store_true", help="debug logging, kopf's included")


def configure_logging(settings: Settings, verbose: bool) -> None:
    """JSON lines (kopf's format: timestamp, severity, message) at the chart's operator.logLevel."""
    kopf.configure(verbose=verbose, log_format=kopf.LogFormat.JSON)
    logging.getLogger("meshgate").setLevel(_level(settings.log_level, verbose))
    if not verbose:
        # Every watch event runs the one-line marking handler; its success is not news.
        logging.getLogger("kopf.objects").setLevel(logging.WARNING)


def kopf_run_arguments(settings: Settings) -> dict[str, Any]:
    """What `kopf.run` is given: one active replica among peers, the watched namespaces."""
    return {
        "standalone": not settings.peering,
        "peering_name": settings.peering_name if settings.peering else None,
        # kopf pauses every peer of the highest priority when there are several; a random
        # priority per replica makes exactly one of them active and the others standby.
        "priority": secrets.randbelow(1 << 30) if settings.peering else None,
        "clusterwide": not settings.namespaces,
        "namespaces": settings.namespaces,
    }


def optional_handlers(settings: Settings) -> list[Callable[[], None]]:
    """Registrations that depend on the chart: the sidecar injector's webhook, the Gateway API's
    watches (reconcile loop and identity controller) when enabled."""
    from meshgate.identity import handlers as identity_handlers

    from . import startup, watch

    wanted: list[Callable[[], None]] = []
    if settings.injection_enabled:
        wanted.append(startup.register_admission)
    if settings.gateway_api:
        wanted += [watch.register_gateway_api, identity_handlers.register_gateway_api]
    return wanted


def run(args: argparse.Namespace) -> int:
    try:
        settings = Settings.from_env()
    except ValueError as exc:  # a bad chart value: one line naming the variable, no traceback
        kopf.configure(log_format=kopf.LogFormat.JSON)
        logging.getLogger("meshgate").error("%s", exc)
        return 2
    configure_logging(settings, args.verbose)
    if not preflight.wait_for_cluster(settings):
        return 1
    # Importing registers the handlers: the reconcile loop's watches, the identity controller,
    # the peering object, and (when enabled) the sidecar injector's admission webhook.
    from meshgate.identity import handlers as _identity_handlers  # noqa: F401

    from . import startup, watch  # noqa: F401

    for register in optional_handlers(settings):
        register()

    kopf.run(**kopf_run_arguments(settings))
    return 0


def _level(name: str, verbose: bool) -> int:
    if verbose:
        return logging.DEBUG
    level = logging.getLevelName(name.upper())
    return level if isinstance(level, int) else logging.INFO


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="meshgate operator", description=__doc__)
    add_arguments(parser)
    return run(parser.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
