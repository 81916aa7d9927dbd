"""Every hardening rule of the client parser: refused with a canned reply, closed, never handled."""

from __future__ import annotations

import pytest
from meshproxy_fakes import FakeStack, connect, settle

from meshproxy.http.message import Request, Response

H = b"Host: a\r\n"

REFUSED = {
    "content-length and transfer-encoding": (
        b"POST / HTTP/1.1\r\n" + H + b"Content-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n"
        b"0\r\n\r\n",
        400,
    ),
    "duplicate content-length": (
        b"POST / HTTP/1.1\r\n" + H + b"Content-Length: 5\r\nContent-Length: 5\r\n\r\nhello",
        400,
    ),
    "plus sign content-length": (
        b"POST / HTTP/1.1\r\n" + H + b"Content-Length: +5\r\n\r\nhello",
        400,
    ),
    "underscore content-length": (
        b"POST / HTTP/1.1\r\n" + H + b"Content-Length: 5_0\r\n\r\nhello",
        400,
    ),
    "non-hex chunk size": (
        b"POST / HTTP/1.1\r\n" + H + b"Transfer-Encoding: chunked\r\n\r\n+5\r\nhello\r\n0\r\n\r\n",
        400,
    ),
    "underscore chunk size": (
        b"POST / HTTP/1.1\r\n" + H + b"Transfer-Encoding: chunked\r\n\r\n0_5\r\nhello\r\n0\r\n\r\n",
        400,
    ),
    "obs-fold": (b"GET / HTTP/1.1\r\n" + H + b"X: a\r\n b\r\n\r\n", 400),
    "NUL in value": (b"GET / HTTP/1.1\r\n" + H + b"X: a\x00b\r\n\r\n", 400),
    "bare CR in value": (b"GET / HTTP/1.1\r\n" + H + b"X: a\rb\r\n\r\n", 400),
    "bare LF line end": (b"GET / HTTP/1.1\r\nHost: a\nX: b\r\n\r\n", 400),
    "space before colon": (b"GET / HTTP/1.1\r\n" + H + b"X : b\r\n\r\n", 400),
    "empty header name": (b"GET / HTTP/1.1\r\n" + H + b": b\r\n\r\n", 400),
    "nbsp in header name": (b"GET / HTTP/1.1\r\n" + H + b"X\xa0: b\r\n\r\n", 400),
    "nbsp before chunked": (
        b"POST / HTTP/1.1\r\n" + H + b"Transfer-Encoding: \xa0chunked\r\n\r\n0\r\n\r\n",
        400,
    ),
    "nbsp in host": (b"GET / HTTP/1.1\r\nHost: \xa0a\r\n\r\n", 400),
    "two host headers": (b"GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", 400),
    "no host in http/1.1": (b"GET / HTTP/1.1\r\nX: y\r\n\r\n", 400),
    "absolute uri with userinfo": (b"GET http://u@a/x HTTP/1.1\r\nHost: a\r\n\r\n", 400),
    "nul escape in path": (b"GET /a%00b HTTP/1.1\r\n" + H + b"\r\n", 400),
    "connect": (b"CONNECT a:443 HTTP/1.1\r\nHost: a:443\r\n\r\n", 405),
    "declared body over the limit": (
        b"POST / HTTP/1.1\r\n" + H + b"Content-Length: 2000\r\n\r\n",
        413,
    ),
    "chunked body over the limit": (
        b"POST / HTTP/1.1\r\n"
        + H
        + b"Transfer-Encoding: chunked\r\n\r\n"
        + b"400\r\n"
        + b"x" * 1024
        + b"\r\n"
        + b"400\r\n"
        + b"x" * 1024
        + b"\r\n",
        413,
    ),
    "header block over the limit": (
        b"GET / HTTP/1.1\r\n" + H + b"X: " + b"y" * 2000 + b"\r\n\r\n",
        431,
    ),
}


@pytest.mark.parametrize(("raw", "status"), REFUSED.values(), ids=REFUSED.keys())
async def test_refused_with_canned_reply_and_closed(raw: bytes, status: int) -> None:
    stack = FakeStack(max_request_body_bytes=1500, max_header_bytes=1024)
    protocol, transport = connect(stack)
    protocol.data_received(raw)
    await settle()
    assert transport.data().startswith(b"HTTP/1.1 %d " % status)
    assert b"connection: close" in transport.data()
    assert transport.closed
    # A request with a streaming body may already be running; its body must then have failed.
    for request in stack.seen:
        assert request.body is not None
        assert request.body.error is not None


