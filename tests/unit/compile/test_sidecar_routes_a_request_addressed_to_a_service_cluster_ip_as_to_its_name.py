"""A sidecar's outbound virtual host of a Service port answers to the Service's ClusterIP too
(with and without the port; bare only on the default port), so an app that dials the virtual IP
through its HTTP proxy gets the Service's routes; a headless Service adds no address."""

from __future__ import annotations

from typing import Any

from meshgate.compile import MeshSettings, compile_snapshot, snapshot_from_bodies


def service(name: str, cluster_ip: str) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": name, "namespace": "shop"},
        "spec": {
            "clusterIP": cluster_ip,
            "selector": {"app": name},
            "ports": [{"port": 80, "targetPort": 8080}, {"port": 8080, "targetPort": 8080}],
        },
    }


def domains() -> dict[str, list[str]]:
    snap = snapshot_from_bodies(
        settings=MeshSettings(),
        custom={},
        services=[service("web", "198.19.0.20"), service("db", "None")],
        secrets=[],
        namespaces=[{"metadata": {"name": "shop", "labels": {"meshgate.io/inject": "enabled"}}}],
    )
    (mesh,) = compile_snapshot(snap).meshes
    outbound = next(ln for ln in mesh.config.listeners if ln.role == "outbound")
    return {v.name: v.domains for v in outbound.virtual_hosts}


def test_cluster_ip_is_a_domain_of_each_port_and_bare_on_the_default_port() -> None:
    vhosts = domains()

    assert "198.19.0.20" in vhosts["shop/web:80"]
    assert "198.19.0.20:80" in vhosts["shop/web:80"]
    assert "198.19.0.20:8080" in vhosts["shop/web:8080"]
    assert "198.19.0.20" not in vhosts["shop/web:8080"]
    assert not any("None" in d for d in vhosts["shop/db:80"])
