"""Helpers for the mesh mTLS end-to-end tests: identities on disk, sidecar configs, processes.

Certificates come from the operator's own issuing functions and are laid out the way kubelet
mounts a Secret (`..data` symlink to a timestamped directory, files linking through it), so a
rotation here is the same atomic swap a real pod sees. Every wait is a bounded poll.
"""

from __future__ import annotations

import http.client
import json
import os
import socket
import ssl
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from meshproxy_e2e import free_port, start_meshproxy, stop_meshproxy, wait_until

from meshgate.certs.bundle import TrustBundle
from meshgate.certs.ca import CertificateAuthority, create_root_ca
from meshgate.certs.workload import IssuedCertificate, issue_workload_certificate

TD = "cluster.local"


def spiffe(namespace: str, sa: str) -> str:
    return f"spiffe://{TD}/ns/{namespace}/sa/{sa}"


@dataclass(frozen=True)
class Mesh:
    ca: CertificateAuthority
    bundle: TrustBundle

    @classmethod
    def new(cls) -> Mesh:
        ca = create_root_ca(TD, datetime.now(UTC) - timedelta(hours=1))
        return cls(ca, TrustBundle.of([ca.cert]))

    def issue(
        self, namespace: str = "shop", sa: str = "frontend", hours: float = 24
    ) -> IssuedCertificate:
        return issue_workload_certificate(
            self.ca,
            self.bundle,
            trust_domain=TD,
            namespace=namespace,
            service_account=sa,
            now=datetime.now(UTC),
            validity=timedelta(hours=hours),
        )


class SecretVolume:
    """A directory laid out like a kubelet-mounted identity Secret."""

    def __init__(self, root: Path) -> None:
        self.root = root
        root.mkdir(parents=True, exist_ok=True)
        self._generation = 0

    def write(self, issued: IssuedCertificate, ca_pem: str | None = None) -> None:
        """Atomically replace every file: a new directory, then one rename of `..data`."""
        self._generation += 1
        data = self.root / f"..{time.time_ns()}_{self._generation}"
        data.mkdir()
        (data / "tls.crt").write_text(issued.cert_pem)
        (data / "tls.key").write_text(issued.key_pem)
        (data / "ca.crt").write_text(ca_pem or issued.ca_bundle_pem)
        link = self.root / "..data_tmp"
        link.symlink_to(data.name)
        os.replace(link, self.root / "..data")
        for name in ("tls.crt", "tls.key", "ca.crt"):
            if not (self.root / name).is_symlink():
                (self.root / name).symlink_to(f"..data/{name}")

    def identity(self) -> dict[str, str]:
        return {
            "certFile": str(self.root / "tls.crt"),
            "keyFile": str(self.root / "tls.key"),
            "caFile": str(self.root / "ca.crt"),
            "trustDomain": TD,
        }


# --- configs -------------------------------------------------------------------------------------


def inbound_sidecar(
    volume: SecretVolume,
    inbound_port: int,
    app_ports: list[int],
    mode: str = "STRICT",
    authz: list[dict[str, Any]] | None = None,
    labels: dict[str, str] | None = None,
    address: str = "127.0.0.1",
) -> dict[str, Any]:
    authz = authz or []
    return {
        "schema": "meshproxy/v1",
        "node": {"role": "sidecar", "name": "backend", "namespace": "shop", "labels": labels or {}},
        "identity": volume.identity(),
        "listeners": [
            {
                "name": "inbound",
                "address": address,
                "port": inbound_port,
                "role": "inbound",
                "inbound": {"allowedPorts": app_ports, "peerAuthn": [{"mode": mode}]},
                "authz": [p["name"] for p in authz],
            }
        ],
        "authz": authz,
        "observability": {"accessLog": {"enabled": True, "path": "-"}},
        "limits": {"drainTimeout": 2},
    }


def outbound_sidecar(
    volume: SecretVolume,
    outbound_port: int,
    app_port: int,
    peer_inbound_port: int,
    expected: list[str],
    retry: dict[str, Any] | None = None,
    **cluster_extra: Any,
) -> dict[str, Any]:
    forward: dict[str, Any] = {"clusters": [{"cluster": "backend"}]}
    if retry is not None:
        forward["retry"] = retry
    return {
        "schema": "meshproxy/v1",
        "node": {"role": "sidecar", "name": "frontend", "namespace": "shop"},
        "identity": volume.identity(),
        "listeners": [
            {
                "name": "outbound",
                "address": "127.0.0.1",
                "port": outbound_port,
                "role": "outbound",
                "virtualHosts": [
                    {
                        "name": "backend",
                        "domains": ["backend.shop", "backend.shop:80"],
                        "routes": [{"name": "backend", "forward": forward}],
                    }
                ],
            }
        ],
        "clusters": [
            {
                "name": "backend",
                "endpoints": [{"address": "127.0.0.1", "port": app_port}],
                "tls": {"mode": "MESH", "expectedIdentities": expected},
                "meshInboundPort": peer_inbound_port,
                **cluster_extra,
            }
        ],
        "observability": {"accessLog": {"enabled": True, "path": "-"}},
        "limits": {"drainTimeout": 2},
    }


