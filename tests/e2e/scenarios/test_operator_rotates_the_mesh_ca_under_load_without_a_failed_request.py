"""CA rotation driven by the running operator, under load. A client sends requests one after
another through the clerk's sidecar to the ledger (STRICT: every request crosses a verified mTLS
handshake) while the user asks for a rotation (`kubectl annotate secret <ca>
meshgate.io/rotate-ca=now`). The operator adds a new root beside the old one, re-issues every
workload, lets the new CA sign, re-issues again and retires the old root, with an Event for each
step, and not one request fails.

At the end the ledger's sidecar serves a certificate of the new CA, accepts a client certificate
of the new CA and refuses one of the old CA, which is gone from every trust bundle. The CA
fingerprints before and after, the requests sent and the failures are printed.

Manifests: `ca_rotation/mesh.yaml` (namespace `counting`: ledger, clerk, STRICT for the ledger).
The local runner's values set `MESHGATE_CA_ROTATION_OVERLAP_SECONDS=4`.
"""

from __future__ import annotations

import base64
import http.client
import json
import socket
import ssl
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import pytest
from harness.session import NodeAgent
from helm_release import Release
from scenario_kit import HERE, Body, User

from meshgate.certs.bundle import TrustBundle
from meshgate.certs.ca import CertificateAuthority, load_ca
from meshgate.certs.ca_rotation import PHASE_ANNOTATION, fingerprint
from meshgate.certs.workload import issue_workload_certificate
from meshgate.localcluster.waiting import wait_for

OUTBOUND, INBOUND = 15001, 15006
TARGET = "http://ledger.counting:8080/entries/1"
# Bounds of the load loop: it never sends more than this, nor for longer.
MAX_REQUESTS = 20_000
MAX_SECONDS = 240.0
ROTATION_SECONDS = 150.0
# Answers the client must still get once the rotation is over and the proxies hold new certs.
AFTER = 100


@dataclass
class BoundedLoad:
    """Requests one after another on one keep-alive connection (reopened only after an error),
    each outcome recorded; stops at `MAX_REQUESTS`, `MAX_SECONDS` or `stop`."""

    address: str
    outcomes: Counter[int] = field(default_factory=Counter)
    errors: list[str] = field(default_factory=list)
    stop: threading.Event = field(default_factory=threading.Event)

    @property
    def sent(self) -> int:
        return sum(self.outcomes.values()) + len(self.errors)

    def run(self) -> None:
        deadline = time.monotonic() + MAX_SECONDS
        conn: http.client.HTTPConnection | None = None
        while not self.stop.is_set() and self.sent < MAX_REQUESTS and time.monotonic() < deadline:
            try:
                if conn is None:
                    conn = http.client.HTTPConnection(self.address, OUTBOUND, timeout=10)
                conn.request("GET", TARGET)
                resp = conn.getresponse()
                resp.read()
                self.outcomes[resp.status] += 1
            except (OSError, http.client.HTTPException) as exc:
                self.errors.append(repr(exc))
                if conn is not None:
                    conn.close()
                conn = None
        if conn is not None:
            conn.close()


def _ca(user: User) -> tuple[Body, CertificateAuthority, TrustBundle]:
    body = user.get("secrets", selector="meshgate.io/component=ca")["items"][0]
    data = {k: base64.b64decode(v).decode() for k, v in body["data"].items()}
    return body, load_ca(data["tls.crt"], data["tls.key"]), TrustBundle.from_pem(data["ca.crt"])


def _client_context(
    ca: CertificateAuthority, trust: TrustBundle, tmp: Path, name: str
) -> ssl.SSLContext:
    """A TLS client with a workload certificate of `ca` (sa `clerk`), trusting `trust`."""
    issued = issue_workload_certificate(
        ca,
        TrustBundle.of([ca.cert]),
        trust_domain="cluster.local",
        namespace="counting",
        service_account="clerk",
        now=datetime.now(UTC),
    )
    (tmp / f"{name}.crt").write_text(issued.cert_pem)
    (tmp / f"{name}.key").write_text(issued.key_pem)
    (tmp / f"{name}-ca.crt").write_text(trust.to_pem())
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False  # mesh peers are named by SPIFFE ID, not by DNS
    context.load_verify_locations(tmp / f"{name}-ca.crt")
    context.load_cert_chain(tmp / f"{name}.crt", tmp / f"{name}.key")
    return context


def _mtls_answer(address: str, context: ssl.SSLContext) -> str:
    """A handshake with the ledger's inbound port and one request: the status line it answers.
    Raises when either side refuses the other's certificate (TLS 1.3 reports a refused client
    certificate at the first read, as an alert or a closed connection)."""
    raw = socket.create_connection((address, INBOUND), timeout=10)
    with context.wrap_socket(raw) as tls:
        tls.sendall(b"GET /entries/2 HTTP/1.1\r\nHost: ledger.counting:8080\r\n"
                    b"Connection: close\r\n\r\n")  # fmt: skip
        head = tls.recv(64).decode("latin-1")
    if not head.startswith("HTTP/1.1 "):
        raise ConnectionError(f"no answer over mTLS: {head!r}")
    return head.split("\r\n", 1)[0]


