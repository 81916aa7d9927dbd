"""UpstreamLayer: the head it writes (proxy headers, framing, hop-by-hop), no endpoint is 503,
and a reused keep-alive connection that dies before answering is tried once on a fresh one."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from layer_fakes import request

from meshproxy.http.body import Body
from meshproxy.http.message import LocalReply
from meshproxy.layers.upstream import UpstreamLayer

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "server"))
from stack_rig import Rig, config_dict  # type: ignore[import-not-found]


async def head_lines(req_headers: list[tuple[str, str]], **kw: object) -> list[str]:
    req = request(headers=req_headers, **kw)  # type: ignore[arg-type]
    return UpstreamLayer({}, set_forwarded_proto=True).head(req).decode("latin-1").split("\r\n")


async def test_the_head_appends_the_client_to_x_forwarded_for_and_sets_the_proto() -> None:
    lines = await head_lines([("x-forwarded-for", "203.0.113.9"), ("x-forwarded-proto", "https")])
    assert "x-forwarded-for: 203.0.113.9, 192.0.2.1" in lines
    assert "x-forwarded-proto: http" in lines  # set from the listener, not from the client
    assert lines[:2] == ["GET / HTTP/1.1", "host: app.test"]


async def test_the_head_drops_hop_by_hop_and_connection_listed_headers() -> None:
    lines = await head_lines(
        [("connection", "x-hop"), ("x-hop", "1"), ("te", "trailers"), ("x-kept", "k")]
    )
    names = [line.split(":", 1)[0] for line in lines if ":" in line]
    assert "x-kept" in names
    for dropped in ("connection", "x-hop", "te"):
        assert dropped not in names


async def test_the_head_frames_the_body_as_the_upstream_will_receive_it() -> None:
    layer = UpstreamLayer({}, set_forwarded_proto=True)
    complete = layer.head(request("POST", body=Body.of(b"abc")))
    assert b"content-length: 3\r\n" in complete
    streaming = layer.head(request("POST", body=Body(None)))
    assert b"transfer-encoding: chunked\r\n" in streaming
    assert b"content-length: 0\r\n" in layer.head(request("POST"))


async def test_a_line_break_a_layer_let_through_is_400_and_never_sent() -> None:
    req = request()
    req.extra_head = "x-a: 1\r\nx-injected: 1\r\n"  # two lines counted as one
    req.request.host = "app.test\r\nx-smuggled: 1"
    with pytest.raises(LocalReply) as refused:
        UpstreamLayer({}, set_forwarded_proto=True).head(req)
    assert refused.value.status == 400


GET = b"GET /p HTTP/1.1\r\nHost: a.example\r\n\r\n"
OK = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"


async def test_a_reused_connection_closing_before_any_byte_is_retried_on_a_fresh_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    rig = Rig(config_dict(tmp_path), monkeypatch, direct=False)
    await rig.play([("client", GET), ("upstream", OK)])  # the connection has served one
    await rig.play([("client", GET), ("upstream-close", b""), ("upstream", OK)])
    assert rig.connects == 1
    assert rig.client_transport.data().count(b"HTTP/1.1 200 OK") == 2
    assert b"HTTP/1.1 502" not in rig.client_transport.data()


async def test_every_endpoint_ejected_still_serves_through_panic_routing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    rig = Rig(config_dict(tmp_path), monkeypatch, direct=False)
    for endpoint in rig.built.clusters["be"].endpoints:
        endpoint.ejected_until = float("inf")
    await rig.play([("client", GET), ("upstream", OK)])
    assert rig.client_transport.data().startswith(b"HTTP/1.1 200 OK")


async def test_consecutive_5xx_answers_eject_the_endpoint(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    rig = Rig(config_dict(tmp_path), monkeypatch, direct=False)
    failing = b"HTTP/1.1 500 X\r\nContent-Length: 0\r\n\r\n"
    await rig.play([("client", GET), ("upstream", failing), ("client", GET), ("upstream", failing)])
    [endpoint] = rig.built.clusters["be"].endpoints
    assert endpoint.ejection_count == 1
    # Its only endpoint out, the cluster routes to it anyway (panic) rather than answer 503.
    await rig.play([("client", GET), ("upstream", OK)])
    assert rig.client_transport.data().count(b"HTTP/1.1 500 ") == 2
    assert rig.client_transport.data().endswith(b"ok")
