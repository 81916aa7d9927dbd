"""CONNECT's request target is authority-form only (`host:port`), and a mesh peer's answer to
the CONNECT a sidecar sends it is read by its status line alone."""

from __future__ import annotations

import pytest

from meshproxy.http1.connect import connect_authority, connect_head, read_reply_status


@pytest.mark.parametrize(
    ("target", "expected"),
    [
        ("secure.shop:443", "secure.shop:443"),
        ("Secure.Shop:443", "secure.shop:443"),
        ("198.19.0.7:8080", "198.19.0.7:8080"),
        ("[::1]:443", "[::1]:443"),
        ("secure.shop", 400),  # the port is required
        ("secure.shop:", 400),
        (":443", 400),
        ("secure.shop:0", 400),
        ("secure.shop:65536", 400),
        ("secure.shop:+443", 400),
        ("user@secure.shop:443", 400),
        ("/path", 400),
        ("http://secure.shop:443", 400),
        ("secure shop:443", 400),
    ],
)
def test_only_a_host_and_port_is_a_connect_target(target: str, expected: str | int) -> None:
    assert connect_authority(target) == expected


def test_the_connect_to_a_peer_names_the_authority_and_carries_the_target_port() -> None:
    head = connect_head("secure.shop:443", "x-meshgate-target-port: 8443\r\n")
    assert head == (
        b"CONNECT secure.shop:443 HTTP/1.1\r\nhost: secure.shop:443\r\n"
        b"x-meshgate-target-port: 8443\r\n\r\n"
    )
    assert connect_head("a:1\r\nx-smuggled: 1", "") is None


@pytest.mark.parametrize(
    ("head", "status"),
    [
        (b"HTTP/1.1 200 Connection Established", 200),
        (b"HTTP/1.0 200 OK\r\nx: y", 200),
        (b"HTTP/1.1 403 Forbidden\r\ncontent-length: 10", 403),
        (b"SSH-2.0-OpenSSH", 0),
        (b"HTTP/1.1 2000 Odd", 0),
        (b"", 0),
    ],
)
def test_a_peer_reply_is_its_status_or_zero_when_it_is_not_http(head: bytes, status: int) -> None:
    assert read_reply_status(head) == status
