"""Hardening cases the parser table elsewhere leaves out: numbers that only look like numbers,
control bytes in names, invalid Host values, and what reaches (and comes back from) an upstream
through the real listener stack."""

from __future__ import annotations

from pathlib import Path

import pytest
from meshproxy_fakes import FakeStack, connect, settle
from stack_rig import Rig, config_dict

H = b"Host: a\r\n"


def post(head: bytes, body: bytes = b"hello") -> bytes:
    return b"POST / HTTP/1.1\r\n" + H + head + b"\r\n\r\n" + body


def chunked(size: bytes) -> bytes:
    return post(b"Transfer-Encoding: chunked", size + b"\r\nhello\r\n0\r\n\r\n")


REFUSED = {
    "content-length 0x5": post(b"Content-Length: 0x5"),
    "content-length -1": post(b"Content-Length: -1"),
    "content-length with a space inside": post(b"Content-Length: 5 5"),
    "content-length list": post(b"Content-Length: 5, 5"),
    "content-length empty": post(b"Content-Length: "),
    "content-length letters": post(b"Content-Length: abc"),
    "content-length nbsp": post(b"Content-Length: \xa05"),
    "content-length beyond 64 bits": post(b"Content-Length: 99999999999999999999999"),
    "content-length space before colon": post(b"Content-Length : 5"),
    "chunk size with a leading space": chunked(b" 5"),
    "chunk size 0x5": chunked(b"0x5"),
    "chunk size -5": chunked(b"-5"),
    "chunk size beyond 64 bits": chunked(b"fffffffffffffffffffff"),
    "transfer-encoding twice": post(b"Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked"),
    "transfer-encoding not ending in chunked": post(b"Transfer-Encoding: identity"),
    "bare LF inside a value": b"GET / HTTP/1.1\r\n" + H + b"X: a\nb\r\n\r\n",
    "NUL in a name": b"GET / HTTP/1.1\r\n" + H + b"X\x00Y: b\r\n\r\n",
    "bare CR in a name": b"GET / HTTP/1.1\r\n" + H + b"X\rY: b\r\n\r\n",
    "tab before the colon": b"GET / HTTP/1.1\r\n" + H + b"X\t: b\r\n\r\n",
    "DEL in a value": b"GET / HTTP/1.1\r\n" + H + b"X: a\x7fb\r\n\r\n",
    "bare CR after the request line": b"GET / HTTP/1.1\r" + H + b"\r\n",
    "two host headers differing in case": b"GET / HTTP/1.1\r\nHost: a\r\nhOST: a\r\n\r\n",
    "host with a path": b"GET / HTTP/1.1\r\nHost: a/b\r\n\r\n",
    "host with userinfo": b"GET / HTTP/1.1\r\nHost: u@a\r\n\r\n",
    "host with a backslash": b"GET / HTTP/1.1\r\nHost: a\\b\r\n\r\n",
    "absolute uri, backslash in its authority": b"GET http://a\\b/x HTTP/1.1\r\nHost: a\r\n\r\n",
}


@pytest.mark.parametrize("raw", REFUSED.values(), ids=REFUSED.keys())
async def test_refused_with_400_closed_and_never_handled(raw: bytes) -> None:
    stack = FakeStack()
    protocol, transport = connect(stack)
    protocol.data_received(raw)
    await settle()
    assert transport.data().startswith(b"HTTP/1.1 400 ")
    assert transport.closed
    assert stack.seen == []
    assert stack.rejections == [400]


@pytest.mark.parametrize(
    "host", [b"a.example", b"a.example:8080", b"[::1]:8080", b"xn--bcher-kva.example", b""]
)
async def test_valid_host_values_are_served(host: bytes) -> None:
    stack = FakeStack()
    protocol, transport = connect(stack)
    protocol.data_received(b"GET / HTTP/1.1\r\nHost: " + host + b"\r\n\r\n")
    await settle()
    assert transport.data().startswith(b"HTTP/1.1 200 ")
    assert stack.seen[0].host == host.decode()


async def test_optional_whitespace_around_content_length_is_not_part_of_the_number() -> None:
    stack = FakeStack()
    protocol, transport = connect(stack)
    protocol.data_received(post(b"Content-Length:  5 "))
    await settle()
    assert transport.data().startswith(b"HTTP/1.1 200 ")
    request = stack.seen[0]
    assert request.body is not None
    assert request.body.buffered() == b"hello"


