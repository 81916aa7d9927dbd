"""A sidecar boots from its namespace's config stored in parts, and serves a route in it.

600 Services make the namespace's sidecar config larger than a ConfigMap keeps inline (512
KiB), so the operator stores it gzip'ed in `meshgate-mesh-config-<n>` under the index in
`meshgate-mesh`. A Pod injected after that mounts the index and its parts in one projected
volume (the node agent projects it as the kubelet does); its sidecar assembles the parts at boot
(the first config it applies is the file's, with no refusal), and the app's request through it
reaches the echo Service over mTLS. Later versions reach it through the config server's stream
too, which serves the assembled config.
"""

from __future__ import annotations

import base64
import http.client
import json
import re
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from harness.session import NodeAgent
from kubernetes import client
from kubernetes.client import ApiClient
from scenario_kit import Answer, User, echo_app

from meshgate.localcluster.waiting import wait_for
from meshproxy import configparts

FILLER_SERVICES = 600
OUTBOUND = 15001


def _filler(number: int) -> client.V1Service:
    return client.V1Service(
        metadata=client.V1ObjectMeta(name=f"filler-{number:04d}"),
        spec=client.V1ServiceSpec(ports=[client.V1ServicePort(name="http", port=8080)]),
    )


def _via_sidecar(caller_ip: str, host: str, path: str) -> Answer:
    """What the caller's app does: an HTTP proxy request to its own sidecar."""
    conn = http.client.HTTPConnection(caller_ip, OUTBOUND, timeout=10)
    try:
        conn.request("GET", f"http://{host}{path}")
        resp = conn.getresponse()
        return Answer(resp.status, {k.lower(): v for k, v in resp.getheaders()}, resp.read())
    finally:
        conn.close()


def test_a_sidecar_booting_from_a_split_mesh_config_serves_a_route_in_it(
    user: User, api_client: ApiClient, node_agent: NodeAgent
) -> None:
    started = time.monotonic()
    core = client.CoreV1Api(api_client)
    ns = user.namespace
    user.label_namespace("meshgate.io/inject=enabled")
    user.apply_text(echo_app("echo"))
    numbers = range(FILLER_SERVICES)
    with ThreadPoolExecutor(4) as pool:
        list(pool.map(lambda n: core.create_namespaced_service(ns, _filler(n)), numbers))
    try:
        _boots_and_serves(user, node_agent, started)
    finally:
        # Every meshed namespace's config lists every Service: gone before the next test, not
        # whenever the namespace's deletion gets to them.
        with ThreadPoolExecutor(4) as pool:
            names = [f"filler-{n:04d}" for n in numbers]
            list(pool.map(lambda name: core.delete_namespaced_service(name, ns), names))


def _boots_and_serves(user: User, node_agent: NodeAgent, started: float) -> None:
    ns = user.namespace

    def index() -> dict[str, Any] | None:
        """The index, once the config it names holds every Service (nothing more to come)."""
        maps = {cm["metadata"]["name"]: cm for cm in user.get("configmaps")["items"]}
        raw = ((maps.get("meshgate-mesh") or {}).get("data") or {}).get("config.json", "")
        if not configparts.is_index(raw.encode()):
            return None
        files = {
            k: base64.b64decode(v)
            for cm in maps.values()
            for k, v in cm.get("binaryData", {}).items()
        }
        try:
            config = configparts.assemble(raw.encode(), files.__getitem__)
        except (configparts.ConfigPartsError, KeyError):  # its parts not all listed yet
            return None
        found: dict[str, Any] = json.loads(raw)
        return found if f"filler-{FILLER_SERVICES - 1:04d}.{ns}" in config.decode() else None

    stored = wait_for(index, timeout=300, what="meshgate-mesh holding an index of parts")
    # The caller Pod is created (and injected) only now: it boots from index and parts.
    user.apply_text(echo_app("caller"))
    (caller,) = user.ready_pods("app=caller", 1, timeout=180)
    user.ready_pods("app=echo", 1, timeout=180)
    meta = caller["metadata"]
    pod_dir = node_agent.state_dir / "pods" / f"{ns}_{meta['name']}_{meta['uid']}"
    mounted = (pod_dir / "root/etc/meshgate/config.json").read_text()
    assert configparts.is_index(mounted.encode()), mounted[:200]
    parts = sorted(p.name for p in (pod_dir / "root/etc/meshgate").glob("part-*.gz"))
    assert parts, "no part mounted"

    answer = user.answer_within(
        lambda: _via_sidecar(caller["status"]["podIP"], f"echo.{ns}:8080", "/in-parts"),
        200,
        120,
        "echo through the caller's sidecar",
    )
    assert answer.json()["path"] == "/in-parts"
    # The sidecar's first config came from its mounted file, assembled from the parts.
    log = (pod_dir / "logs/meshgate-proxy.log").read_text()
    applied = re.findall(r"config (\S+) applied \(version (\w+)\)", log)
    assert applied, log[-2000:]
    # (The config only grew since the index appeared, so whatever version the file had then
    # was an index of parts; later versions also come through the config server's stream.)
    source, _ = applied[0]
    assert source.endswith("/etc/meshgate/config.json"), applied
    # A later version's index can be mounted before all its parts (each ConfigMap volume syncs
    # on its own, as kubelet's do): it is refused until they are, keeping the config served.
    # Any other refusal is a failure.
    refusals = [
        line for line in log.splitlines() if "refused" in line and "not all mounted yet" not in line
    ]
    assert not refusals, log[-2000:]
    sizes = {
        cm["metadata"]["name"]: len(json.dumps(cm))
        for cm in user.get("configmaps")["items"]
        if cm["metadata"]["name"].startswith("meshgate-mesh")
    }
    assert max(sizes.values()) < 1024 * 1024, sizes
    print(
        f"\nmesh config in parts: index version {stored['version']}, parts {stored['parts']}, "
        f"objects {sorted(sizes.items())}, sidecar mounted {parts}; "
        f"{time.monotonic() - started:.0f} s in all"
    )
