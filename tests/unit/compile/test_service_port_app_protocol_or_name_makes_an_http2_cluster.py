"""A Service port that says it serves HTTP/2 or gRPC (appProtocol `kubernetes.io/h2c` or
`grpc`, or a name starting `grpc-` / `http2-`) compiles to an HTTP2 cluster; appProtocol wins
over the name; everything else stays HTTP1. DestinationRule `http2MaxRequests` reaches the pool.
"""

from __future__ import annotations

import pytest

from meshgate.api.v1alpha1.destination_rule import ConnectionPoolSettings
from meshgate.compile.clusters import _connection_pool, upstream_protocol
from meshgate.compile.snapshot import ServicePort


@pytest.mark.parametrize(
    ("name", "app_protocol", "want"),
    [
        ("", "kubernetes.io/h2c", "HTTP2"),
        ("web", "grpc", "HTTP2"),
        ("grpc-api", "", "HTTP2"),
        ("grpc", "", "HTTP2"),
        ("http2-api", "", "HTTP2"),
        ("http", "", "HTTP1"),
        ("grpcish", "", "HTTP1"),
        ("grpc-api", "http", "HTTP1"),  # appProtocol says otherwise: it wins
        ("web", "kubernetes.io/ws", "HTTP1"),
        ("", "", "HTTP1"),
    ],
)
def test_port_protocol_is_read_from_app_protocol_then_name(
    name: str, app_protocol: str, want: str
) -> None:
    port = ServicePort(name=name, port=80, target_port=8080, app_protocol=app_protocol)
    assert upstream_protocol(port) == want


def test_http2_max_requests_reaches_the_pool() -> None:
    cp = ConnectionPoolSettings.model_validate({"http": {"http2MaxRequests": 7}})
    assert _connection_pool(cp).http2_max_requests == 7
    assert _connection_pool(None).http2_max_requests == 1024
