"""Config reload under continuous load, refusal of a bad config, and SIGTERM drain."""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path

import pytest
from meshproxy_e2e import (
    Backends,
    Behaviour,
    Client,
    cluster,
    config,
    forward,
    free_port,
    running,
    wait_until,
)

pytestmark = pytest.mark.e2e


def _load(port: int, stop: threading.Event, results: list[int], limit: int = 20_000) -> None:
    client = Client(port)
    try:
        while not stop.is_set() and len(results) < limit:
            status, _, body = client.request("GET", "/")
            results.append(status if status != 200 else (1 if b'"v2"' in body else 0))
    finally:
        client.close()


def test_reload_under_continuous_load_fails_no_request_and_switches_backend(
    tmp_path: Path, backends: Backends, port: int
) -> None:
    v1 = backends.start(Behaviour("v1", record=False))
    v2 = backends.start(Behaviour("v2", record=False))
    cfg = config(port, [forward("r", "c")], [cluster("c", v1)])
    with running(tmp_path, cfg) as proxy:
        stop = threading.Event()
        results: list[list[int]] = [[], []]
        threads = [threading.Thread(target=_load, args=(port, stop, r)) for r in results]
        for t in threads:
            t.start()
        wait_until(lambda: all(len(r) > 50 for r in results), 10, "load")
        proxy.write_config(config(port, [forward("r", "c")], [cluster("c", v2)], version="v2"))
        wait_until(lambda: any(r and r[-1] == 1 for r in results), 10, "the new backend")
        new_port = free_port()
        cfg3 = config(port, [forward("r", "c")], [cluster("c", v2)], version="v3")
        cfg3["listeners"].append({**cfg3["listeners"][0], "name": "extra", "port": new_port})
        proxy.write_config(cfg3)
        wait_until(lambda: _answers(new_port), 10, "the added listener")
        stop.set()
        for t in threads:
            t.join(20)
        statuses = [s for r in results for s in r]
        assert all(s in (0, 1) for s in statuses), {s for s in statuses if s not in (0, 1)}
        assert proxy.metric("meshproxy_config_reloads_total", result="success") == 3


def _answers(port: int) -> bool:
    try:
        return Client(port).request("GET", "/")[0] == 200
    except OSError:
        return False


def test_invalid_config_is_refused_counted_and_the_old_one_keeps_serving(
    tmp_path: Path, backends: Backends, port: int
) -> None:
    a = backends.start(Behaviour("a", record=False))
    with running(tmp_path, config(port, [forward("r", "a")], [cluster("a", a)])) as proxy:
        bad = config(port, [forward("r", "missing")], [cluster("a", a)])
        proxy.write_config(bad)
        wait_until(
            lambda: proxy.metric("meshproxy_config_reloads_total", result="failure") == 1,
            10,
            "the refusal to be counted",
        )
        assert "'missing' is not defined" in proxy.output()
        assert Client(port).request("GET", "/")[0] == 200
        assert proxy.ready()
        shown = json.loads(proxy.admin("/config")[1])
        assert shown["clusters"][0]["name"] == "a"


def test_config_endpoint_redacts_key_hashes_and_redis_passwords(
    tmp_path: Path, backends: Backends, port: int
) -> None:
    a = backends.start(Behaviour("a", record=False))
    cfg = config(port, [forward("r", "a")], [cluster("a", a)])
    cfg["authn"] = [{"name": "keys", "apiKey": {"keys": [{"consumer": "c", "sha256": "ab" * 32}]}}]
    cfg["rateLimits"] = [
        {
            "name": "g",
            "requests": 5,
            "mode": "Global",
            "redisUrl": "redis://u:hunter2@127.0.0.1:6379/0",
        }
    ]
    with running(tmp_path, cfg) as proxy:
        text = proxy.admin("/config")[1]
        assert "ab" * 32 not in text
        assert "hunter2" not in text
        assert "127.0.0.1:6379" in text


def test_sigterm_drains_in_flight_requests_and_exits_zero(
    tmp_path: Path, backends: Backends, port: int
) -> None:
    slow = backends.start(Behaviour("slow", delay=0.5, record=False))
    with running(tmp_path, config(port, [forward("r", "c")], [cluster("c", slow)])) as proxy:
        results: list[int] = []

        def one() -> None:
            try:
                results.append(Client(port).request("GET", "/")[0])
            except OSError:
                results.append(-1)

        threads = [threading.Thread(target=one) for _ in range(20)]
        for t in threads:
            t.start()
        wait_until(lambda: proxy.metric("meshproxy_downstream_connections") >= 20, 10, "in flight")
        start = time.monotonic()
        assert proxy.terminate() == 0
        for t in threads:
            t.join(10)
        assert results == [200] * 20
        assert time.monotonic() - start < 5
