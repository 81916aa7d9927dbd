"""The proxy process reads its config without pydantic, and loads cryptography (JWT, certificate
dates) and the email package (a cache's HTTP dates) only when its config needs them: each costs
RSS in every proxy that would load it for nothing."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import textwrap
from pathlib import Path


def _config(port: int) -> dict[str, object]:
    return {
        "node": {"role": "gateway"},
        "listeners": [
            {
                "name": "edge",
                "address": "127.0.0.1",
                "port": port,
                "role": "edge",
                "virtualHosts": [
                    {
                        "name": "any",
                        "domains": ["*"],
                        "routes": [{"name": "r", "forward": {"clusters": [{"cluster": "be"}]}}],
                    }
                ],
            }
        ],
        "clusters": [{"name": "be", "endpoints": [{"address": "127.0.0.1", "port": 9000}]}],
        "limits": {"drainTimeout": 0},
    }


# Loads the config and opens its listener as `meshproxy` does, then lists the heavy packages
# the process holds.
PROBE = textwrap.dedent(
    """
    import asyncio, json, sys
    import meshproxy.__main__
    from meshproxy.runtime import Proxy

    async def serve() -> bool:
        proxy = Proxy(sys.argv[1])
        applied = await proxy.reload()
        await proxy.drain()
        return applied

    applied = asyncio.run(serve())
    heavy = {"pydantic", "pydantic_core", "cryptography", "email", "meshgate", "yaml", "jinja2"}
    print(json.dumps([applied, sorted({m.split(".")[0] for m in sys.modules} & heavy)]))
    """
)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def test_a_serving_proxy_without_tls_jwt_or_cache_has_loaded_none_of_the_heavy_packages(
    tmp_path: Path,
) -> None:
    path = tmp_path / "config.json"
    path.write_text(json.dumps(_config(_free_port())))
    out = subprocess.run(
        [sys.executable, "-c", PROBE, str(path)],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    assert json.loads(out.stdout.splitlines()[-1]) == [True, []]