async def test_header_block_sent_slowly_over_the_limit_is_refused_before_it_ends() -> None:
    stack = FakeStack(max_header_bytes=1024)
    protocol, transport = connect(stack)
    protocol.data_received(b"GET / HTTP/1.1\r\nX: ")
    for _ in range(30):
        if transport.closed:
            break
        protocol.data_received(b"y" * 100)
    await settle()
    assert transport.data().startswith(b"HTTP/1.1 431 ")
    assert stack.seen == []


async def test_requests_before_a_malformed_one_are_answered_first() -> None:
    stack = FakeStack()
    protocol, transport = connect(stack)
    protocol.data_received(
        b"GET /ok HTTP/1.1\r\nHost: a\r\n\r\nGET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n"
    )
    await settle()
    data = transport.data()
    assert data.startswith(b"HTTP/1.1 200 OK")
    assert data.index(b"HTTP/1.1 400") > data.index(b"ok:/ok")
    assert [r.path for r in stack.seen] == ["/ok"]


async def test_path_is_normalised_before_any_layer_sees_it() -> None:
    stack = FakeStack()
    protocol, _ = connect(stack)
    protocol.data_received(b"GET /a/%2e%2e//admin/./x%2Fy?q=1 HTTP/1.1\r\nHost: A.example\r\n\r\n")
    await settle()
    request = stack.seen[0]
    assert (request.path, request.query, request.host) == ("/admin/x%2Fy", "q=1", "a.example")


async def test_absolute_form_agreeing_with_host_is_served_with_its_path() -> None:
    stack = FakeStack()
    protocol, _ = connect(stack)
    protocol.data_received(b"GET http://A:8080/p?x HTTP/1.1\r\nHost: a:8080\r\n\r\n")
    await settle()
    assert (stack.seen[0].path, stack.seen[0].host) == ("/p", "a:8080")


@pytest.mark.parametrize(
    ("raw", "host"),
    [
        (b"GET http://b/x HTTP/1.1\r\nHost: a\r\n\r\n", "b"),
        (b"GET https://B/x HTTP/1.1\r\nHost: a\r\n\r\n", "b"),
        (b"GET http://a:81/x HTTP/1.1\r\nHost: a\r\n\r\n", "a:81"),
    ],
)
async def test_absolute_form_is_routed_by_its_authority_not_by_a_differing_host(
    raw: bytes, host: str
) -> None:
    # RFC 9112 3.2.2: the authority wins and replaces Host, so upstream sees only one of them.
    stack = FakeStack()
    protocol, _ = connect(stack)
    protocol.data_received(raw)
    await settle()
    assert (stack.seen[0].path, stack.seen[0].host) == ("/x", host)


async def test_h2c_upgrade_is_served_as_plain_http_without_the_upgrade_header() -> None:
    stack = FakeStack()
    protocol, transport = connect(stack)
    protocol.data_received(
        b"GET / HTTP/1.1\r\nHost: a\r\nConnection: Upgrade, HTTP2-Settings\r\n"
        b"Upgrade: h2c\r\nHTTP2-Settings: AAMAAABkAAQCAAAAAAIAAAAA\r\n\r\n"
    )
    await settle()
    request = stack.seen[0]
    assert request.upgrade is None
    assert all(name not in ("upgrade", "http2-settings") for name, _ in request.headers)
    assert transport.data().startswith(b"HTTP/1.1 200 OK")


@pytest.mark.parametrize("bad", ["a\r\nx-injected: 1", "a\nb", "a\x00b", "a\rb"])
async def test_response_header_with_cr_lf_or_nul_is_never_written(bad: str) -> None:
    async def evil(request: Request) -> Response:
        return Response(200, [("x-evil", bad)], b"body")

    stack = FakeStack(evil)
    protocol, transport = connect(stack)
    protocol.data_received(b"GET / HTTP/1.1\r\nHost: a\r\n\r\n")
    await settle()
    assert transport.data().startswith(b"HTTP/1.1 502 ")
    assert b"x-evil" not in transport.data()
    assert b"injected" not in transport.data()


async def test_handler_exception_text_never_reaches_the_client() -> None:
    async def broken(request: Request) -> Response:
        raise RuntimeError("secret upstream detail 10.0.0.7")

    stack = FakeStack(broken)
    protocol, transport = connect(stack)
    protocol.data_received(b"GET / HTTP/1.1\r\nHost: a\r\n\r\n")
    await settle()
    assert transport.data().startswith(b"HTTP/1.1 500 ")
    assert b"secret" not in transport.data()
