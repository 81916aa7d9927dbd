"""An app sends through its sidecar (the outbound listener, its HTTP proxy) a request whose
absolute-form target names one Service and whose Host header names another: the sidecar routes
it by the authority (RFC 9112 3.2.2) and the backend gets the authority as Host, never the two
disagreeing."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from meshproxy_e2e import Backends, Behaviour, cluster, forward, raw_exchange, running

pytestmark = pytest.mark.e2e


def sidecar_config(port: int, orders: int, payments: int) -> dict[str, Any]:
    def vhost(name: str) -> dict[str, Any]:
        return {"name": name, "domains": [name, f"{name}:80"], "routes": [forward(name, name)]}

    return {
        "schema": "meshproxy/v1",
        "node": {"role": "sidecar", "namespace": "shop"},
        "listeners": [
            {
                "name": "outbound",
                "address": "127.0.0.1",
                "port": port,
                "role": "outbound",
                "virtualHosts": [vhost("orders"), vhost("payments")],
            }
        ],
        "clusters": [cluster("orders", orders), cluster("payments", payments)],
        "observability": {"accessLog": {"enabled": True, "path": "-"}},
    }


def test_request_to_one_service_with_another_host_goes_to_the_authority(
    tmp_path: Path, backends: Backends, port: int
) -> None:
    orders, payments = Behaviour("orders"), Behaviour("payments")
    cfg = sidecar_config(port, backends.start(orders), backends.start(payments))
    with running(tmp_path, cfg):
        raw = raw_exchange(
            port,
            b"GET http://payments/pay?id=7 HTTP/1.1\r\nHost: orders\r\nConnection: close\r\n\r\n",
        )
        agreeing = raw_exchange(
            port, b"GET http://orders/list HTTP/1.1\r\nHost: orders\r\nConnection: close\r\n\r\n"
        )

    head, _, body = raw.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200"), raw
    assert json.loads(body)["backend"] == "payments"
    assert [(s.path, s.headers["host"]) for s in payments.seen] == [("/pay?id=7", "payments")]
    assert agreeing.startswith(b"HTTP/1.1 200")
    assert [s.headers["host"] for s in orders.seen] == ["orders"]
