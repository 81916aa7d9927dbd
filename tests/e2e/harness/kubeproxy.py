"""The agent's kube-proxy: Service addresses made local and forwarded to ready endpoints.

At start it routes the cluster's Service CIDRs (the `ServiceCIDR` objects) to `lo` as `local`, so
a connection to a ClusterIP leaves no namespace and reaches the DNAT rules; then, level-based
like the Pod sync, it lists Services and EndpointSlices every pass and replaces its nftables
table (`services.ruleset`) whenever the forwards change. A CIDR outside 198.18.0.0/15 is never
routed and its Services are never forwarded: the agent then says so once and forwards nothing.

This module must never add a route outside 198.18.0.0/15, nor touch an nftables table but its
own.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import logging
import shutil

from . import services
from .kubeapi import ApiException, Kube

SYNC_EVERY = 0.5
log = logging.getLogger("harness")


class ForwardingError(RuntimeError):
    """nft or ip refused a change; the message carries what they said."""


async def run_command(*argv: str, stdin: str | None = None) -> None:
    proc = await asyncio.create_subprocess_exec(
        *argv,
        stdin=asyncio.subprocess.PIPE if stdin is not None else asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
    )
    _, err = await proc.communicate(stdin.encode() if stdin is not None else None)
    if proc.returncode != 0:
        raise ForwardingError(f"`{' '.join(argv)}` failed: {err.decode(errors='replace').strip()}")


def local_cidrs(service_cidrs: list[dict[str, object]]) -> tuple[list[str], list[str]]:
    """(the IPv4 Service CIDRs the agent may route to lo, the ones it must leave alone)."""
    ok: list[str] = []
    refused: list[str] = []
    for item in service_cidrs:
        spec = item.get("spec")
        cidrs = spec.get("cidrs") if isinstance(spec, dict) else None
        for cidr in cidrs if isinstance(cidrs, list) else []:
            network = ipaddress.ip_network(str(cidr), strict=False)
            if network.version != 4:
                continue
            inside = network.subnet_of(services.FORWARDABLE)  # type: ignore[arg-type]
            (ok if inside else refused).append(str(network))
    return sorted(set(ok)), sorted(set(refused))


class KubeProxy:
    def __init__(self, kube: Kube) -> None:
        self.kube = kube
        self._routes: list[str] = []
        self._applied: str | None = None
        self.enabled = False

    async def start(self) -> None:
        """Route the Service CIDRs to lo; without nft or a usable CIDR, forward nothing."""
        if shutil.which("nft") is None:
            log.warning("nft is not installed (apt-get install nftables): Services not forwarded")
            return
        listed = await self.kube.get("/apis/networking.k8s.io/v1/servicecidrs")
        ok, refused = local_cidrs(listed.get("items") or [])
        for cidr in refused:
            log.warning("Service CIDR %s is outside %s: never routed", cidr, services.FORWARDABLE)
        for cidr in ok:
            try:
                await run_command("ip", "route", "add", "local", cidr, "dev", "lo")
            except ForwardingError as exc:
                if "File exists" not in str(exc):
                    raise
                continue  # already local here: not ours to remove
            self._routes.append(cidr)
        self.enabled = bool(ok)
        if self.enabled:
            log.info("forwarding Services of %s", ", ".join(ok))

    async def sync(self) -> None:
        if not self.enabled:
            return
        listed_services = await self.kube.get("/api/v1/services")
        listed_slices = await self.kube.get("/apis/discovery.k8s.io/v1/endpointslices")
        script = services.ruleset(
            services.forwards(listed_services.get("items") or [], listed_slices.get("items") or [])
        )
        if script != self._applied:
            await run_command("nft", "-f", "-", stdin=script)
            self._applied = script

    async def run(self) -> None:
        """Sync until cancelled; a failed pass is retried on the next one."""
        while True:
            try:
                await self.sync()
            except (ApiException, ForwardingError) as exc:
                log.warning("Service forwarding pass failed, retrying: %s", exc)
            await asyncio.sleep(SYNC_EVERY)

    async def stop(self) -> None:
        """Remove the agent's table and the routes it added."""
        if self._applied is not None:
            with contextlib.suppress(ForwardingError):
                await run_command("nft", "-f", "-", stdin=services.removal())
            self._applied = None
        for cidr in self._routes:
            with contextlib.suppress(ForwardingError):
                await run_command("ip", "route", "del", "local", cidr, "dev", "lo")
        self._routes.clear()
