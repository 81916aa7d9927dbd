"""A serving proxy, gateway or sidecar, holds none of the modules it only needed for one small
job at start: each was measured in its idle RSS (bench/proxy/FOOTPRINT.md), paid once per Pod.

- hashlib: one hash of the config (CPython's `_sha256` gives it), the balancer's blake2b;
- shutil (with bz2, lzma): argparse's help formatter asked it for the terminal width;
- encodings.idna (stringprep, unicodedata): uvloop idna-encodes a numeric listen address;
- _strptime (calendar): a certificate's validity dates;
- h2 (hpack, hyperframe): a sidecar's inbound HTTP/2 pools, before any caller spoke HTTP/2;
- meshproxy.delivery.stream: the operator's config stream, where none is configured.

The real `meshproxy` entry point runs in a child process until its admin port says ready (the
sidecar's readiness reads its certificate's dates), then lists what it has imported.
"""

from __future__ import annotations

import http.client
import json
import signal
import socket
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from typing import Any

from tls_harness import Mesh, identity_from

NEVER_AT_IDLE = {
    "hashlib", "shutil", "bz2", "lzma", "encodings.idna", "_strptime", "h2",
    "meshproxy.delivery.stream",
}  # fmt: skip

# The proxy's own `main`, with a SIGUSR1 handler that writes sys.modules to a file.
PROBE = textwrap.dedent(
    """
    import signal, sys

    def dump(*_):
        with open(sys.argv[1], "w") as out:
            out.write("\\n".join(sorted(sys.modules)))

    signal.signal(signal.SIGUSR1, dump)
    from meshproxy.__main__ import main

    sys.exit(main(sys.argv[2:]))
    """
)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _ready(admin: int) -> bool:
    try:
        conn = http.client.HTTPConnection("127.0.0.1", admin, timeout=1)
        conn.request("GET", "/ready")
        status = conn.getresponse().status
        conn.close()
    except OSError:
        return False
    return status == 200


def _modules_of_a_ready_proxy(tmp_path: Path, cfg: dict[str, Any]) -> set[str]:
    path = tmp_path / "config.json"
    path.write_text(json.dumps(cfg))
    dump = tmp_path / "modules.txt"
    admin = _free_port()
    argv = [sys.executable, "-c", PROBE, str(dump), "--config", str(path)]
    process = subprocess.Popen(
        [*argv, "--admin-port", str(admin)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    try:
        deadline = time.monotonic() + 30
        while not _ready(admin):
            assert process.poll() is None, process.stderr.read() if process.stderr else ""
            assert time.monotonic() < deadline, "the proxy never became ready"
            time.sleep(0.05)
        process.send_signal(signal.SIGUSR1)
        while not (dump.exists() and dump.read_text()):
            assert time.monotonic() < deadline, "the proxy never listed its modules"
            time.sleep(0.05)
        return set(dump.read_text().split())
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _held(modules: set[str]) -> set[str]:
    return {m for m in modules if m in NEVER_AT_IDLE or m.split(".")[0] in NEVER_AT_IDLE}


def _vhosts(name: str) -> list[dict[str, Any]]:
    route = {"name": name, "forward": {"clusters": [{"cluster": name}]}}
    return [{"name": name, "domains": ["*"], "routes": [route]}]


def test_an_idle_gateway_holds_none_of_them(tmp_path: Path) -> None:
    cfg = {
        "node": {"role": "gateway", "name": "idle"},
        "listeners": [
            {
                "name": "edge",
                "address": "127.0.0.1",
                "port": _free_port(),
                "role": "edge",
                "virtualHosts": _vhosts("be"),
            }
        ],
        "clusters": [
            {
                "name": "be",
                "endpoints": [{"address": "127.0.0.1", "port": 9}],
                "loadBalancer": {"consistentHash": {"header": "x-user"}},
            }
        ],
        "observability": {"accessLog": {"enabled": True, "path": str(tmp_path / "access.log")}},
        "limits": {"drainTimeout": 0},
    }
    modules = _modules_of_a_ready_proxy(tmp_path, cfg)
    assert "meshproxy.runtime" in modules  # the dump is of a serving proxy
    assert _held(modules) == set()


def test_an_idle_sidecar_holds_none_of_them(tmp_path: Path, mesh: Mesh) -> None:
    identity = identity_from(tmp_path / "identity", mesh.issue())
    cfg = {
        "node": {"role": "sidecar", "name": "idle", "namespace": "shop"},
        "identity": {
            "certFile": identity.cert_file,
            "keyFile": identity.key_file,
            "caFile": identity.ca_file,
            "trustDomain": identity.trust_domain,
        },
        "listeners": [
            {
                "name": "inbound",
                "address": "127.0.0.1",
                "port": _free_port(),
                "role": "inbound",
                "inbound": {"allowedPorts": [8080], "peerAuthn": [{"mode": "STRICT"}]},
            },
            {
                "name": "outbound",
                "address": "127.0.0.1",
                "port": _free_port(),
                "role": "outbound",
                "virtualHosts": _vhosts("api"),
            },
        ],
        "clusters": [
            {
                "name": "api",
                "endpoints": [{"address": "127.0.0.1", "port": 9}],
                "tls": {"mode": "MESH"},
            }
        ],
        "limits": {"drainTimeout": 0},
    }
    modules = _modules_of_a_ready_proxy(tmp_path, cfg)
    assert "meshproxy.upstream.h2pool" in modules  # its inbound side has HTTP/2 pools
    assert _held(modules) == set()