@pytest.fixture
def counting(meshgate_release: Release, node_agent: NodeAgent) -> Iterator[User]:
    user = User(meshgate_release, "counting", node_agent.state_dir)
    try:
        yield user
    finally:
        meshgate_release.kubectl_run(
            "delete", "namespace", "counting", "--ignore-not-found", "--wait=true", timeout=120
        )


def test_operator_rotates_the_ca_while_mtls_traffic_flows_and_none_of_it_fails(
    counting: User, meshgate_release: Release, node_agent: NodeAgent
) -> None:
    system = User(meshgate_release, meshgate_release.namespace, node_agent.state_dir)
    counting.apply(HERE / "ca_rotation" / "mesh.yaml")
    ledger_ip = counting.ready_pods("app=ledger", 1)[0]["status"]["podIP"]
    clerk_ip = counting.ready_pods("app=clerk", 1)[0]["status"]["podIP"]
    counting.condition("peerauthentications", "ledger-strict", "Accepted")

    def through_clerk() -> int:
        conn = http.client.HTTPConnection(clerk_ip, OUTBOUND, timeout=10)
        try:
            conn.request("GET", TARGET)
            return conn.getresponse().status
        finally:
            conn.close()

    wait_for(lambda: through_clerk() == 200, timeout=60, what="clerk -> ledger over mTLS")
    ca_secret, old_ca, _ = _ca(system)
    name = ca_secret["metadata"]["name"]
    before = fingerprint(old_ca.cert)

    client = BoundedLoad(clerk_ip)
    thread = threading.Thread(target=client.run, name="rotation-load", daemon=True)
    thread.start()
    try:
        wait_for(lambda: client.sent >= 20, timeout=30, what="the load client under way")
        system.kubectl(
            "annotate", "secret", name, "-n", system.namespace, "meshgate.io/rotate-ca=now"
        )

        def rotated() -> tuple[Body, CertificateAuthority, TrustBundle] | None:
            body, ca, bundle = _ca(system)
            annotations = body["metadata"].get("annotations") or {}
            done = PHASE_ANNOTATION not in annotations and ca.cert != old_ca.cert
            return (body, ca, bundle) if done and bundle.roots == (ca.cert,) else None

        _, new_ca, new_bundle = wait_for(
            rotated, timeout=ROTATION_SECONDS, what="the operator to finish the CA rotation"
        )
        after = fingerprint(new_ca.cert)
        with tempfile.TemporaryDirectory(prefix="meshgate-rotation-") as tmp:
            new_client = _client_context(new_ca, new_bundle, Path(tmp), "new")
            # Trusts the ledger's new certificate, presents one of the retired CA.
            old_client = _client_context(old_ca, new_bundle, Path(tmp), "old")

            def ledger_serves_new_ca() -> str | None:
                try:
                    return _mtls_answer(ledger_ip, new_client)
                except (OSError, ssl.SSLError):
                    return None

            # The ledger's sidecar loaded its new-CA certificate and the one-root bundle.
            wait_for(
                ledger_serves_new_ca, timeout=30, what="the ledger serving a new-CA certificate"
            )
            count = client.sent
            wait_for(lambda: client.sent >= count + AFTER, timeout=60, what=f"{AFTER} more answers")

            def ledger_refuses_old_ca() -> bool:
                try:
                    _mtls_answer(ledger_ip, old_client)
                except (OSError, ssl.SSLError):
                    return True
                return False

            # The old CA is retired everywhere: the ledger's trust bundle follows its certificate
            # (a separate file the sidecar reloads on its own), so this is awaited, not sampled.
            wait_for(
                ledger_refuses_old_ca,
                timeout=30,
                what="the ledger refusing a certificate of the retired CA",
            )
    finally:
        client.stop.set()
        thread.join(timeout=30)

    reasons = [
        e["reason"]
        for e in sorted(system.get("events")["items"], key=lambda e: e.get("firstTimestamp") or "")
        if e["involvedObject"].get("name") == name and e["reason"].startswith("CARotation")
    ]
    print(
        json.dumps(
            {
                "ca_fingerprint_before": before,
                "ca_fingerprint_after": after,
                "requests_sent": client.sent,
                "answers": dict(client.outcomes),
                "failures": client.sent - client.outcomes[200],
                "events": reasons,
            },
            indent=1,
        )
    )
    assert after != before
    assert client.errors == [], client.errors[:5]
    assert client.outcomes == {200: client.sent}, client.outcomes
    assert client.sent >= 200
    assert reasons == ["CARotationStarted", "CARotationIssuing", "CARotationCompleted"]
