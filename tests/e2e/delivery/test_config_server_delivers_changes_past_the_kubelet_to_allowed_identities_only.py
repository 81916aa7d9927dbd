"""Push delivery end to end, through the chart's operator and real meshproxy processes.

With kubelet's delay on the node agent (a running Pod's ConfigMap volume is projected again only
at its sync period), a Route edit still reaches every gateway proxy and sidecar, and their
mounted files still hold the old config: the change came over the config stream. A proxy's
identity asking for a config it may not have gets 403; plaintext and certificate-less clients
get no answer at all.
"""

from __future__ import annotations

import asyncio
import json
import ssl
from collections.abc import Iterator

import pytest
from delivery_kit import Asker, ProxyAt, mounted_config, route, set_volume_sync_period
from harness.session import NodeAgent
from helm_release import Release
from kubernetes import client
from kubernetes.client import ApiClient
from workload import meshed_workload

from meshgate.localcluster.waiting import wait_for
from meshproxy.config import Identity
from meshproxy.delivery import wire
from meshproxy.delivery.settings import DeliverySettings
from meshproxy.delivery.stream import ConfigStream
from meshproxy.delivery.target import Target

NAMESPACE = "delivery-e2e"
# Set by charts/meshgate/ci/local-runner-values.yaml (configServer.clusterIP) and its port.
CONFIG_SERVER = ("198.19.250.12", 15012)


@pytest.fixture(scope="module")
def workload(meshgate_release: Release, api_client: ApiClient) -> Iterator[list[ProxyAt]]:
    with meshed_workload(
        api_client, NAMESPACE, gateway_replicas=2, sidecars=2, timeout=180
    ) as found:
        yield found


def _serving(proxies: list[ProxyAt], change: int) -> bool:
    async def ask() -> list[int | None]:
        askers = [Asker(p) for p in proxies]
        try:
            return await asyncio.gather(*(a.change() for a in askers))
        finally:
            for a in askers:
                a.close()

    return all(c == change for c in asyncio.run(ask()))


def test_a_route_edit_reaches_every_proxy_while_their_files_wait_for_the_kubelet(
    workload: list[ProxyAt], api_client: ApiClient, node_agent: NodeAgent
) -> None:
    core = client.CoreV1Api(api_client)
    custom = client.CustomObjectsApi(api_client)
    wait_for(lambda: _serving(workload, 0), timeout=60, what="every proxy serving change 0")
    set_volume_sync_period(core, "3600")
    try:
        body = route(1)
        custom.patch_namespaced_custom_object(
            "meshgate.io", "v1alpha1", NAMESPACE, "routes", "change", {"spec": body["spec"]}
        )
        wait_for(lambda: _serving(workload, 1), timeout=30, what="every proxy serving change 1")
        pods = {p.metadata.name: p for p in core.list_namespaced_pod(NAMESPACE).items}
        for proxy in workload:
            mounted = mounted_config(node_agent.state_dir, NAMESPACE, pods[proxy.pod])
            assert '"/changed/0"' in mounted, proxy  # the kubelet has not projected the edit
            assert "/changed/1" not in mounted, proxy
    finally:
        set_volume_sync_period(core, None)


def _identity_of(node_agent: NodeAgent, pod: client.V1Pod) -> Identity:
    meta = pod.metadata
    root = node_agent.state_dir / "pods" / f"{NAMESPACE}_{meta.name}_{meta.uid}" / "root"
    directory = root / "etc/meshgate/identity"
    return Identity(
        str(directory / "tls.crt"), str(directory / "tls.key"), str(directory / "ca.crt")
    )


def _server_id(api_client: ApiClient, release: Release) -> str:
    pods = client.CoreV1Api(api_client).list_namespaced_pod(
        release.namespace, label_selector="app.kubernetes.io/component=operator"
    )
    account = pods.items[0].spec.service_account_name
    return f"spiffe://cluster.local/ns/{release.namespace}/sa/{account}"


async def _ask(identity: Identity, target: Target, server_id: str) -> tuple[str, list[bytes]]:
    """What a proxy with `identity` asking for `target` gets: its stream's error, its configs."""
    received: list[bytes] = []

    async def apply(raw: bytes) -> bool:
        received.append(raw)
        return True

    settings = DeliverySettings(*CONFIG_SERVER, server_id, target, identity)
    stream = ConfigStream(settings, apply, lambda: "")
    stream.start()
    try:
        for _ in range(100):
            if received or stream.last_error.startswith("refused"):
                break
            await asyncio.sleep(0.05)
    finally:
        await stream.stop()
    return stream.last_error, received


