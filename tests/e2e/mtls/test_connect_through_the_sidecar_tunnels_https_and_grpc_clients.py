"""CONNECT through a sidecar's outbound listener, as apps that honour `https_proxy` and
`grpc_proxy` send it: the sidecar answers 200 and splices bytes both ways.

To a mesh Service the tunnel's upstream leg is mTLS to the destination's sidecar, whose inbound
side authorizes the caller by its verified identity and opens the last leg to the app; to a
destination outside the mesh it is TCP to the endpoint. A destination the sidecar does not
know is refused as a plain request to it is (404). Real processes throughout: curl, a grpcio
client in its own process, two meshproxy processes, an HTTPS app and a gRPC app on loopback.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from grpc_apps import SERVICE, GrpcServer
from https_app import https_app
from mesh_e2e import Mesh, MeshProxy, SecretVolume, inbound_sidecar, spiffe
from meshproxy_e2e import free_port, wait_until

FRONTEND = spiffe("shop", "frontend")
BACKEND = spiffe("shop", "backend")


def outbound_with_destinations(
    volume: SecretVolume, port: int, peer_inbound_port: int, destinations: list[dict[str, Any]]
) -> dict[str, Any]:
    """A frontend sidecar config in the operator's shape: one virtual host per Service port,
    named as its cluster. `destinations`: name, domains, app port, mesh (bool)."""
    vhosts, clusters = [], []
    for d in destinations:
        vhosts.append(
            {
                "name": d["name"],
                "domains": d["domains"],
                "routes": [
                    {
                        "name": f"{d['name']}/default",
                        "forward": {"clusters": [{"cluster": d["name"]}]},
                    }
                ],
            }
        )
        cluster: dict[str, Any] = {
            "name": d["name"],
            "endpoints": [{"address": "127.0.0.1", "port": d["port"]}],
        }
        if d["mesh"]:
            cluster["tls"] = {"mode": "MESH", "expectedIdentities": [BACKEND]}
            cluster["meshInboundPort"] = peer_inbound_port
        clusters.append(cluster)
    return {
        "schema": "meshproxy/v1",
        "node": {"role": "sidecar", "name": "frontend", "namespace": "shop"},
        "identity": volume.identity(),
        "listeners": [
            {
                "name": "outbound",
                "address": "127.0.0.1",
                "port": port,
                "role": "outbound",
                "virtualHosts": vhosts,
            }
        ],
        "clusters": clusters,
        "observability": {"accessLog": {"enabled": True, "path": "-"}},
        "limits": {"drainTimeout": 2},
    }


def curl(url: str, proxy_port: int, ca_file: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k.lower() not in ("no_proxy", "all_proxy")}
    env["https_proxy"] = f"http://127.0.0.1:{proxy_port}"
    return subprocess.run(
        ["curl", "-sS", "--max-time", "10", "--cacert", str(ca_file), *args, url],
        env=env,
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )


def identities(tmp_path: Path, mesh: Mesh) -> tuple[SecretVolume, SecretVolume]:
    backend, frontend = SecretVolume(tmp_path / "b"), SecretVolume(tmp_path / "f")
    backend.write(mesh.issue(sa="backend"))
    frontend.write(mesh.issue(sa="frontend"))
    return backend, frontend


def test_curl_with_https_proxy_reaches_an_https_app_over_mtls_and_outside_the_mesh(
    mesh: Mesh, proxies: Callable[..., MeshProxy], tmp_path: Path
) -> None:
    backend_volume, frontend_volume = identities(tmp_path, mesh)
    names = ["secure.shop", "legacy.plain"]
    with https_app(tmp_path / "app", names) as app:
        inbound_port, outbound_port = free_port(), free_port()
        inbound = proxies("inbound", inbound_sidecar(backend_volume, inbound_port, [app.port]))
        outbound = proxies(
            "outbound",
            outbound_with_destinations(
                frontend_volume,
                outbound_port,
                inbound_port,
                [
                    {
                        "name": "shop/secure:443",
                        "domains": ["secure.shop", "secure.shop:443"],
                        "port": app.port,
                        "mesh": True,
                    },
                    {
                        "name": "plain/legacy:8443",
                        "domains": ["legacy.plain:8443"],
                        "port": app.port,
                        "mesh": False,
                    },
                ],
            ),
        )
        logs = f"\n{outbound.output()[-3000:]}\n{inbound.output()[-3000:]}"

        meshed = curl("https://secure.shop/hello", outbound_port, app.ca_file)
        assert meshed.returncode == 0, meshed.stderr + logs
        assert json.loads(meshed.stdout) == {"path": "/hello", "sni": "secure.shop"}

        outside = curl("https://legacy.plain:8443/plain", outbound_port, app.ca_file)
        assert outside.returncode == 0, outside.stderr + logs
        assert json.loads(outside.stdout) == {"path": "/plain", "sni": "legacy.plain"}

        # Addressed to the Pod (the tunnel's target is its address; TLS still names the host).
        pod = curl(
            "https://secure.shop/pod",
            outbound_port,
            app.ca_file,
            "--connect-to",
            f"secure.shop:443:127.0.0.1:{app.port}",
        )
        assert pod.returncode == 0, pod.stderr + logs
        assert json.loads(pod.stdout) == {"path": "/pod", "sni": "secure.shop"}

        unknown = curl("https://elsewhere.example/", outbound_port, app.ca_file)
        assert unknown.returncode != 0
        assert "404" in unknown.stderr

        # The mesh tunnel crossed the inbound sidecar as the verified frontend; the one outside
        # the mesh never did. Each tunnel is one request in the metrics and the access log.
        def lines(proxy: MeshProxy, listener: str) -> list[dict[str, Any]]:
            return [
                x
                for x in proxy.access_lines()
                if x.get("listener") == listener and x.get("method") == "CONNECT"
            ]

        wait_until(lambda: len(lines(outbound, "outbound")) >= 4, 10, "outbound access lines")
        wait_until(lambda: len(lines(inbound, "inbound")) >= 2, 10, "inbound access lines")
        inbound_lines = lines(inbound, "inbound")
        assert [(x["status"], x["peer_identity"]) for x in inbound_lines] == [(200, FRONTEND)] * 2
        secure = [x for x in lines(outbound, "outbound") if x["cluster"] == "shop/secure:443"]
        assert [x["status"] for x in secure] == [200, 200]  # by name, then by the Pod's address
        assert all(x["bytes_sent"] > 0 for x in secure)
        by_cluster = {x["cluster"]: x for x in lines(outbound, "outbound")}
        assert by_cluster["plain/legacy:8443"]["status"] == 200
        assert by_cluster[""]["status"] == 404  # elsewhere.example: no such destination
        assert (
            outbound.metric(
                "meshproxy_requests_total", route="connect", cluster="shop/secure:443", code="200"
            )
            == 2
        )


def test_inbound_authorization_refuses_a_tunnel_from_a_denied_identity(
    mesh: Mesh, proxies: Callable[..., MeshProxy], tmp_path: Path
) -> None:
    backend_volume, frontend_volume = identities(tmp_path, mesh)
    deny_frontend = {
        "name": "no-frontend",
        "action": "DENY",
        "rules": [{"from": [{"principals": ["cluster.local/ns/shop/sa/frontend"]}]}],
    }
    with https_app(tmp_path / "app", ["secure.shop"]) as app:
        inbound_port, outbound_port = free_port(), free_port()
        inbound = proxies(
            "inbound",
            inbound_sidecar(backend_volume, inbound_port, [app.port], authz=[deny_frontend]),
        )
        proxies(
            "outbound",
            outbound_with_destinations(
                frontend_volume,
                outbound_port,
                inbound_port,
                [
                    {
                        "name": "shop/secure:443",
                        "domains": ["secure.shop:443"],
                        "port": app.port,
                        "mesh": True,
                    }
                ],
            ),
        )
        denied = curl("https://secure.shop/hello", outbound_port, app.ca_file)
        assert denied.returncode != 0
        assert "403" in denied.stderr
        assert inbound.metric("meshproxy_authz_denied_total") == 1


GRPC_CLIENT = f"""
import sys
import grpc
channel = grpc.insecure_channel(sys.argv[1])
unary = channel.unary_unary("/{SERVICE}/Unary")
bidi = channel.stream_stream("/{SERVICE}/Bidi")
print(unary(b"through", timeout=10).decode())
print(",".join(m.decode() for m in bidi(iter([b"a", b"b"]), timeout=10)))
channel.close()
"""


def test_grpcio_client_with_grpc_proxy_calls_a_grpc_app_through_the_sidecar(
    mesh: Mesh, proxies: Callable[..., MeshProxy], tmp_path: Path
) -> None:
    backend_volume, frontend_volume = identities(tmp_path, mesh)
    server = GrpcServer("127.0.0.1", free_port())
    try:
        inbound_port, outbound_port = free_port(), free_port()
        inbound = proxies("inbound", inbound_sidecar(backend_volume, inbound_port, [server.port]))
        outbound = proxies(
            "outbound",
            outbound_with_destinations(
                frontend_volume,
                outbound_port,
                inbound_port,
                [
                    {
                        "name": "shop/echo:50051",
                        "domains": ["echo.shop", "echo.shop:50051"],
                        "port": server.port,
                        "mesh": True,
                    }
                ],
            ),
        )
        env = {k: v for k, v in os.environ.items() if "proxy" not in k.lower()}
        env["grpc_proxy"] = f"http://127.0.0.1:{outbound_port}"
        done = subprocess.run(
            [sys.executable, "-c", GRPC_CLIENT, "echo.shop:50051"],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        logs = f"\n{outbound.output()[-3000:]}\n{inbound.output()[-3000:]}"
        assert done.returncode == 0, done.stderr + logs
        assert done.stdout.split() == ["echo:through", "echo:a,echo:b"]
        # The app saw bytes the sidecars never read: no identity header was added to them.
        assert server.observed.identities == [""]
        wait_until(
            lambda: any(x.get("method") == "CONNECT" for x in inbound.access_lines()),
            10,
            "the inbound sidecar's CONNECT line",
        )
    finally:
        server.stop()
