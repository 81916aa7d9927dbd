"""The config server's own TLS: a mesh workload certificate for the operator's identity, and
the mesh trust bundle to verify proxies against.

The operator issues itself `spiffe://<td>/ns/<operator namespace>/sa/<its ServiceAccount>` from
the mesh CA, in memory; proxies check the server by that ID (`MESHGATE_CONFIG_SERVER_ID`). Python's
`ssl` loads a certificate only from files, so the PEMs pass through a private temporary
directory that is removed at once. Reloading into the same context makes new handshakes use a
renewed certificate and a rotated bundle without reopening the port. This module must never log
or keep key material.
"""

from __future__ import annotations

import os
import ssl
import tempfile
from datetime import datetime

from meshgate.certs.workload import IssuedCertificate, issue_workload_certificate
from meshgate.identity.plan import CaRef


def issue_server_certificate(
    ca: CaRef, *, trust_domain: str, namespace: str, service_account: str, now: datetime
) -> IssuedCertificate:
    return issue_workload_certificate(
        ca.ca,
        ca.bundle,
        trust_domain=trust_domain,
        namespace=namespace,
        service_account=service_account,
        now=now,
    )


def server_context() -> ssl.SSLContext:
    """An empty mTLS server context: client certificates required, TLS 1.2 at least."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    ctx.verify_mode = ssl.CERT_REQUIRED
    ctx.options |= ssl.OP_NO_COMPRESSION | ssl.OP_NO_RENEGOTIATION
    ctx.verify_flags |= ssl.VERIFY_X509_PARTIAL_CHAIN | ssl.VERIFY_X509_STRICT
    ctx.set_alpn_protocols(["http/1.1"])
    return ctx


def load(ctx: ssl.SSLContext, issued: IssuedCertificate, bundle_pem: str) -> None:
    """Put the certificate, its key and the trust bundle into `ctx` (for new handshakes)."""
    ctx.load_verify_locations(cadata=bundle_pem)
    with tempfile.TemporaryDirectory(prefix="meshgate-push-") as directory:
        cert, key = os.path.join(directory, "tls.crt"), os.path.join(directory, "tls.key")
        with open(cert, "w") as handle:
            handle.write(issued.cert_pem)
        fd = os.open(key, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(issued.key_pem)
        ctx.load_cert_chain(cert, key)
