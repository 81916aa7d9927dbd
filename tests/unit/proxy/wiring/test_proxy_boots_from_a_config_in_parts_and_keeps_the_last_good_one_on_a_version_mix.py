"""A proxy booting from a config in parts (a sidecar's mesh config or a gateway's) assembles and
serves it; an index whose parts are of another version, or a corrupt part, is refused with the
reason and the running config keeps serving; once the index's own parts are there, it applies."""

from __future__ import annotations

import asyncio
import json
import logging
import socket
from pathlib import Path
from typing import Any

import pytest

from meshproxy import configparts
from meshproxy.observability.metrics import Registry
from meshproxy.runtime import Proxy


def _config(version: str, port: int) -> str:
    # Many virtual hosts, so the config takes several (shrunk) parts; the last one answers.
    hosts = [
        {
            "name": f"svc-{i}",
            "domains": [f"svc-{i}.shop.svc.cluster.local"],
            "routes": [{"name": "r", "directResponse": {"status": 200, "body": f"{version}-{i}"}}],
        }
        for i in range(40)
    ]
    doc: dict[str, Any] = {
        "schema": "meshproxy/v1",
        "version": version,
        "node": {"role": "sidecar"},
        "listeners": [
            {
                "name": "outbound",
                "address": "127.0.0.1",
                "port": port,
                "role": "outbound",
                "virtualHosts": hosts,
            }
        ],
    }
    return json.dumps(doc)


def _write(directory: Path, split: configparts.SplitConfig, *, index: bool, parts: bool) -> None:
    if parts:
        for old in directory.glob("part-*.gz"):
            old.unlink()
        for name, chunk in split.parts:
            (directory / name).write_bytes(chunk)
    if index:
        (directory / "config.json").write_text(split.index_json)


async def _body(port: int) -> bytes:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    host = b"svc-39.shop.svc.cluster.local"
    writer.write(b"GET / HTTP/1.1\r\nHost: " + host + b"\r\nConnection: close\r\n\r\n")
    await writer.drain()
    answer = await asyncio.wait_for(reader.read(), 5)
    writer.close()
    return answer.rsplit(b"\r\n\r\n", 1)[1]


async def test_parts_are_assembled_and_a_version_mix_never_replaces_the_running_config(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    # Small thresholds: the assembly is under test, not the size (the e2e test has a real one).
    monkeypatch.setattr(configparts, "INLINE_BYTES", 1024)
    monkeypatch.setattr(configparts, "PART_BYTES", 512)
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    split = {v: configparts.split(_config(v, port), v) for v in ("v1", "v2", "v3")}
    v1, v2, v3 = split["v1"], split["v2"], split["v3"]
    assert v1 is not None
    assert v2 is not None
    assert v3 is not None
    assert len(v1.parts) >= 2
    _write(tmp_path, v1, index=True, parts=True)
    proxy = Proxy(str(tmp_path / "config.json"), Registry(), env={})
    await proxy.start()
    try:
        assert proxy.version == "v1"
        assert await _body(port) == b"v1-39"

        # The new index before its parts (the old parts still there): refused, v1 serves on.
        _write(tmp_path, v2, index=True, parts=False)
        with caplog.at_level(logging.ERROR, logger="meshproxy"):
            assert not await proxy.reload()
        assert "part-0-v2.gz of version v2 cannot be read" in caplog.text
        assert "keeping the previous one" in caplog.text
        assert proxy.version == "v1"
        assert await _body(port) == b"v1-39"
        assert 'meshproxy_config_reloads_total{result="failure"} 1' in proxy.registry.render()

        # Its parts arrive: the whole of v2 applies.
        _write(tmp_path, v2, index=False, parts=True)
        assert await proxy.reload()
        assert proxy.version == "v2"
        assert await _body(port) == b"v2-39"

        # A corrupt part of v3: refused for its digest, v2 serves on.
        _write(tmp_path, v3, index=True, parts=True)
        name, chunk = v3.parts[-1]
        (tmp_path / name).write_bytes(chunk[:-1] + bytes([chunk[-1] ^ 1]))
        caplog.clear()
        with caplog.at_level(logging.ERROR, logger="meshproxy"):
            assert not await proxy.reload()
        assert "config parts of version v3 do not match the index" in caplog.text
        assert proxy.version == "v2"
        assert await _body(port) == b"v2-39"
    finally:
        await proxy.drain()
