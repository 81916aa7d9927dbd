"""The config server: answers proxies' long polls (`meshproxy.delivery.wire`) over mTLS.

The caller's identity is the SPIFFE ID of its verified client certificate, nothing else; a
target it may not have is refused with 403 (`access`). A poll is answered at once when the
replica's version of the target differs from the one the proxy last received, else when it
changes, else with 304 after the asked wait. Every poll reports what the proxy runs, which feeds
proxy status (`proxies`) and the convergence histogram.

Runs in the event loop; the ConfigMap watch thread hands events over with `call_soon_threadsafe`.
This module must never write to the cluster or log a config's content.
"""

from __future__ import annotations

import asyncio
import logging
import ssl
import time
from collections.abc import Callable, Mapping
from typing import Any

from aiohttp import web

from meshproxy.delivery import wire
from meshproxy.delivery.target import Target, parse
from meshproxy.tls.identity import parse_spiffe_id, peer_spiffe_id

from .access import refusal
from .book import ConfigBook
from .convergence import Convergence
from .proxies import ProxyBook

log = logging.getLogger("meshgate.push")


class ConfigServer:
    def __init__(self, trust_domain: str, clock: Callable[[], float] = time.monotonic) -> None:
        self.trust_domain = trust_domain
        self.book = ConfigBook()
        self.proxies = ProxyBook()
        self.convergence = Convergence()
        self.synced = False  # the first full listing has been read
        self._clock = clock
        self._changed: dict[Target, asyncio.Event] = {}
        self.refusals = 0

    # --- fed by the ConfigMap watch (in the event loop) ------------------------------------------

    def observe(self, event: str, body: Mapping[str, Any]) -> None:
        self._wake(self.book.observe(event, body))

    def replace(self, namespace: str, bodies: list[Mapping[str, Any]]) -> None:
        """A full listing of `namespace` ("": all of them)."""
        self._wake(self.book.replace(bodies, namespace))
        self.synced = True

    def _wake(self, targets: set[Target]) -> None:
        now = self._clock()
        for target in targets:
            entry = self.book.get(target)
            if entry is not None:
                self.convergence.changed(target, entry.version, now)
            event = self._changed.pop(target, None)
            if event is not None:
                event.set()

    def metrics_text(self) -> str:
        now = self._clock()
        self.proxies.expire(now)
        lines = [
            "# HELP meshgate_config_proxies Proxies polling this replica, by target and whether "
            "they run its current config version.",
            "# TYPE meshgate_config_proxies gauge",
        ]
        for status in self.proxies.status(self.book.versions(), now):
            for state, count in (
                ("current", status.current),
                ("stale", status.total - status.current),
            ):
                lines.append(
                    f'meshgate_config_proxies{{target="{status.target}",state="{state}"}} {count}'
                )
        lines += [
            "# HELP meshgate_config_refusals_total Polls refused for the caller's identity.",
            "# TYPE meshgate_config_refusals_total counter",
            f"meshgate_config_refusals_total {self.refusals}",
        ]
        return "\n".join(lines) + "\n" + self.convergence.render()

    # --- the HTTP side ------------------------------------------------------------------------

    def app(self) -> web.Application:
        application = web.Application()
        application.router.add_get(wire.PATH_PREFIX + "{target:.+}", self.poll)
        return application

    async def poll(self, request: web.Request) -> web.StreamResponse:
        target = parse(request.match_info["target"])
        if target is None:
            return web.Response(status=404, text="not a config target\n")
        ssl_object = request.transport.get_extra_info("ssl_object") if request.transport else None
        peer = peer_spiffe_id(ssl_object, self.trust_domain)
        why = refusal(parse_spiffe_id(peer) if peer else None, target, self.trust_domain)
        if why is not None:
            self.refusals += 1
            log.warning("config %s refused to %s: %s", target, request.remote, why)
            return web.Response(status=403, text=why + "\n")
        query = request.query
        applied, received = query.get("applied", ""), query.get("received", "")
        try:
            wait = min(max(float(query.get("wait", wire.WAIT)), 0.0), wire.MAX_WAIT)
        except ValueError:
            return web.Response(status=400, text="wait is not a number\n")
        now = self._clock()
        assert peer is not None  # refusal() said yes
        # Counted by the proxy's own id when it gives one, else by its address.
        who = query.get("proxy", "")[:256] or request.remote or ""
        self.proxies.polled(target, who, peer, applied, now)
        self.convergence.acknowledged(target, self.proxies.applied(target, now), now)
        deadline = now + wait
        while True:
            entry = self.book.get(target)
            if entry is not None and entry.version != received:
                return web.Response(
                    status=200,
                    body=entry.body,
                    content_type="application/json",
                    headers={wire.VERSION_HEADER: entry.version},
                )
            left = deadline - self._clock()
            if left <= 0:
                return web.Response(status=304)
            event = self._changed.setdefault(target, asyncio.Event())
            try:
                await asyncio.wait_for(event.wait(), left)
            except TimeoutError:
                return web.Response(status=304)


async def serve(
    server: ConfigServer, context: ssl.SSLContext, host: str, port: int
) -> web.AppRunner:
    """Listen with mTLS only: a client without a certificate of the mesh CA gets no handshake."""
    runner = web.AppRunner(server.app(), access_log=None, handler_cancellation=True)
    await runner.setup()
    await web.TCPSite(runner, host, port, ssl_context=context, backlog=1024).start()
    return runner
