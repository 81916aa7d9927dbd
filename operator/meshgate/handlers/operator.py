"""The operator: run kopf against the cluster `meshgate.kube.credentials` finds.

Entered through `meshgate.handlers.run`, which keeps the generated `kubernetes` package out of
the process before this module imports kopf. Reads the settings once, builds the served
controllers (routing, identity, injection) around one Kubernetes client and one runtime,
registers every watch and start-up handler, sets JSON logging, and leaves every kopf setting to
the startup handler. Returns a process exit code; never exits the interpreter itself.
"""

from __future__ import annotations

import argparse
import logging
import secrets
from typing import Any

import kopf
from kopf._core.reactor.inventory import ResourceMemories, ResourceMemory

from meshgate.identity.reconcile import IdentityReconciler
from meshgate.kube.rest import Rest
from meshgate.runtime import Runtime
from meshgate.settings import Settings

from . import preflight, startup, watches
from .reconcile import Reconciler
from .run import CONTROLLERS
from .startup import Served


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


class EventMemories(ResourceMemories):
    """kopf's per-object memory, made for each event and never kept.

    kopf keeps one (~1 KiB: a copy of the memo, an error throttler, daemon and index records)
    for every object it ever saw until the object is deleted: 12 MiB at 10,000 Routes and 1,000
    Services. It serves handler kinds meshgate never registers (change detection, daemons,
    timers, indexes); meshgate's are level-based event handlers and admission handlers, which
    read nothing kopf remembered about the object. `register` refuses the others."""

    async def recall(
        self,
        raw_body: kopf.RawBody,
        *,
        memobase: Any = None,
        noticed_by_listing: bool = False,
        ephemeral: bool = False,
    ) -> ResourceMemory:
        return await super().recall(
            raw_body, memobase=memobase, noticed_by_listing=noticed_by_listing, ephemeral=True
        )


def served_controllers(settings: Settings, asked: str = ",".join(CONTROLLERS)) -> tuple[str, ...]:
    """The controllers `--controllers` asks for, less the injector when the chart turns it off."""
    names = tuple(n.strip() for n in asked.split(",") if n.strip())
    unknown = sorted(set(names) - set(CONTROLLERS))
    if unknown:
        raise ValueError(
            f"--controllers: unknown {', '.join(unknown)} (known: {', '.join(CONTROLLERS)})"
        )
    return tuple(n for n in names if n != "injection" or settings.injection_enabled)


def serve(settings: Settings, rest: Rest, controllers: tuple[str, ...]) -> Served:
    """Build what this process serves; nothing is started (kopf's start-up handlers do that)."""
    routing = Reconciler(rest=rest, settings=settings) if "routing" in controllers else None
    identity = (
        IdentityReconciler(kube=rest, settings=settings, identity=settings.identity)
        if "identity" in controllers
        else None
    )
    runtime = Runtime(debounce=settings.debounce_seconds, resync=settings.resync_seconds)
    return Served(settings, rest, runtime, routing, identity, injection="injection" in controllers)


def watched(served: Served) -> watches.Watched:
    """What the watch registry is told about the served controllers."""
    settings = served.settings
    return watches.Watched(
        runtime=served.runtime,
        routing=served.routing,
        identity_ca=(
            (settings.operator_namespace, settings.identity.ca_secret)
            if served.identity is not None
            else None
        ),
        webhook_config=settings.webhook_config_name if served.injection else None,
        gateway_api=settings.gateway_api,
    )


def register(served: Served) -> list[str]:
    """Register every kopf handler for what is served: the watches (one registry) and the
    start-up handlers. Returns their ids (what `--controllers` and the chart turned on)."""
    return watches.register(watched(served)) + startup.register(served)


def run(args: argparse.Namespace) -> int:
    try:
        # The one read of the environment: everything below is given these settings.
        settings = Settings.from_env()
        controllers = served_controllers(settings, args.controllers)
    except ValueError as exc:  # a bad chart value: one line naming the variable, no traceback
        kopf.configure(log_format=kopf.LogFormat.JSON)
        logging.getLogger("meshgate").error("%s", exc)
        return 2
    configure_logging(settings, args.verbose)
    rest = preflight.wait_for_cluster(settings)
    if rest is None:
        return 1
    served = serve(settings, rest, controllers)
    if served.routing is not None:
        # The config server proxies stream their config from, in every replica: registered
        # before the controllers' start-up, so a restarted operator serves what the ConfigMaps
        # hold while the rest starts. Only beside the routing controller, whose configs it
        # serves: a process running one other controller alone must not hold its port.
        from meshgate.push import startup as _config_server  # noqa: F401

    register(served)
    # Other modules' start-up handlers (registered by importing them) find what is served in
    # kopf's memo: `memo.settings`, `memo.rest`, `memo.runtime`, `memo.routing` (None when not run).
    memo = kopf.Memo(settings=settings, rest=rest, runtime=served.runtime, routing=served.routing)
    kopf.run(**kopf_run_arguments(settings), memo=memo, memories=EventMemories())
    return 0


def _level(name: str, verbose: bool) -> int:
    if verbose:
        return logging.DEBUG
    level = logging.getLevelName(name.upper())
    return level if isinstance(level, int) else logging.INFO
