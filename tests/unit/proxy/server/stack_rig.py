"""A real listener stack (built from a config, as the proxy builds it) between fake transports.

The client side is `HttpServerProtocol` on a fake transport; the upstream side is the cluster's
real `EndpointPool` holding real `UpstreamConnection`s on fake transports, and new connections
come from a fake connect. Random ids are seeded, so two rigs fed the same bytes produce the same
bytes: the direct path and the general path can be compared byte for byte.
"""

from __future__ import annotations

import asyncio
import json
import random
from pathlib import Path
from typing import Any

import pytest
from meshproxy_fakes import FakeTransport, settle

from meshproxy import config, stack
from meshproxy.layers.route import RouteLayer
from meshproxy.layers.tracing import TracingLayer
from meshproxy.observability.metrics import Registry
from meshproxy.server.protocol import HttpServerProtocol
from meshproxy.server.state import ListenerState
from meshproxy.upstream.connection import UpstreamConnection
from meshproxy.upstream.pool import EndpointPool


class FakeUpstreamTransport(FakeTransport):
    """Closing reports `connection_lost` on a later loop turn, as uvloop does."""

    def __init__(self, protocol: UpstreamConnection) -> None:
        super().__init__(peer=("127.0.0.1", 9090))
        self.protocol = protocol

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            asyncio.get_running_loop().call_soon(self.protocol.connection_lost, None)

    abort = close


def config_dict(tmp_path: Path, **route: Any) -> dict[str, Any]:
    """The bench's shape: one edge listener, one route to one cluster, access log on; plus
    outlier detection, so its bookkeeping is compared too."""
    return {
        "schema": "meshproxy/v1",
        "node": {"role": "gateway", "name": "rig"},
        "listeners": [
            {
                "name": "edge",
                "address": "127.0.0.1",
                "port": 8080,
                "role": "edge",
                "virtualHosts": [
                    {
                        "name": "site",
                        "domains": ["a.example"],
                        "routes": [
                            {"name": "all", "forward": {"clusters": [{"cluster": "be"}]}, **route}
                        ],
                    }
                ],
            }
        ],
        "clusters": [
            {
                "name": "be",
                "endpoints": [{"address": "127.0.0.1", "port": 9090}],
                "outlierDetection": {"consecutive5xxErrors": 2, "maxEjectionPercent": 100},
            }
        ],
        "observability": {"accessLog": {"enabled": True, "path": str(tmp_path / "access.log")}},
    }


class Rig:
    def __init__(
        self,
        cfg: dict[str, Any],
        monkeypatch: pytest.MonkeyPatch,
        direct: bool = True,
        idle_upstreams: int = 1,
    ) -> None:
        self.registry = Registry()
        self.built = stack.build(config.parse_config(json.dumps(cfg)), self.registry)
        self.stack = self.built.stacks["edge"]
        if not direct:
            self.stack.start = None
        tracing = self.stack.handle.__self__  # type: ignore[attr-defined]
        assert isinstance(tracing, TracingLayer)
        tracing._getrandbits = random.Random(7).getrandbits
        route = tracing._next.__self__  # type: ignore[attr-defined]
        if isinstance(route, RouteLayer):
            route._random = random.Random(3).random
        self.pool = next(iter(self.built.clusters["be"].pools.values()))
        self.upstreams: list[UpstreamConnection] = []
        self.connects = 0

        async def fake_connect(pool: EndpointPool) -> UpstreamConnection:
            assert pool is self.pool
            pool._total += 1
            self.connects += 1
            return self._new_upstream()

        monkeypatch.setattr(EndpointPool, "_connect", fake_connect)
        for _ in range(idle_upstreams):
            self.pool._total += 1
            self.pool.release(self._new_upstream(), True)
        self.client_transport = FakeTransport()
        self.client = HttpServerProtocol(ListenerState(self.stack, "http"))
        self.client.connection_made(self.client_transport)  # type: ignore[arg-type]

    def _new_upstream(self) -> UpstreamConnection:
        conn = UpstreamConnection(self.pool)
        conn.connection_made(FakeUpstreamTransport(conn))  # type: ignore[arg-type]
        self.upstreams.append(conn)
        return conn

    def busy_upstream(self) -> UpstreamConnection:
        """The connection whose response is awaited (at most one in these scenarios)."""
        busy = [c for c in self.upstreams if not c._response_done and not c.closed]
        assert len(busy) == 1, busy
        return busy[0]

    def upstream_bytes(self) -> list[bytes]:
        return [c.transport.data() for c in self.upstreams]  # type: ignore[union-attr]

    def access_log(self) -> list[dict[str, Any]]:
        log = self.built.access_log
        assert log is not None
        log.flush()
        path = Path(log._path)
        if not path.exists():
            return []
        records = [json.loads(line) for line in path.read_text().splitlines()]
        for record in records:
            record.pop("duration_ms")
        return records

    def request_metrics(self) -> list[str]:
        return [
            line
            for line in self.registry.render().splitlines()
            if line.startswith(
                (
                    "meshproxy_requests_total",
                    "meshproxy_request_duration_seconds_count",
                    "meshproxy_upstream_connections_opened_total",
                    "meshproxy_rejected_requests_total",
                )
            )
        ]

    async def play(self, steps: list[tuple[str, bytes]]) -> None:
        """Feed each step, letting the loop run in between.

        `client`: bytes from the client; `upstream`: bytes from the upstream whose response is
        awaited; `upstream-close` / `client-close`: that side's connection is lost."""
        for kind, data in steps:
            if kind == "client":
                self.client.data_received(data)
            elif kind == "upstream":
                self.busy_upstream().data_received(data)
            elif kind == "upstream-close":
                conn = self.busy_upstream()
                conn.transport.closed = True  # type: ignore[union-attr]
                conn.connection_lost(None)
            elif kind == "client-close":
                self.client_transport.closed = True
                self.client.connection_lost(None)
            elif kind == "client-full":
                # Past the high-water mark and every buffering bound: the upstream must pause.
                self.client_transport.unsent = 1 << 30
                self.client.pause_writing()
            elif kind == "client-drained":
                self.client_transport.unsent = 0
                self.client.resume_writing()
            else:
                raise ValueError(kind)
            await settle()

    def transcript(self) -> dict[str, Any]:
        return {
            "client": self.client_transport.data(),
            "client_closed": self.client_transport.closed,
            "upstreams": self.upstream_bytes(),
            "connects": self.connects,
            "access_log": self.access_log(),
            "metrics": self.request_metrics(),
            "endpoints": [
                (e.active_requests, e.consecutive_5xx, e.ejection_count)
                for e in self.built.clusters["be"].endpoints
            ],
        }
