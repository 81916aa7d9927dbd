from __future__ import annotations

import pytest

from meshproxy.tls.identity import identity_allowed, parse_spiffe_id, spiffe_id
from meshproxy.tls.modes import admits, handshake_requires_client_cert, plaintext_only
from meshproxy.tls.sniff import looks_like_tls


def test_spiffe_ids_round_trip() -> None:
    sid = spiffe_id("cluster.local", "shop", "frontend")
    assert sid == "spiffe://cluster.local/ns/shop/sa/frontend"
    assert parse_spiffe_id(sid) == ("cluster.local", "shop", "frontend")


@pytest.mark.parametrize(
    "value",
    [
        "spiffe://cluster.local/ns/shop/sa/frontend/extra",
        "spiffe://cluster.local/ns/shop/sa/",
        "spiffe://cluster.local/sa/frontend",
        "spiffe://Cluster.local/ns/shop/sa/frontend",
        "spiffe://cluster.local/ns/Shop/sa/frontend",
        "spiffe://cluster.local/ns/../sa/frontend",
        "https://cluster.local/ns/shop/sa/frontend",
        "spiffe://cluster.local/ns/shop/sa/frontend?x=1",
        "spiffe://cluster.local/ns/shop/sa/front%2fend",
        "",
    ],
)
def test_anything_but_the_mesh_shape_is_not_an_identity(value: str) -> None:
    assert parse_spiffe_id(value) is None


def test_expected_identities_empty_means_any_identity_but_never_none() -> None:
    assert identity_allowed("spiffe://cluster.local/ns/a/sa/b", [])
    assert not identity_allowed(None, [])
    assert not identity_allowed(
        "spiffe://cluster.local/ns/a/sa/b", ["spiffe://cluster.local/ns/a/sa/c"]
    )


def test_strict_admits_only_verified_identities_disable_only_plaintext() -> None:
    peer = "spiffe://cluster.local/ns/a/sa/b"
    assert admits("STRICT", peer)
    assert not admits("STRICT", None)
    assert admits("PERMISSIVE", None)
    assert admits("PERMISSIVE", peer)
    assert admits("DISABLE", None)
    assert not admits("DISABLE", peer)


def test_a_listener_speaks_no_tls_only_when_every_mode_is_disable() -> None:
    assert plaintext_only(["DISABLE", "DISABLE"])
    assert not plaintext_only(["DISABLE", "PERMISSIVE"])
    assert not plaintext_only(["STRICT"])
    assert not plaintext_only([])


def test_the_handshake_requires_certs_only_when_every_mode_is_strict() -> None:
    assert handshake_requires_client_cert(["STRICT", "STRICT"])
    assert not handshake_requires_client_cert(["STRICT", "PERMISSIVE"])
    assert not handshake_requires_client_cert([])


def test_a_client_hello_is_told_from_http() -> None:
    assert looks_like_tls(b"\x16\x03\x01\x02\x00")
    assert not looks_like_tls(b"GET / HTTP/1.1\r\n")
    assert not looks_like_tls(b"")
