"""A Gateway API GRPCRoute compiled by the operator and served by a real gateway proxy to a
grpcio server: on an HTTP listener (h2c with prior knowledge) calls go by service and method,
the route's RequestHeaderModifier reaches the server and its ResponseHeaderModifier the client,
a server stream passes whole, a call no rule matches ends UNIMPLEMENTED and one whose rule has no
valid backend UNAVAILABLE; on an HTTPS
listener a TLS client (ALPN h2, as grpcio offers) is served the same route."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import grpc
import pytest
from compiled_edge import compile_gateway

from meshgate.certs.ca import create_root_ca
from meshgate.certs.serving import issue_serving_certificate

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "proxy"))

from grpc_apps import SERVICE, EchoClient, GrpcServer
from meshproxy_e2e import free_port, running

pytestmark = pytest.mark.e2e


HTTP_LISTENER = "{name: http, port: 8080, protocol: HTTP}"
HTTPS_LISTENER = (
    "{name: https, port: 8443, protocol: HTTPS, hostname: grpc.example.test,"
    " tls: {mode: Terminate, certificateRefs: [{kind: Secret, name: grpc-tls}]}}"
)


def manifests(backend_port: int, listener: str = HTTP_LISTENER) -> str:
    return f"""
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {{name: edge, uid: uid-edge}}
spec:
  gatewayClassName: meshgate
  listeners: [{listener}]
---
apiVersion: gateway.networking.k8s.io/v1
kind: GRPCRoute
metadata: {{name: echo, creationTimestamp: "2026-01-01T00:00:00Z"}}
spec:
  parentRefs: [{{group: gateway.networking.k8s.io, kind: Gateway, name: edge}}]
  rules:
    - matches: [{{method: {{type: Exact, service: {SERVICE}, method: Unary}}}}]
      filters:
        - type: RequestHeaderModifier
          requestHeaderModifier: {{set: [{{name: x-tenant, value: shop}}]}}
        - type: ResponseHeaderModifier
          responseHeaderModifier: {{add: [{{name: x-served-by, value: meshgate}}]}}
      backendRefs: [{{group: "", kind: Service, name: echo, port: {backend_port}, weight: 1}}]
    - matches: [{{method: {{type: Exact, service: {SERVICE}}}}}]
      backendRefs: [{{group: "", kind: Service, name: echo, port: {backend_port}, weight: 1}}]
    - matches: [{{method: {{type: Exact, service: gone.Service}}}}]
      backendRefs: [{{group: "", kind: Service, name: gone, port: 9000, weight: 1}}]
---
apiVersion: v1
kind: Service
metadata: {{name: echo}}
spec:
  ports: [{{name: grpc, port: {backend_port}, targetPort: {backend_port},
            appProtocol: kubernetes.io/h2c}}]
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: {{name: echo-1, labels: {{kubernetes.io/service-name: echo}}}}
ports: [{{name: grpc, port: {backend_port}}}]
endpoints: [{{addresses: [127.0.0.1], conditions: {{ready: true}}}}]
"""


@pytest.fixture
def grpc_server() -> Iterator[GrpcServer]:
    server = GrpcServer("127.0.0.1", free_port())
    try:
        yield server
    finally:
        server.stop()


def test_grpc_route_serves_calls_with_its_header_filters(
    tmp_path: Path, grpc_server: GrpcServer
) -> None:
    port = free_port()
    compiled = compile_gateway(manifests(grpc_server.port), tmp_path / "pod", port)
    with running(tmp_path, compiled.config):
        client = EchoClient(f"127.0.0.1:{port}")
        try:
            answer, call = client.unary.with_call(b"hello", timeout=10)
            assert answer == b"echo:hello"
            assert ("x-served-by", "meshgate") in list(call.initial_metadata() or ())
            (seen,) = grpc_server.observed.metadata
            assert seen.get("x-tenant") == "shop"

            # The service-wide rule: no header filters there.
            assert list(client.server_stream(b"3", timeout=10)) == [
                b"message 0",
                b"message 1",
                b"message 2",
            ]

            other = client.channel.unary_unary("/other.Service/Unary")
            with pytest.raises(grpc.RpcError) as refused:
                other(b"x", timeout=10)
            assert refused.value.code() == grpc.StatusCode.UNIMPLEMENTED

            # A rule whose only backend is not a Service: UNAVAILABLE, as the GRPCRoute spec asks.
            gone = client.channel.unary_unary("/gone.Service/Unary")
            with pytest.raises(grpc.RpcError) as unavailable:
                gone(b"x", timeout=10)
            assert unavailable.value.code() == grpc.StatusCode.UNAVAILABLE
        finally:
            client.close()


def test_grpc_route_on_an_https_listener_serves_a_tls_client(
    tmp_path: Path, grpc_server: GrpcServer
) -> None:
    now = datetime.now(UTC)
    ca = create_root_ca("cluster.local", now - timedelta(hours=1))
    issued = issue_serving_certificate(
        ca, service="grpc-tls", namespace="shop", now=now, extra_dns_names=("grpc.example.test",)
    )
    indent = "\n    "
    secret = f"""
---
apiVersion: v1
kind: Secret
metadata: {{name: grpc-tls}}
type: kubernetes.io/tls
stringData:
  tls.crt: |{indent}{indent.join(issued.cert_pem.strip().splitlines())}
  tls.key: |{indent}{indent.join(issued.key_pem.strip().splitlines())}
"""
    port = free_port()
    compiled = compile_gateway(
        manifests(grpc_server.port, HTTPS_LISTENER) + secret, tmp_path / "pod", port
    )
    credentials = grpc.ssl_channel_credentials(root_certificates=ca.cert_pem.encode())
    with (
        running(tmp_path, compiled.config),
        grpc.secure_channel(
            f"127.0.0.1:{port}",
            credentials,
            options=[("grpc.ssl_target_name_override", "grpc.example.test")],
        ) as channel,
    ):
        unary = channel.unary_unary(f"/{SERVICE}/Unary")
        answer, call = unary.with_call(b"over tls", timeout=10)
        assert answer == b"echo:over tls"
        assert ("x-served-by", "meshgate") in list(call.initial_metadata() or ())
        (seen,) = grpc_server.observed.metadata
        assert seen.get("x-tenant") == "shop"
