"""A weighted cluster's own header modifiers, through a real listener stack built from config:
the request the upstream receives carries them, after the route's own (the backend's `set`
wins), and the response the client gets carries the backend's response modifier."""

from __future__ import annotations

from pathlib import Path

import pytest
from meshproxy_fakes import settle
from stack_rig import Rig, config_dict

GET = b"GET /p HTTP/1.1\r\nHost: a.example\r\nX-Debug: 1\r\n\r\n"
OK = b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello"


def _forward(**cluster: object) -> dict[str, object]:
    return {"forward": {"clusters": [{"cluster": "be", **cluster}]}}


async def test_the_backend_request_modifier_comes_after_the_routes_and_keeps_the_direct_path(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cfg = config_dict(
        tmp_path,
        requestHeaders={"set": {"backend": "route", "x-rule": "r"}},
        **_forward(requestHeaders={"set": {"backend": "be"}, "remove": ["x-debug"]}),
    )
    rig = Rig(cfg, monkeypatch)
    rig.client.data_received(GET)
    await settle()
    (sent,) = rig.upstream_bytes()
    head = sent.lower()
    assert b"\r\nbackend: be\r\n" in head
    assert b"backend: route" not in head
    assert b"\r\nx-rule: r\r\n" in head
    assert b"x-debug" not in head


async def test_the_backend_response_modifier_reaches_the_client(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cfg = config_dict(tmp_path, **_forward(responseHeaders={"add": {"x-served-by": "be"}}))
    rig = Rig(cfg, monkeypatch)
    rig.client.data_received(GET)
    await settle()
    await rig.play([("upstream", OK)])
    answer = rig.client_transport.data().lower()
    assert b"\r\nx-served-by: be\r\n" in answer
    assert answer.endswith(b"hello")


async def test_a_request_only_backend_modifier_keeps_the_route_driven_by_callbacks(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    rig = Rig(config_dict(tmp_path, **_forward(requestHeaders={"set": {"b": "1"}})), monkeypatch)
    rig.client.data_received(GET)
    # sent within the read, no loop turn: the chain was started by callbacks
    assert b"\r\nb: 1\r\n" in rig.upstream_bytes()[0]
