"""h2load (nghttp2's HTTP/2 load generator) against an edge listener: 100 concurrent streams on
each connection, every request answered 200 by the backend behind the proxy."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest
from meshproxy_e2e import Backends, Behaviour, cluster, config, forward, running

pytestmark = pytest.mark.e2e

H2LOAD = "/usr/bin/h2load"  # Debian nghttp2-client, installed by hack/install-system-packages.sh


def test_h2load_with_a_hundred_streams_per_connection_gets_every_answer(
    tmp_path: Path, backends: Backends, port: int
) -> None:
    backend = backends.start(Behaviour("b", record=False))
    cfg = config(port, [forward("r", "b")], [cluster("b", backend)])
    with running(tmp_path, cfg) as proxy:
        run = subprocess.run(
            [H2LOAD, "-n", "2000", "-c", "2", "-m", "100", f"http://127.0.0.1:{port}/"],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        out = run.stdout
        counts = re.search(r"requests: (\d+) total, \d+ started, \d+ done, (\d+) succeeded", out)
        assert counts is not None, out + run.stderr
        assert counts.groups() == ("2000", "2000"), out
        assert "status codes: 2000 2xx" in out, out
        assert proxy.metric("meshproxy_requests_by_protocol_total", protocol="HTTP/2") == 2000