def test_a_proxy_asking_for_a_config_its_identity_may_not_have_is_refused(
    workload: list[ProxyAt],
    api_client: ApiClient,
    node_agent: NodeAgent,
    meshgate_release: Release,
) -> None:
    core = client.CoreV1Api(api_client)
    sidecar = next(p for p in workload if p.kind == "sidecar")
    identity = _identity_of(node_agent, core.read_namespaced_pod(sidecar.pod, NAMESPACE))
    server_id = _server_id(api_client, meshgate_release)

    # Its own namespace's mesh config: served (the control that the identity itself works).
    error, configs = asyncio.run(_ask(identity, Target("mesh", NAMESPACE), server_id))
    assert len(configs) == 1, error
    assert json.loads(configs[0])["node"]["role"] == "sidecar"
    # The gateway's config in its own namespace, and another namespace's mesh config: refused.
    for target in (Target("gateway", NAMESPACE, "edge"), Target("mesh", "meshgate-system")):
        error, configs = asyncio.run(_ask(identity, target, server_id))
        assert configs == []
        assert error.startswith(f"refused {target}: spiffe://cluster.local/ns/{NAMESPACE}/sa/")
        assert f"may not have {target}" in error


def test_plaintext_and_certificate_less_clients_get_no_config(
    workload: list[ProxyAt], api_client: ApiClient, node_agent: NodeAgent
) -> None:
    path = wire.poll_path(f"mesh/{NAMESPACE}", "", "", 0)
    request = f"GET {path} HTTP/1.1\r\nHost: config\r\n\r\n".encode()

    async def plaintext() -> bytes:
        reader, writer = await asyncio.open_connection(*CONFIG_SERVER)
        writer.write(request)
        answer = await asyncio.wait_for(reader.read(), 10)
        writer.close()
        return answer

    answer = asyncio.run(plaintext())
    assert b"HTTP/1.1 200" not in answer
    assert b'"schema"' not in answer

    core = client.CoreV1Api(api_client)
    sidecar = next(p for p in workload if p.kind == "sidecar")
    ca_file = _identity_of(node_agent, core.read_namespaced_pod(sidecar.pod, NAMESPACE)).ca_file

    async def without_certificate() -> bytes:
        ctx = ssl.create_default_context(cafile=ca_file)
        ctx.check_hostname = False
        reader, writer = await asyncio.open_connection(*CONFIG_SERVER, ssl=ctx, server_hostname="")
        writer.write(request)
        try:
            return await asyncio.wait_for(reader.read(), 10)
        except (ssl.SSLError, ConnectionError):
            return b""
        finally:
            writer.close()

    assert b'"schema"' not in asyncio.run(without_certificate())


def test_gateway_and_namespace_say_how_many_proxies_run_the_current_config(
    workload: list[ProxyAt], api_client: ApiClient
) -> None:
    core = client.CoreV1Api(api_client)
    custom = client.CustomObjectsApi(api_client)

    def current_version() -> str:
        cm = core.read_namespaced_config_map("meshgate-gw-edge", NAMESPACE)
        return str(cm.metadata.annotations["meshgate.io/config-version"])

    def gateway_proxies() -> dict[str, object] | None:
        gw = custom.get_namespaced_custom_object(
            "meshgate.io", "v1alpha1", NAMESPACE, "gateways", "edge"
        )
        proxies = (gw.get("status") or {}).get("proxies")
        wanted = {"version": current_version(), "current": 2, "total": 2}
        return proxies if proxies == wanted else None

    wait_for(
        gateway_proxies, timeout=60, what="Gateway status.proxies: 2 of 2 on the current config"
    )

    # Every injected Pod's sidecar: the clients' and echo's.
    sidecars = len(
        core.list_namespaced_pod(NAMESPACE, label_selector="meshgate.io/injected=true").items
    )
    assert sidecars == 3

    def namespace_annotation() -> str | None:
        version = core.read_namespaced_config_map("meshgate-mesh", NAMESPACE).metadata.annotations[
            "meshgate.io/config-version"
        ]
        ns = core.read_namespace(NAMESPACE)
        text = (ns.metadata.annotations or {}).get("meshgate.io/proxies")
        return text if text == f"{sidecars}/{sidecars} proxies on config {version}" else None

    wait_for(namespace_annotation, timeout=90, what="namespace annotation: every sidecar current")
