"""Several HTTPS listeners on one Gateway port, compiled by the operator and served by a real
gateway proxy: each client gets the certificate of the listener its SNI names (exact or one
wildcard label), a client naming none of them gets the listener without a hostname's, and
every listener is Accepted."""

from __future__ import annotations

import socket
import ssl
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from compiled_edge import backend, compile_gateway
from cryptography import x509
from meshproxy_e2e import Backends, Behaviour, free_port, running

from meshgate.certs.ca import create_root_ca
from meshgate.certs.serving import issue_serving_certificate

pytestmark = pytest.mark.e2e


def _secret(name: str, cert_pem: str, key_pem: str) -> str:
    indent = "\n    "
    return f"""
---
apiVersion: v1
kind: Secret
metadata: {{name: {name}}}
type: kubernetes.io/tls
stringData:
  tls.crt: |{indent}{indent.join(cert_pem.strip().splitlines())}
  tls.key: |{indent}{indent.join(key_pem.strip().splitlines())}
"""


def _served(port: int, context: ssl.SSLContext, sni: str, host: str) -> tuple[set[str], int]:
    """The DNS names of the certificate the server presents for `sni`, and the status of a GET."""
    with (
        socket.create_connection(("127.0.0.1", port), timeout=5) as raw,
        context.wrap_socket(raw, server_hostname=sni) as tls,
    ):
        der = tls.getpeercert(binary_form=True)
        assert der is not None
        tls.sendall(f"GET /x HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n".encode())
        head = b""
        while b"\r\n" not in head:
            chunk = tls.recv(4096)
            if not chunk:
                break
            head += chunk
    san = x509.load_der_x509_certificate(der).extensions.get_extension_for_class(
        x509.SubjectAlternativeName
    )
    names = {n for n in san.value.get_values_for_type(x509.DNSName) if "svc" not in n}
    return names, int(head.split(b" ", 2)[1])


def test_each_sni_gets_its_listeners_certificate(tmp_path: Path) -> None:
    now = datetime.now(UTC)
    ca = create_root_ca("cluster.local", now - timedelta(hours=1))
    certs = {
        "shop-tls": ("shop.example.test",),
        "api-tls": ("*.api.example.test",),
        "fallback-tls": ("fallback.example.test",),
    }
    secrets = ""
    for name, dns in certs.items():
        issued = issue_serving_certificate(
            ca, service=name, namespace="shop", now=now, extra_dns_names=dns
        )
        secrets += _secret(name, issued.cert_pem, issued.key_pem)
    pool = Backends()
    try:
        app_port = pool.start(Behaviour("app"))
        manifests = f"""
apiVersion: meshgate.io/v1alpha1
kind: Gateway
metadata: {{name: edge}}
spec:
  listeners:
    - name: shop
      port: 8443
      protocol: HTTPS
      hostname: shop.example.test
      tls: {{certificateRefs: [{{name: shop-tls}}]}}
    - name: api
      port: 8443
      protocol: HTTPS
      hostname: "*.api.example.test"
      tls: {{certificateRefs: [{{name: api-tls}}]}}
    - name: fallback
      port: 8443
      protocol: HTTPS
      tls: {{certificateRefs: [{{name: fallback-tls}}]}}
---
apiVersion: meshgate.io/v1alpha1
kind: Route
metadata: {{name: app}}
spec:
  parentRefs: [{{name: edge}}]
  rules: [{{backendRefs: [{{name: app, port: {app_port}}}]}}]
"""
        port = free_port()
        compiled = compile_gateway(
            manifests + secrets + backend(app_port, "app"), tmp_path / "pod", port
        )
        listeners = compiled.statuses["Gateway shop/edge"]["listeners"]
        assert [(ln["name"], ln["conditions"][0]["status"]) for ln in listeners] == [
            ("api", "True"),
            ("fallback", "True"),
            ("shop", "True"),
        ]
        client = ssl.create_default_context(cadata=ca.cert_pem)
        client.check_hostname = False  # checked below by the names the certificate carries
        with running(tmp_path, compiled.config):
            assert _served(port, client, "shop.example.test", "shop.example.test") == (
                {"shop.example.test"},
                200,
            )
            assert _served(port, client, "v1.api.example.test", "v1.api.example.test") == (
                {"*.api.example.test"},
                200,
            )
            assert _served(port, client, "other.example.test", "other.example.test") == (
                {"fallback.example.test"},
                200,
            )
            # the wildcard covers one label only
            names, _ = _served(port, client, "a.b.api.example.test", "a.b.api.example.test")
            assert names == {"fallback.example.test"}
    finally:
        pool.close()
