"""Start the config server in every replica (kopf runs startup handlers in standby replicas too):
its TLS identity from the mesh CA, the ConfigMap watch, the mTLS port, and renewal of its
certificate. Importing this module registers the handlers.
"""

from __future__ import annotations

import asyncio
import logging
import socket
from concurrent.futures import Future
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar

import kopf

from meshgate.certs.workload import WORKLOAD_VALIDITY
from meshgate.identity.ca_store import CaUnavailable, load_or_create_ca
from meshgate.identity.plan import CaRef
from meshgate.kube.rest import Rest
from meshgate.settings import Settings

from . import hub, serving
from .configmap_watch import ConfigMapWatch
from .own_loop import OwnLoop
from .server import ConfigServer, serve
from .status_writer import StatusWriter

log = logging.getLogger("meshgate.push")

RENEW_EVERY = WORKLOAD_VALIDITY / 3
CA_RETRY = timedelta(seconds=5)


class _Running:
    tasks: ClassVar[list[asyncio.Task[Any]]] = []
    watch: ConfigMapWatch | None = None
    own: OwnLoop | None = None


def _ca(rest: Rest, settings: Settings) -> CaRef:
    return load_or_create_ca(
        rest,
        namespace=settings.operator_namespace,
        name=settings.identity.ca_secret,
        supplied=settings.identity.ca_supplied,
        trust_domain=settings.trust_domain,
        now=datetime.now(UTC),
    )


async def _identity(rest: Rest, settings: Settings, ctx: Any) -> None:
    """Issue the server's certificate now and again before each one ages; a missing CA is waited
    for (the server then refuses handshakes: it has no certificate yet)."""
    while True:
        try:
            ca = await asyncio.to_thread(_ca, rest, settings)
        except (CaUnavailable, Exception) as exc:  # retried; the log says why
            log.warning("config server: no mesh CA yet (%s); retrying", exc)
            await asyncio.sleep(CA_RETRY.total_seconds())
            continue
        issued = serving.issue_server_certificate(
            ca,
            trust_domain=settings.trust_domain,
            namespace=settings.operator_namespace,
            service_account=settings.service_account,
            now=datetime.now(UTC),
        )
        serving.load(ctx, issued, ca.bundle.to_pem())
        log.info("config server identity %s until %s", issued.spiffe_id, issued.not_after)
        await asyncio.sleep(RENEW_EVERY.total_seconds())


@kopf.on.startup(id="meshgate-config-server")
async def start(memo: kopf.Memo, **_: Any) -> None:
    # The settings read once at start-up, the one Kubernetes client, and the routing reconcile
    # (None when this process runs no routing controller) whose writes feed the histogram.
    settings: Settings = memo.settings
    rest: Rest = memo.rest
    if not settings.push_port:
        return
    server = ConfigServer(settings.trust_domain)
    hub.SERVER = server
    routing = getattr(memo, "routing", None)
    if routing is not None:
        routing.on_written.append(hub.configs_written)
    # The server, its watch's hand-overs and its certificate's renewal run on a loop of their
    # own (`own_loop`): kopf's loop is busy with every watch event of the cluster.
    own = _Running.own = OwnLoop("meshgate-config-server")
    own.start()
    _Running.watch = ConfigMapWatch(
        rest, settings.namespaces, own.loop, server.replace, server.observe
    )
    _Running.watch.start()
    ctx = serving.server_context()
    identity = own.submit(_identity(rest, settings, ctx))
    try:
        runner = await own.run(serve(server, ctx, settings.listen_address, settings.push_port))
    except OSError as exc:
        # Never fail kopf's start-up (it would hold back every watch and retry a minute later):
        # the controllers run, proxies follow their files, and the log says why.
        log.error("config server: port %d: %s; proxies follow their files", settings.push_port, exc)
        identity.cancel()
        own.stop()
        return
    replica = settings.pod_ip or socket.gethostname()
    writer = StatusWriter(server, rest, settings.operator_namespace, replica)
    _Running.tasks = [
        asyncio.create_task(_keep(runner, identity, own)),
        asyncio.create_task(writer.run()),
    ]
    log.info(
        "config server on %s:%d, reached at %s as %s",
        settings.listen_address,
        settings.push_port,
        settings.push_dial_address,
        settings.push_identity,
    )


async def _keep(runner: Any, identity: Future[None], own: OwnLoop) -> None:
    try:
        await asyncio.Event().wait()
    finally:
        identity.cancel()
        await own.run(runner.cleanup())
        own.stop()


@kopf.on.cleanup(id="meshgate-config-server-stop")
async def stop(**_: Any) -> None:
    if _Running.watch is not None:
        _Running.watch.stop()
    for task in _Running.tasks:
        task.cancel()
    await asyncio.gather(*_Running.tasks, return_exceptions=True)
    hub.SERVER = None