# --- processes -----------------------------------------------------------------------------------


class MeshProxy:
    """A real meshproxy process; its admin port is reached on `admin_host`."""

    def __init__(
        self,
        tmp: Path,
        name: str,
        cfg: dict[str, Any],
        env: dict[str, str] | None = None,
        admin_host: str = "127.0.0.1",
        admin_port: int | None = None,
        args: tuple[str, ...] = (),
    ) -> None:
        self.dir = tmp / name
        self.dir.mkdir(parents=True, exist_ok=True)
        self.config_path = self.dir / "config.json"
        self.config_path.write_text(json.dumps(cfg))
        self.admin_host = admin_host
        self.admin_port = admin_port or free_port()
        self.log_path = self.dir / "proxy.log"
        self._log = open(self.log_path, "wb")  # noqa: SIM115 - closed in stop()
        self.process = start_meshproxy(self.config_path, self.admin_port, self._log, args, env)
        self.name = name

    def wait_ready(self) -> None:
        try:
            wait_until(self.ready, 20, f"{self.name} /ready")
        except AssertionError as exc:  # say why: the proxy's own log is the evidence
            raise AssertionError(f"{exc}; its log ends:\n{self.output()[-2000:]}") from None

    def admin(self, path: str) -> tuple[int, str]:
        conn = http.client.HTTPConnection(self.admin_host, self.admin_port, timeout=5)
        try:
            conn.request("GET", path)
            resp = conn.getresponse()
            return resp.status, resp.read().decode()
        finally:
            conn.close()

    def ready(self) -> bool:
        if self.process.poll() is not None:
            raise AssertionError(f"meshproxy exited {self.process.returncode}: {self.output()}")
        try:
            return self.admin("/ready")[0] == 200
        except OSError:
            return False

    def metric(self, name: str, **labels: str) -> float:
        total = 0.0
        for line in self.admin("/metrics")[1].splitlines():
            if line.startswith((name + "{", name + " ")) and all(
                f'{k}="{v}"' in line for k, v in labels.items()
            ):
                total += float(line.rsplit(" ", 1)[1])
        return total

    def access_lines(self) -> list[dict[str, Any]]:
        out = []
        for line in self.output().splitlines():
            if line.startswith("{") and '"listener"' in line:
                out.append(json.loads(line))
        return out

    def output(self) -> str:
        self._log.flush()
        return self.log_path.read_text(errors="replace")

    def stop(self) -> None:
        stop_meshproxy(self.process)
        self._log.close()


# --- clients -------------------------------------------------------------------------------------


def mtls_context(issued: IssuedCertificate | None, ca_pem: str, tmp: Path) -> ssl.SSLContext:
    """A client context that trusts `ca_pem` and presents `issued` (None: no certificate)."""
    ctx = ssl.create_default_context(cadata=ca_pem)
    ctx.check_hostname = False  # mesh certificates carry a SPIFFE URI, no DNS name
    if issued is not None:
        cert, key = tmp / f"client-{time.time_ns()}.crt", tmp / f"client-{time.time_ns()}.key"
        cert.write_text(issued.cert_pem)
        key.write_text(issued.key_pem)
        ctx.load_cert_chain(cert, key)
    return ctx


def request(
    port: int,
    method: str = "GET",
    path: str = "/",
    host: str = "backend.shop",
    headers: dict[str, str] | None = None,
    context: ssl.SSLContext | None = None,
    address: str = "127.0.0.1",
) -> tuple[int, bytes]:
    """One request on a new connection; OSError / ssl.SSLError when the server will not serve."""
    conn: http.client.HTTPConnection
    if context is not None:
        conn = http.client.HTTPSConnection(address, port, timeout=5, context=context)
    else:
        conn = http.client.HTTPConnection(address, port, timeout=5)
    try:
        conn.request(method, path, headers={"Host": host, **(headers or {})})
        resp = conn.getresponse()
        return resp.status, resp.read()
    finally:
        conn.close()


def refused(port: int, **kwargs: Any) -> bool:
    """True when the server closes or fails the connection instead of answering."""
    try:
        request(port, **kwargs)
    except (OSError, ssl.SSLError, http.client.HTTPException):
        return True
    return False


def server_not_after(port: int, ca_pem: str, client: ssl.SSLContext) -> str:
    """The notAfter of the certificate a server presents on a new handshake."""
    with (
        socket.create_connection(("127.0.0.1", port), timeout=5) as raw,
        client.wrap_socket(raw) as tls,
    ):
        cert = tls.getpeercert()
        assert cert is not None
        return str(cert["notAfter"])


def port_open(address: str, port: int) -> bool:
    try:
        with socket.create_connection((address, port), timeout=1):
            return True
    except OSError:
        return False
