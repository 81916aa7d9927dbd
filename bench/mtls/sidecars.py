"""The mesh hop's processes as configs and command lines: two sidecars per variant, nothing started.

A variant is one outbound sidecar (the calling pod's, role `outbound`) dialling one inbound
sidecar (the called pod's, role `inbound`), which forwards to the app. Every pod shares
127.0.0.1 and differs by port. The hop between the sidecars is the only thing that differs:

- plaintext: the cluster dials the inbound port itself with `tls.mode: DISABLE`; the inbound
  side runs PeerAuthentication DISABLE and takes the target port from `Host`.
- mTLS: the cluster has `tls.mode: MESH` (dials `meshInboundPort`, sends the target port in
  `x-meshgate-target-port`, checks the peer's SPIFFE ID); the inbound side runs STRICT.

Both sides keep the default layers and write an access log to a file, as deployed sidecars do.
Pure builders (`targets.Launch`), so the runner owns every process it starts.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from targets import MESHPROXY, Launch

TRUST_DOMAIN = "cluster.local"
NAMESPACE = "bench"
HOST = "backend.bench"  # the Service name the calling app uses; the port is the app's


def spiffe(service_account: str) -> str:
    return f"spiffe://{TRUST_DOMAIN}/ns/{NAMESPACE}/sa/{service_account}"


@dataclass(frozen=True)
class IdentityFiles:
    cert_file: Path
    key_file: Path
    ca_file: Path

    def config(self) -> dict[str, str]:
        return {
            "certFile": str(self.cert_file),
            "keyFile": str(self.key_file),
            "caFile": str(self.ca_file),
            "trustDomain": TRUST_DOMAIN,
        }


def _launch(workdir: Path, cfg: dict[str, Any], admin_port: int, source: Path | None) -> Launch:
    argv = [MESHPROXY, "--config", str(workdir / "meshproxy.json")]
    argv += ["--admin-port", str(admin_port), "--admin-address", "127.0.0.1"]
    return Launch(
        argv,
        {"meshproxy.json": json.dumps(cfg, indent=2)},
        "sidecar, default layers, access log to a file",
        {"PYTHONPATH": str(source)} if source else {},
    )


def _common(workdir: Path, name: str, identity: IdentityFiles) -> dict[str, Any]:
    return {
        "schema": "meshproxy/v1",
        "node": {"role": "sidecar", "name": name, "namespace": NAMESPACE},
        "identity": identity.config(),
        "observability": {"accessLog": {"enabled": True, "path": str(workdir / "access.log")}},
        "limits": {"drainTimeout": 2},
    }


def inbound(
    workdir: Path,
    *,
    port: int,
    app_port: int,
    mtls: bool,
    identity: IdentityFiles,
    admin_port: int,
    source: Path | None,
) -> Launch:
    """The called pod's sidecar: STRICT for the mTLS hop, DISABLE for the plaintext one."""
    cfg = _common(workdir, "backend", identity)
    cfg["listeners"] = [
        {
            "name": "inbound",
            "address": "127.0.0.1",
            "port": port,
            "role": "inbound",
            "inbound": {
                "allowedPorts": [app_port],
                "peerAuthn": [{"mode": "STRICT" if mtls else "DISABLE"}],
            },
        }
    ]
    return _launch(workdir, cfg, admin_port, source)


def outbound(
    workdir: Path,
    *,
    port: int,
    app_port: int,
    peer_inbound_port: int,
    mtls: bool,
    identity: IdentityFiles,
    admin_port: int,
    source: Path | None,
    max_requests_per_connection: int = 0,
) -> Launch:
    """The calling pod's sidecar; `max_requests_per_connection=1` makes every request dial."""
    cfg = _common(workdir, "frontend", identity)
    cfg["listeners"] = [
        {
            "name": "outbound",
            "address": "127.0.0.1",
            "port": port,
            "role": "outbound",
            "virtualHosts": [
                {
                    "name": "backend",
                    "domains": [HOST, f"{HOST}:{app_port}"],
                    "routes": [{"name": "backend", "forward": {"clusters": [{"cluster": "be"}]}}],
                }
            ],
        }
    ]
    cluster: dict[str, Any] = {
        "name": "be",
        "connectionPool": {"maxRequestsPerConnection": max_requests_per_connection},
    }
    if mtls:
        cluster["endpoints"] = [{"address": "127.0.0.1", "port": app_port}]
        cluster["tls"] = {"mode": "MESH", "expectedIdentities": [spiffe("backend")]}
        cluster["meshInboundPort"] = peer_inbound_port
    else:
        cluster["endpoints"] = [{"address": "127.0.0.1", "port": peer_inbound_port}]
        cluster["tls"] = {"mode": "DISABLE"}
    cfg["clusters"] = [cluster]
    return _launch(workdir, cfg, admin_port, source)
