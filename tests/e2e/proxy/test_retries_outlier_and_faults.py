"""Resilience through the real proxy: retries rescue a flaky backend, outlier detection drops a
dead endpoint, fault injection hits its percentages."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from meshproxy_e2e import Backends, Behaviour, Client, cluster, config, forward, running

pytestmark = pytest.mark.e2e


def test_retries_rescue_a_backend_failing_thirty_percent(
    tmp_path: Path, backends: Backends, port: int
) -> None:
    flaky = backends.start(Behaviour("flaky", fail_ratio=0.3, record=False))
    retry = {
        "attempts": 5,
        "retryOn": ["5xx"],
        "backoff": {"baseInterval": 0.001, "maxInterval": 0.005},
    }
    with running(
        tmp_path, config(port, [forward("r", "c", retry=retry)], [cluster("c", flaky)])
    ) as proxy:
        client = Client(port)
        ok = sum(client.request("GET", "/")[0] == 200 for _ in range(1000))
        assert ok / 1000 >= 0.995
        assert proxy.metric("meshproxy_upstream_retries_total") > 100


def test_without_retry_policy_the_failures_reach_the_client(
    tmp_path: Path, backends: Backends, port: int
) -> None:
    flaky = backends.start(Behaviour("flaky", fail_ratio=0.3, record=False))
    with running(tmp_path, config(port, [forward("r", "c")], [cluster("c", flaky)])):
        client = Client(port)
        ok = sum(client.request("GET", "/")[0] == 200 for _ in range(300))
        assert ok / 300 < 0.9


def test_outlier_detection_removes_a_dead_endpoint_within_its_interval(
    tmp_path: Path, backends: Backends, port: int
) -> None:
    good = backends.start(Behaviour("good", record=False))
    bad = backends.start(Behaviour("bad", status=503, record=False))
    outlier = {
        "consecutive5xxErrors": 3,  # the schema's alias of consecutive_5xx_errors
        "interval": 0.5,
        "baseEjectionTime": 30,
        "maxEjectionPercent": 50,
    }
    cfg = config(port, [forward("r", "c")], [cluster("c", good, bad, outlierDetection=outlier)])
    with running(tmp_path, cfg) as proxy:
        client = Client(port)
        start = time.monotonic()
        statuses = [client.request("GET", "/")[0] for _ in range(20)]
        assert statuses.count(503) <= 3  # ejected after three consecutive 5xx
        assert time.monotonic() - start < 0.5 + 1
        tail = [client.request("GET", "/")[0] for _ in range(100)]
        assert tail == [200] * 100
        assert proxy.metric("meshproxy_outlier_ejections_total", cluster="c") == 1


def test_connect_failures_to_a_stopped_endpoint_are_retried_elsewhere(
    tmp_path: Path, backends: Backends, port: int
) -> None:
    good = backends.start(Behaviour("good", record=False))
    dead = backends.start(Behaviour("dead", record=False))
    backends.stop(dead)
    retry = {"attempts": 2, "retryOn": ["connect-failure"]}
    cfg = config(port, [forward("r", "c", retry=retry)], [cluster("c", good, dead)])
    with running(tmp_path, cfg):
        client = Client(port)
        assert all(client.request("GET", "/")[0] == 200 for _ in range(50))


@pytest.mark.parametrize(("delay_pct", "abort_pct"), [(0, 30), (0, 75)])
def test_fault_abort_percentage_is_within_three_points(
    tmp_path: Path, backends: Backends, port: int, delay_pct: int, abort_pct: int
) -> None:
    a = backends.start(Behaviour("a", record=False))
    fault = {"abort": {"status": 418, "percent": abort_pct}}
    with running(tmp_path, config(port, [forward("r", "a", fault=fault)], [cluster("a", a)])):
        client = Client(port)
        aborted = sum(client.request("GET", "/")[0] == 418 for _ in range(2000))
        assert abs(aborted / 2000 - abort_pct / 100) <= 0.03


def test_fault_delay_applies_to_its_share_of_requests(
    tmp_path: Path, backends: Backends, port: int
) -> None:
    a = backends.start(Behaviour("a", record=False))
    fault = {"delay": {"fixedDelay": 0.05, "percent": 50}}
    with running(tmp_path, config(port, [forward("r", "a", fault=fault)], [cluster("a", a)])):
        client = Client(port)
        slow = 0
        for _ in range(200):
            start = time.monotonic()
            assert client.request("GET", "/")[0] == 200
            slow += time.monotonic() - start >= 0.05
        assert abs(slow / 200 - 0.5) <= 0.12  # 200 samples: ±3.5 sigma


def test_route_timeout_answers_504_with_a_fixed_body(
    tmp_path: Path, backends: Backends, port: int
) -> None:
    slow = backends.start(Behaviour("slow", delay=1.0, record=False))
    with running(tmp_path, config(port, [forward("r", "c", timeout=0.1)], [cluster("c", slow)])):
        status, _, body = Client(port).request("GET", "/")
        assert status == 504
        assert body == b"upstream timeout\n"
        assert json.dumps  # the body is canned: no upstream detail
