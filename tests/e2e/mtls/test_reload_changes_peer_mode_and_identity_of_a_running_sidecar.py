"""A config reload on a running inbound sidecar: a STRICT/PERMISSIVE flip takes effect on the
listening port (the handshake's verify mode cannot change under a running server, so the
listener is reopened), and a new identity's certificate is what new handshakes present."""

from __future__ import annotations

import json
import os
import socket
import ssl
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from mesh_e2e import (
    Mesh,
    MeshProxy,
    SecretVolume,
    inbound_sidecar,
    mtls_context,
    refused,
    request,
    spiffe,
)
from meshproxy_e2e import Backends, Behaviour, free_port, wait_until

pytestmark = pytest.mark.e2e


def _rewrite(proxy: MeshProxy, cfg: dict[str, Any]) -> None:
    staged = proxy.config_path.with_suffix(".next")
    staged.write_text(json.dumps(cfg))
    os.replace(staged, proxy.config_path)


def _serves(port: int, client: ssl.SSLContext, identity: str) -> bool:
    """Does a new handshake present `identity`? The listener is reopened for a new identity:
    a connection racing the reopen may be refused, which is "not yet"."""
    try:
        return _served_identity(port, client) == identity
    except OSError:
        return False


def _served_identity(port: int, client: ssl.SSLContext) -> str:
    with (
        socket.create_connection(("127.0.0.1", port), timeout=5) as raw,
        client.wrap_socket(raw) as tls,
    ):
        cert = tls.getpeercert()
        assert cert is not None
        return next(str(v) for k, v in cert["subjectAltName"] if k == "URI")


def test_a_mode_flip_applies_to_new_connections_both_ways(
    mesh: Mesh, backends: Backends, proxies: Callable[..., MeshProxy], tmp_path: Path
) -> None:
    app_port = backends.start(Behaviour("app"))
    volume = SecretVolume(tmp_path / "backend-identity")
    volume.write(mesh.issue(sa="backend"))
    port = free_port()
    proxy = proxies("inbound", inbound_sidecar(volume, port, [app_port], mode="PERMISSIVE"))
    peer = mtls_context(mesh.issue(sa="frontend"), mesh.bundle.to_pem(), tmp_path)
    target = {"x-meshgate-target-port": str(app_port)}
    plaintext = {"host": f"backend:{app_port}"}
    assert request(port, **plaintext)[0] == 200

    def peer_served() -> bool:
        # The listener is reopened for a new verify mode: while it is, connections are refused.
        return not refused(port, context=peer, headers=target)

    _rewrite(proxy, inbound_sidecar(volume, port, [app_port], mode="STRICT"))
    wait_until(
        lambda: refused(port, **plaintext) and peer_served(),
        10,
        "plaintext refused and the mesh peer served under STRICT",
    )

    _rewrite(proxy, inbound_sidecar(volume, port, [app_port], mode="PERMISSIVE"))
    wait_until(lambda: not refused(port, **plaintext), 10, "plaintext to be served again")
    assert request(port, context=peer, headers=target)[0] == 200
    assert proxy.metric("meshproxy_config_reloads_total", result="failure") == 0


def test_a_new_identity_in_the_config_is_presented_to_new_handshakes(
    mesh: Mesh, backends: Backends, proxies: Callable[..., MeshProxy], tmp_path: Path
) -> None:
    app_port = backends.start(Behaviour("app"))
    first = SecretVolume(tmp_path / "identity-v1")
    first.write(mesh.issue(sa="backend"))
    second = SecretVolume(tmp_path / "identity-v2")
    second.write(mesh.issue(sa="backend-v2"))
    port = free_port()
    proxy = proxies("inbound", inbound_sidecar(first, port, [app_port], mode="STRICT"))
    peer = mtls_context(mesh.issue(sa="frontend"), mesh.bundle.to_pem(), tmp_path)
    target = {"x-meshgate-target-port": str(app_port)}
    assert _served_identity(port, peer) == spiffe("shop", "backend")

    _rewrite(proxy, inbound_sidecar(second, port, [app_port], mode="STRICT"))
    wait_until(
        lambda: _serves(port, peer, spiffe("shop", "backend-v2")),
        10,
        "the new identity's certificate",
    )
    assert request(port, context=peer, headers=target)[0] == 200
    assert proxy.metric("meshproxy_config_reloads_total", result="failure") == 0
