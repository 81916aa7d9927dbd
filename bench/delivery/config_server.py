"""The config server alone: CPU seconds and time per change with N proxies long polling it.

    .venv/bin/python bench/delivery/config_server.py [--proxies 33] [--changes 50]

No control plane: one `ConfigServer` over real mTLS on loopback (certificates from a fresh mesh
CA), in this process on its own event loop, with nothing else on that loop (no kopf, no
reconcile); `--proxies` `ConfigStream`s (the proxy's own client: 12 gateway proxies, the rest
sidecars of one namespace) in a child process. Each change hands the server a new version of the
gateway and the mesh ConfigMap and waits until every stream has applied it. Figures: the
server process's CPU per change (its whole process: the event loop and the thread collecting
the children's reports) and the time from the hand-over to the last stream's apply. What
bench.py measures beyond this inside the operator is the rest of the operator beside it.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import socket
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from meshgate.certs.bundle import TrustBundle
from meshgate.certs.ca import create_root_ca
from meshgate.certs.workload import issue_workload_certificate
from meshgate.identity.plan import CaRef
from meshgate.push import serving
from meshgate.push.server import ConfigServer, serve
from meshproxy.config import Identity
from meshproxy.delivery.settings import DeliverySettings
from meshproxy.delivery.stream import ConfigStream
from meshproxy.delivery.target import Target

TD = "cluster.local"
NAMESPACE = "shop"
SERVER_ID = f"spiffe://{TD}/ns/meshgate-system/sa/meshgate"
GATEWAY_PROXIES = 12
CONFIG_BYTES = 6000  # about the size of the delivery bench's configs

Proxy = tuple[Identity, Target]


def config_map(name: str, version: str, gateway: str = "") -> dict[str, Any]:
    labels = {"meshgate.io/gateway": gateway} if gateway else {}
    annotations = {"meshgate.io/config-version": version}
    body = json.dumps({"version": version, "padding": "x" * CONFIG_BYTES})
    meta = {"name": name, "namespace": NAMESPACE, "labels": labels, "annotations": annotations}
    return {"metadata": meta, "data": {"config.json": body}}


def identities(ca: CaRef, count: int, directory: Path) -> list[Proxy]:
    out = []
    for i in range(count):
        gateway = i < GATEWAY_PROXIES
        issued = issue_workload_certificate(
            ca.ca, ca.bundle, trust_domain=TD, namespace=NAMESPACE,
            service_account="meshgate-gw-edge" if gateway else "client", now=datetime.now(UTC),
        )  # fmt: skip
        home = directory / str(i)
        home.mkdir()
        files = {"tls.crt": issued.cert_pem, "tls.key": issued.key_pem}
        files["ca.crt"] = issued.ca_bundle_pem
        for name, text in files.items():
            (home / name).write_text(text)
        identity = Identity(str(home / "tls.crt"), str(home / "tls.key"), str(home / "ca.crt"), TD)
        target = Target("gateway", NAMESPACE, "edge") if gateway else Target("mesh", NAMESPACE)
        out.append((identity, target))
    return out


def streams(port: int, proxies: list[Proxy], applied: Any) -> None:
    """The child process: every proxy's stream; each apply reported as (version, when)."""

    async def run() -> None:
        running = []
        for identity, target in proxies:
            version = [""]

            async def apply(raw: bytes, version: list[str] = version) -> bool:
                version[0] = json.loads(raw)["version"]
                applied.put((version[0], time.monotonic()))
                return True

            settings = DeliverySettings("127.0.0.1", port, SERVER_ID, target, identity)
            stream = ConfigStream(settings, apply, lambda version=version: version[0])
            stream.start()
            running.append(stream)
        await asyncio.Event().wait()

    asyncio.run(run())


async def measure(ca: CaRef, proxies: list[Proxy], changes: int) -> dict[str, float]:
    ctx = serving.server_context()
    issued = serving.issue_server_certificate(
        ca, trust_domain=TD, namespace="meshgate-system", service_account="meshgate",
        now=datetime.now(UTC),
    )  # fmt: skip
    serving.load(ctx, issued, ca.bundle.to_pem())
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = ConfigServer(TD)
    server.observe("ADDED", config_map("meshgate-gw-edge", "v0", "edge"))
    server.observe("ADDED", config_map("meshgate-mesh", "v0"))
    runner = await serve(server, ctx, "127.0.0.1", port)
    applied: Any = multiprocessing.Queue()
    child = multiprocessing.Process(target=streams, args=(port, proxies, applied), daemon=True)
    child.start()
    loop = asyncio.get_running_loop()

    async def all_applied(version: str) -> list[float]:
        seen: list[float] = []
        while len(seen) < len(proxies):
            got, at = await loop.run_in_executor(None, applied.get, True, 60)
            if got == version:
                seen.append(at)
        return seen

    try:
        await all_applied("v0")
        spans = []
        cpu = time.process_time()
        for change in range(1, changes + 1):
            version = f"v{change}"
            since = time.monotonic()
            server.observe("MODIFIED", config_map("meshgate-gw-edge", version, "edge"))
            server.observe("MODIFIED", config_map("meshgate-mesh", version))
            spans.append(max(await all_applied(version)) - since)
            await asyncio.sleep(0.05)  # not a change right behind the last
        cpu = time.process_time() - cpu
    finally:
        child.kill()
        await runner.cleanup()
    spans.sort()
    return {
        "server_cpu_ms_per_change": round(cpu / changes * 1000, 2),
        "all_applied_ms_p50": round(statistics.median(spans) * 1000, 1),
        "all_applied_ms_max": round(spans[-1] * 1000, 1),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--proxies", type=int, default=33)
    parser.add_argument("--changes", type=int, default=50)
    args = parser.parse_args()
    root = create_root_ca(TD, datetime.now(UTC) - timedelta(days=1))
    ca = CaRef(root, TrustBundle.of([root.cert]), "meshgate-system", "meshgate-ca")
    with tempfile.TemporaryDirectory(prefix="meshgate-config-server-bench-") as directory:
        proxies = identities(ca, args.proxies, Path(directory))
        result = asyncio.run(measure(ca, proxies, args.changes))
    print(json.dumps({"proxies": args.proxies, "changes": args.changes, **result}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
