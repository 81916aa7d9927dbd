"""An upstream that answers 101 Switching Protocols to a request that asked for no upgrade has
left HTTP: the client gets a fixed 502 and the upstream connection is closed, never reused,
whether the exchange was driven by callbacks or by a Task."""

from __future__ import annotations

from pathlib import Path

import pytest
from stack_rig import Rig, config_dict

GET = b"GET /p HTTP/1.1\r\nHost: a.example\r\n\r\n"
SWITCH = b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: other\r\nConnection: upgrade\r\n\r\n"


@pytest.mark.parametrize("direct", [True, False], ids=["callbacks", "task"])
async def test_a_101_to_a_plain_request_is_a_502_and_the_connection_is_dropped(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, direct: bool
) -> None:
    rig = Rig(config_dict(tmp_path), monkeypatch, direct=direct)
    await rig.play([("client", GET), ("upstream", SWITCH + b"raw bytes of another protocol")])
    reply = rig.client_transport.data()
    assert reply.startswith(b"HTTP/1.1 502 ")
    assert b"raw bytes" not in reply
    assert all(upstream.closed for upstream in rig.upstreams)
