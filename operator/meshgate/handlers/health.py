"""`/healthz` and `/metrics` on the operator's metrics port (aiohttp, which kopf already uses)."""

from __future__ import annotations

import time

from aiohttp import web

from meshgate.push.hub import render_metrics as push_metrics
from meshgate.settings import Settings

from .metrics import Metrics


def address(settings: Settings) -> tuple[str, int]:
    """Where `/healthz` and `/metrics` listen: the chart's operator.healthPort, on the Pod's
    address when known."""
    return settings.listen_address, settings.metrics_port


def app(metrics: Metrics, resync_seconds: float, started: float) -> web.Application:
    async def healthz(_: web.Request) -> web.Response:
        # Healthy once a reconcile succeeded recently; a fresh process gets a grace period.
        fresh = time.time() - started < max(60.0, 3 * resync_seconds)
        recent = time.time() - metrics.last_success < 3 * resync_seconds
        ok = recent or (fresh and metrics.last_success == 0.0)
        return web.Response(status=200 if ok else 503, text="ok\n" if ok else "stale\n")

    async def prometheus(_: web.Request) -> web.Response:
        text = metrics.render() + push_metrics()
        return web.Response(text=text, content_type="text/plain", charset="utf-8")

    application = web.Application()
    application.router.add_get("/healthz", healthz)
    application.router.add_get("/metrics", prometheus)
    return application


async def serve(application: web.Application, port: int, host: str) -> web.AppRunner:
    """Listen on `host`: the Pod's address when known (local Pods share one host and each must
    keep its own port), else every interface (`address`)."""
    runner = web.AppRunner(application, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, host, port).start()
    return runner
