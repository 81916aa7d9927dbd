"""PeerAuthentication DISABLE, compiled by the operator and served by real sidecars: the workload
takes plaintext only (a mesh peer's mTLS is refused), and its callers are compiled to reach it
in plaintext, so traffic keeps flowing. PERMISSIVE, for contrast, keeps mTLS between sidecars."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from compiled_mesh import as_pod, compile_mesh
from mesh_e2e import Mesh, MeshProxy, SecretVolume, mtls_context, refused, request, spiffe
from meshproxy_e2e import Backends, Behaviour, free_port

NAMESPACES = """
apiVersion: v1
kind: Namespace
metadata: {name: shop, labels: {meshgate.io/inject: enabled}}
---
apiVersion: v1
kind: Namespace
metadata: {name: meshgate-system, labels: {meshgate.io/inject: enabled}}
"""


def backend(*ports: int) -> str:
    service_ports = ", ".join(f"{{name: p{p}, port: {p}, targetPort: {p}}}" for p in ports)
    slice_ports = ", ".join(f"{{name: p{p}, port: {p}}}" for p in ports)
    return f"""
---
apiVersion: v1
kind: Service
metadata: {{name: backend, namespace: shop}}
spec: {{selector: {{app: backend}}, ports: [{service_ports}]}}
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: {{name: backend-1, namespace: shop, labels: {{kubernetes.io/service-name: backend}}}}
ports: [{slice_ports}]
endpoints:
  - addresses: [127.0.0.1]
    conditions: {{ready: true}}
    targetRef: {{kind: Pod, name: backend-a}}
---
apiVersion: v1
kind: Pod
metadata: {{name: backend-a, namespace: shop, labels: {{app: backend}}}}
"""


def peer_authentication(spec: str) -> str:
    return f"""
---
apiVersion: meshgate.io/v1alpha1
kind: PeerAuthentication
metadata: {{name: backend, namespace: shop}}
spec:
  selector: {{matchLabels: {{app: backend}}}}
{spec}
"""


def _identity(mesh: Mesh, tmp_path: Path, sa: str) -> dict[str, str]:
    volume = SecretVolume(tmp_path / f"{sa}-identity")
    volume.write(mesh.issue(sa=sa))
    return volume.identity()


def _labels(tmp_path: Path) -> tuple[str, ...]:
    path = tmp_path / "backend-labels"
    path.write_text('app="backend"\n')
    return ("--pod-labels-file", str(path))


def test_disable_takes_plaintext_only_and_callers_are_compiled_to_send_it(
    mesh: Mesh,
    backends: Backends,
    proxies: Callable[..., MeshProxy],
    tmp_path: Path,
) -> None:
    app = Behaviour("app")
    app_port = backends.start(app)
    config = compile_mesh(
        NAMESPACES + backend(app_port) + peer_authentication("  mtls: {mode: DISABLE}")
    )
    (cluster,) = config["clusters"]
    assert cluster["tls"]["mode"] == "DISABLE"

    inbound_port, outbound_port = free_port(), free_port()
    backend_identity = _identity(mesh, tmp_path, "backend")
    proxies(
        "backend", as_pod(config, "inbound", inbound_port, backend_identity), args=_labels(tmp_path)
    )
    proxies(
        "frontend",
        as_pod(
            config, "outbound", outbound_port, _identity(mesh, tmp_path, "frontend"), inbound_port
        ),
    )

    # The caller's sidecar reaches the app in plaintext: no mesh identity arrives with it.
    assert request(outbound_port, host="backend.shop")[0] == 200
    assert "x-meshgate-peer-identity" not in app.seen[-1].headers

    # The workload's inbound side speaks no TLS at all, and serves plaintext.
    peer = mtls_context(mesh.issue(sa="frontend"), mesh.bundle.to_pem(), tmp_path)
    target = {"x-meshgate-target-port": str(app_port)}
    assert refused(inbound_port, context=peer, headers=target)
    assert request(inbound_port, host=f"backend:{app_port}")[0] == 200
    assert len(app.seen) == 2


def test_disable_on_one_port_refuses_mesh_peers_there_and_strict_next_to_it_needs_them(
    mesh: Mesh,
    backends: Backends,
    proxies: Callable[..., MeshProxy],
    tmp_path: Path,
) -> None:
    plain_app, strict_app = Behaviour("plain"), Behaviour("strict")
    plain_port, strict_port = backends.start(plain_app), backends.start(strict_app)
    config = compile_mesh(
        NAMESPACES
        + backend(plain_port, strict_port)
        + peer_authentication(
            f"  mtls: {{mode: STRICT}}\n  portLevelMtls: {{{plain_port}: {{mode: DISABLE}}}}"
        )
    )
    by_port = {c["endpoints"][0]["port"]: c["tls"]["mode"] for c in config["clusters"]}
    assert by_port == {plain_port: "DISABLE", strict_port: "MESH"}

    inbound_port = free_port()
    inbound = proxies(
        "backend",
        as_pod(config, "inbound", inbound_port, _identity(mesh, tmp_path, "backend")),
        args=_labels(tmp_path),
    )
    peer = mtls_context(mesh.issue(sa="frontend"), mesh.bundle.to_pem(), tmp_path)

    def mtls_to(port: int) -> int:
        return request(inbound_port, context=peer, headers={"x-meshgate-target-port": str(port)})[0]

    assert mtls_to(plain_port) == 403
    assert mtls_to(strict_port) == 200
    assert request(inbound_port, host=f"backend:{plain_port}")[0] == 200
    assert request(inbound_port, host=f"backend:{strict_port}")[0] == 403
    assert len(plain_app.seen) == 1
    assert len(strict_app.seen) == 1
    assert inbound.metric("meshproxy_peer_authn_refused_total") >= 2


def test_permissive_keeps_mtls_between_sidecars(
    mesh: Mesh,
    backends: Backends,
    proxies: Callable[..., MeshProxy],
    tmp_path: Path,
) -> None:
    app = Behaviour("app")
    app_port = backends.start(app)
    config = compile_mesh(
        NAMESPACES + backend(app_port) + peer_authentication("  mtls: {mode: PERMISSIVE}")
    )
    (cluster,) = config["clusters"]
    assert cluster["tls"]["mode"] == "MESH"
    inbound_port, outbound_port = free_port(), free_port()
    proxies(
        "backend",
        as_pod(config, "inbound", inbound_port, _identity(mesh, tmp_path, "backend")),
        args=_labels(tmp_path),
    )
    proxies(
        "frontend",
        as_pod(
            config, "outbound", outbound_port, _identity(mesh, tmp_path, "frontend"), inbound_port
        ),
    )
    assert request(outbound_port, host="backend.shop")[0] == 200
    assert app.seen[-1].headers.get("x-meshgate-peer-identity") == spiffe("shop", "frontend")