async def test_percent_encoded_slash_and_backslash_stay_encoded_for_routing() -> None:
    stack = FakeStack()
    protocol, _ = connect(stack)
    protocol.data_received(b"GET /a%5Cb/%2F/%7e HTTP/1.1\r\nHost: a\r\n\r\n")
    await settle()
    assert stack.seen[0].path == "/a%5Cb/%2F/~"


# --- through the real stack to a fake upstream ------------------------------------------------

GET = b"GET /p HTTP/1.1\r\nHost: a.example\r\n"


async def test_h2c_upgrade_and_connection_listed_headers_never_reach_the_upstream(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    rig = Rig(config_dict(tmp_path), monkeypatch)
    await rig.play(
        [
            (
                "client",
                GET + b"Connection: Upgrade, HTTP2-Settings, X-Hop\r\nUpgrade: h2c\r\n"
                b"HTTP2-Settings: AAMAAABkAAQCAAAAAAIAAAAA\r\nX-Hop: 1\r\nKeep-Alive: 5\r\n"
                b"TE: trailers\r\nProxy-Connection: keep-alive\r\nX-Kept: k\r\n\r\n",
            ),
            ("upstream", b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"),
        ]
    )
    [sent] = [b for b in rig.upstream_bytes() if b]
    head = sent.lower()
    for name in (b"upgrade", b"h2c", b"http2-settings", b"x-hop", b"keep-alive", b"te:"):
        assert name not in head, name
    assert b"proxy-connection" not in head
    assert b"x-kept: k\r\n" in head
    assert b"x-forwarded-for: 127.0.0.9\r\n" in head
    assert b"x-forwarded-proto: http\r\n" in head
    assert rig.client_transport.data().startswith(b"HTTP/1.1 200 OK")


@pytest.mark.parametrize(
    "bad", [b"X-Evil: a\rb\r\n", b"X-Evil: a\x00b\r\n", b"X-Ev il: a\r\n", b"X-Evil: a\nb\r\n"]
)
async def test_an_upstream_header_with_bad_bytes_is_a_fixed_502_and_never_written(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, bad: bytes
) -> None:
    rig = Rig(config_dict(tmp_path), monkeypatch)
    await rig.play(
        [
            ("client", GET + b"\r\n"),
            ("upstream", b"HTTP/1.1 200 OK\r\n" + bad + b"Content-Length: 2\r\n\r\nok"),
        ]
    )
    reply = rig.client_transport.data()
    assert reply.startswith(b"HTTP/1.1 502 ")
    assert reply.endswith(b"\r\n\r\nupstream error\n")
    assert b"evil" not in reply.lower()


async def test_an_upstream_reset_is_a_fixed_502_without_upstream_detail(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    rig = Rig(config_dict(tmp_path), monkeypatch)
    await rig.play(
        [
            ("client", GET + b"\r\n"),
            ("upstream", b"HTTP/1.1 200 OK\r\nContent-Le"),  # half a head, then gone
            ("upstream-close", b""),
        ]
    )
    reply = rig.client_transport.data()
    assert reply.startswith(b"HTTP/1.1 502 ")
    assert reply.endswith(b"\r\n\r\nupstream error\n")


async def test_an_upstream_protocol_error_is_a_fixed_502_without_its_bytes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    rig = Rig(config_dict(tmp_path), monkeypatch)
    await rig.play(
        [("client", GET + b"\r\n"), ("upstream", b"SECRET-BACKEND/9 internal 10.0.0.7\r\n\r\n")]
    )
    reply = rig.client_transport.data()
    assert reply.startswith(b"HTTP/1.1 502 ")
    assert b"SECRET" not in reply
    assert b"10.0.0.7" not in reply


class _NoEndpoint:
    """A balancer with nothing to pick, as for a Service with no ready Pod."""

    def pick(self, hash_key: bytes | None, now: float) -> None:
        return None


async def test_no_endpoint_to_pick_is_a_fixed_503(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    rig = Rig(config_dict(tmp_path), monkeypatch)
    rig.built.clusters["be"].balancer = _NoEndpoint()  # type: ignore[assignment]
    await rig.play([("client", GET + b"\r\n")])
    reply = rig.client_transport.data()
    assert reply.startswith(b"HTTP/1.1 503 ")
    assert reply.endswith(b"\r\n\r\nno healthy upstream\n")
