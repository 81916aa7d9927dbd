"""parse_jwks keeps usable signature keys by kid and refuses symmetric, private and malformed
ones; JwksCache refetches on schedule, backs off after failures and rate-limits unknown kids."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

from meshproxy.policy.jwks import JwksCache, JwksError, JwkSet, parse_jwks


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def b64int(value: int) -> str:
    return b64(value.to_bytes((value.bit_length() + 7) // 8, "big"))


@pytest.fixture(scope="module")
def rsa_jwk() -> dict[str, Any]:
    numbers = rsa.generate_private_key(65537, 2048).public_key().public_numbers()
    return {"kty": "RSA", "kid": "r1", "use": "sig", "n": b64int(numbers.n), "e": b64int(numbers.e)}


@pytest.fixture(scope="module")
def ec_jwk() -> dict[str, Any]:
    numbers = ec.generate_private_key(ec.SECP256R1()).public_key().public_numbers()
    return {
        "kty": "EC",
        "kid": "e1",
        "crv": "P-256",
        "x": b64(numbers.x.to_bytes(32, "big")),
        "y": b64(numbers.y.to_bytes(32, "big")),
    }


@pytest.fixture(scope="module")
def ed_jwk() -> dict[str, Any]:
    from cryptography.hazmat.primitives import serialization

    raw = (
        ed25519.Ed25519PrivateKey.generate()
        .public_key()
        .public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    )
    return {"kty": "OKP", "kid": "o1", "crv": "Ed25519", "x": b64(raw)}


def doc(*keys: dict[str, Any]) -> str:
    return json.dumps({"keys": list(keys)})


def test_rsa_ec_and_ed25519_keys_are_found_by_kid_with_their_algorithm(
    rsa_jwk: dict[str, Any], ec_jwk: dict[str, Any], ed_jwk: dict[str, Any]
) -> None:
    keys = parse_jwks(doc(rsa_jwk, ec_jwk, ed_jwk))
    found = {kid: keys.find(kid) for kid in ("r1", "e1", "o1")}
    assert {kid: (k.kty, k.algorithms) for kid, k in found.items() if k} == {
        "r1": ("RSA", {"RS256", "RS384", "RS512", "PS256", "PS384", "PS512"}),
        "e1": ("EC", {"ES256"}),
        "o1": ("OKP", {"EdDSA"}),
    }
    assert keys.find("nope") is None
    assert keys.find(None) is None  # several keys: a token without kid matches none


def test_single_key_without_kid_serves_tokens_with_or_without_kid(
    rsa_jwk: dict[str, Any],
) -> None:
    only = {k: v for k, v in rsa_jwk.items() if k != "kid"}
    keys = parse_jwks(doc(only))
    assert keys.find(None) is keys.keys[0]
    assert keys.find("anything") is keys.keys[0]
    named = parse_jwks(doc(rsa_jwk))
    assert named.find("other") is None


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda k: {"kty": "oct", "k": "c2VjcmV0"}, "symmetric"),
        (lambda k: {**k, "d": "AAAA"}, "private key material"),
        (lambda k: {**k, "n": "not*base64"}, "n is not base64url"),
        (lambda k: {k2: v for k2, v in k.items() if k2 != "e"}, "e is missing"),
        (lambda k: {**k, "n": b64int(2**1023 + 1)}, "shorter than 2048 bits"),
        (lambda k: {**k, "e": b64int(4)}, "exponent"),
        (lambda k: {**k, "kid": 7}, "kid must be a string"),
        (lambda k: {**k, "alg": "HS256"}, "not accepted"),
        (lambda k: {"use": "sig"}, "kty is missing"),
        (lambda k: "a string", "not a JSON object"),
    ],
)
def test_symmetric_private_and_malformed_rsa_keys_fail_the_document(
    rsa_jwk: dict[str, Any], mutate: Any, message: str
) -> None:
    with pytest.raises(JwksError, match=message):
        parse_jwks(doc(mutate(rsa_jwk)))


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda k: {**k, "x": b64(b"\x01" * 31)}, "x must be 32 bytes"),
        (lambda k: {**k, "y": b64((1).to_bytes(32, "big"))}, "not on curve P-256"),
    ],
)
def test_malformed_ec_points_fail_the_document(
    ec_jwk: dict[str, Any], mutate: Any, message: str
) -> None:
    with pytest.raises(JwksError, match=message):
        parse_jwks(doc(mutate(ec_jwk)))


def test_duplicate_kids_fail_the_document(rsa_jwk: dict[str, Any], ec_jwk: dict[str, Any]) -> None:
    with pytest.raises(JwksError, match="more than one key"):
        parse_jwks(doc(rsa_jwk, {**ec_jwk, "kid": "r1"}))


@pytest.mark.parametrize(
    "document", ["not json", "[]", '{"keys": {}}', '{"keys": []}', json.dumps({"keys": [{}] * 65})]
)
def test_documents_without_a_usable_key_list_are_refused(document: str) -> None:
    with pytest.raises(JwksError):
        parse_jwks(document)


def test_encryption_keys_and_other_curves_are_skipped_with_a_note(
    rsa_jwk: dict[str, Any], ec_jwk: dict[str, Any]
) -> None:
    keys = parse_jwks(
        doc(
            rsa_jwk,
            {**rsa_jwk, "kid": "enc", "use": "enc"},
            {**ec_jwk, "kid": "k1", "crv": "secp256k1"},
            {**rsa_jwk, "kid": "es", "alg": "ES256"},
        )
    )
    assert [k.kid for k in keys.keys] == ["r1"]
    assert len(keys.skipped) == 3
    assert all("kid" in note for note in keys.skipped)


def test_a_declared_alg_is_the_only_one_the_key_verifies(
    rsa_jwk: dict[str, Any], p384_jwk: dict[str, Any]
) -> None:
    keys = parse_jwks(doc({**rsa_jwk, "alg": "PS256"}, p384_jwk))
    assert [(k.kid, k.algorithms) for k in keys.keys] == [
        ("r1", {"PS256"}),
        ("p384", {"ES384"}),
    ]


@pytest.fixture(scope="module")
def p384_jwk() -> dict[str, Any]:
    numbers = ec.generate_private_key(ec.SECP384R1()).public_key().public_numbers()
    return {
        "kty": "EC",
        "kid": "p384",
        "crv": "P-384",
        "x": b64(numbers.x.to_bytes(48, "big")),
        "y": b64(numbers.y.to_bytes(48, "big")),
    }


def test_key_repr_shows_no_key_numbers(rsa_jwk: dict[str, Any]) -> None:
    key = parse_jwks(doc(rsa_jwk)).keys[0]
    assert rsa_jwk["n"][:16] not in repr(key)
    assert str(key.public.public_numbers().n)[:16] not in repr(key)


# --- JwksCache ------------------------------------------------------------------------------


@pytest.fixture
def some_keys(ed_jwk: dict[str, Any]) -> JwkSet:
    return parse_jwks(doc(ed_jwk))


def test_first_fetch_is_due_at_once_then_after_cache_seconds(some_keys: JwkSet) -> None:
    cache = JwksCache(cache_seconds=300, now=1000.0)
    assert cache.due(1000.0)
    cache.fetched(some_keys, 1000.0)
    assert not cache.due(1299.0)
    assert cache.wait(1100.0) == pytest.approx(200.0)
    assert cache.due(1300.0)


def test_failures_back_off_exponentially_and_keep_the_last_good_keys(
    some_keys: JwkSet,
) -> None:
    cache = JwksCache(cache_seconds=300, max_backoff_seconds=8, initial=some_keys, now=0.0)
    now = 300.0
    waits = []
    for _ in range(6):
        assert cache.due(now)
        cache.failed("connection refused", now)
        waits.append(cache.wait(now))
        now += cache.wait(now)
    assert waits == [1, 2, 4, 8, 8, 8]
    assert cache.keys is some_keys
    assert cache.last_error == "connection refused"
    cache.fetched(some_keys, now)
    assert cache.wait(now) == 300
    assert cache.last_error is None


def test_unknown_kid_refetches_at_most_once_per_min_interval(some_keys: JwkSet) -> None:
    cache = JwksCache(cache_seconds=300, min_refetch_seconds=30, initial=some_keys, now=0.0)
    assert not cache.unknown_kid(10.0)  # fetched at 0: too soon
    assert cache.unknown_kid(31.0)
    assert cache.due(31.0)
    assert not cache.unknown_kid(31.5)  # already due; no second request
    cache.fetched(some_keys, 32.0)
    decisions = [cache.unknown_kid(32.0 + t) for t in range(0, 61)]
    assert decisions.count(True) == 1
    assert decisions.index(True) == 30  # at 62 s, min interval after the fetch at 32 s


def test_unknown_kid_does_not_cut_a_failure_backoff_short(some_keys: JwkSet) -> None:
    cache = JwksCache(cache_seconds=300, min_refetch_seconds=1, initial=some_keys, now=0.0)
    cache.failed("timeout", 300.0)
    cache.failed("timeout", 301.0)  # back-off now 2 s
    assert not cache.unknown_kid(302.5)
    assert not cache.due(302.5)
