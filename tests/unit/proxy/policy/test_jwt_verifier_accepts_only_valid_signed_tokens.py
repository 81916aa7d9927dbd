"""JwtVerifier: RS*, PS*, ES256/384/512 and EdDSA tokens from a configured provider pass;
forged, stale, misdirected and malformed ones are refused with the reason a client may see."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

from meshproxy import config
from meshproxy.policy.jwks import JwkSet, parse_jwks
from meshproxy.policy.jwt import (
    MAX_TOKEN_BYTES,
    JwtResult,
    JwtVerifier,
    bearer_token,
    www_authenticate,
)

ISSUER = "https://id.example.test"
NOW = 1_700_000_000.0


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def b64json(obj: object) -> str:
    return b64(json.dumps(obj).encode())


def b64int(value: int) -> str:
    return b64(value.to_bytes((value.bit_length() + 7) // 8, "big"))


@dataclass
class Signer:
    alg: str
    kid: str
    sign: Callable[[bytes], bytes]
    jwk: dict[str, Any]
    public_pem: bytes


_HASHES = {"256": hashes.SHA256, "384": hashes.SHA384, "512": hashes.SHA512}


def _rsa_signer(kid: str, alg: str = "RS256") -> Signer:
    key = rsa.generate_private_key(65537, 2048)
    numbers = key.public_key().public_numbers()
    digest = _HASHES[alg[2:]]()
    pad: padding.AsymmetricPadding = (
        padding.PKCS1v15()
        if alg.startswith("RS")
        else padding.PSS(padding.MGF1(digest), padding.PSS.DIGEST_LENGTH)
    )
    return Signer(
        alg,
        kid,
        lambda data: key.sign(data, pad, digest),
        {"kty": "RSA", "kid": kid, "n": b64int(numbers.n), "e": b64int(numbers.e)},
        key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        ),
    )


_CURVES: dict[str, tuple[ec.EllipticCurve, str, int]] = {
    "ES256": (ec.SECP256R1(), "P-256", 32),
    "ES384": (ec.SECP384R1(), "P-384", 48),
    "ES512": (ec.SECP521R1(), "P-521", 66),
}


def _ec_signer(kid: str, alg: str = "ES256") -> Signer:
    curve, crv, size = _CURVES[alg]
    key = ec.generate_private_key(curve)
    numbers = key.public_key().public_numbers()
    digest = _HASHES[alg[2:]]()

    def sign(data: bytes) -> bytes:
        r, s = decode_dss_signature(key.sign(data, ec.ECDSA(digest)))
        return r.to_bytes(size, "big") + s.to_bytes(size, "big")  # JWS raw r||s

    return Signer(
        alg,
        kid,
        sign,
        {
            "kty": "EC",
            "kid": kid,
            "crv": crv,
            "x": b64(numbers.x.to_bytes(size, "big")),
            "y": b64(numbers.y.to_bytes(size, "big")),
        },
        b"",
    )


def _ed_signer(kid: str) -> Signer:
    key = ed25519.Ed25519PrivateKey.generate()
    raw = key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return Signer(
        "EdDSA", kid, key.sign, {"kty": "OKP", "kid": kid, "crv": "Ed25519", "x": b64(raw)}, b""
    )


@pytest.fixture(scope="module")
def signers() -> dict[str, Signer]:
    return {
        "RS256": _rsa_signer("rsa-1"),
        "RS384": _rsa_signer("rsa-384", "RS384"),
        "RS512": _rsa_signer("rsa-512", "RS512"),
        "PS256": _rsa_signer("pss-256", "PS256"),
        "PS384": _rsa_signer("pss-384", "PS384"),
        "ES256": _ec_signer("ec-1"),
        "ES384": _ec_signer("ec-384", "ES384"),
        "ES512": _ec_signer("ec-521", "ES512"),
        "EdDSA": _ed_signer("ed-1"),
    }


ALGS = ["RS256", "RS384", "RS512", "PS256", "PS384", "ES256", "ES384", "ES512", "EdDSA"]


@pytest.fixture(scope="module")
def keys(signers: dict[str, Signer]) -> JwkSet:
    return parse_jwks(json.dumps({"keys": [s.jwk for s in signers.values()]}))


def claims(**extra: object) -> dict[str, object]:
    base: dict[str, object] = {"iss": ISSUER, "sub": "alice", "aud": "api", "exp": NOW + 300}
    base.update(extra)
    return {k: v for k, v in base.items() if v is not None}


def mint(signer: Signer, payload: dict[str, object], **header: object) -> str:
    head: dict[str, object] = {"alg": signer.alg, "kid": signer.kid, "typ": "JWT"}
    head.update(header)
    signing_input = f"{b64json(head)}.{b64json(payload)}"
    return f"{signing_input}.{b64(signer.sign(signing_input.encode()))}"


def provider(**spec: object) -> config.JwtProvider:
    spec.setdefault("issuer", ISSUER)
    spec.setdefault("audiences", ["api"])
    spec.setdefault("clockSkew", 30)
    return config.JwtProvider.from_data(spec)


def verifier(keys: JwkSet, *providers: config.JwtProvider, **kw: Any) -> JwtVerifier:
    return JwtVerifier(
        providers or (provider(),), lambda iss: keys if iss == ISSUER else None, **kw
    )


@pytest.mark.parametrize("alg", ALGS)
def test_token_signed_by_a_provider_key_is_accepted_with_its_claims(
    signers: dict[str, Signer], keys: JwkSet, alg: str
) -> None:
    result = verifier(keys).verify(mint(signers[alg], claims()), NOW)
    assert result.ok, result.reason
    assert result.issuer == ISSUER
    assert result.claims["sub"] == "alice"
    assert result.provider is not None
    assert result.provider.issuer == ISSUER
    assert result.error == ""


def refused(result: JwtResult, reason: str) -> None:
    assert not result.ok
    assert result.reason == reason
    assert result.error == "invalid_token"
    assert result.description  # a safe text for WWW-Authenticate


@pytest.mark.parametrize(
    ("payload", "at", "reason"),
    [
        (claims(exp=NOW - 31), NOW, "expired"),  # beyond the 30 s skew
        (claims(nbf=NOW + 31), NOW, "not_yet_valid"),
        (claims(aud="other"), NOW, "wrong_audience"),
        (claims(aud=["other", "more"]), NOW, "wrong_audience"),
        (claims(aud=None), NOW, "wrong_audience"),
        (claims(exp=None), NOW, "missing_claim"),
        (claims(exp=True), NOW, "missing_claim"),
        (claims(exp="tomorrow"), NOW, "missing_claim"),
        (claims(iss="https://evil.example.test"), NOW, "wrong_issuer"),
        (claims(iss=None), NOW, "wrong_issuer"),
    ],
)
def test_stale_or_misdirected_claims_are_refused(
    signers: dict[str, Signer], keys: JwkSet, payload: dict[str, object], at: float, reason: str
) -> None:
    refused(verifier(keys).verify(mint(signers["ES256"], payload), at), reason)


def test_clock_skew_is_honoured_on_both_sides_and_bounded(
    signers: dict[str, Signer], keys: JwkSet
) -> None:
    check = verifier(keys)
    assert check.verify(mint(signers["EdDSA"], claims(exp=NOW - 29)), NOW).ok
    assert check.verify(mint(signers["EdDSA"], claims(nbf=NOW + 29)), NOW).ok
    # the token that was fine a moment ago expires for good once the skew is used up
    token = mint(signers["EdDSA"], claims(exp=NOW + 10))
    assert check.verify(token, NOW).ok
    refused(check.verify(token, NOW + 40), "expired")


def test_any_listed_audience_is_enough(signers: dict[str, Signer], keys: JwkSet) -> None:
    check = verifier(keys, provider(audiences=["web", "api"]))
    assert check.verify(mint(signers["RS256"], claims(aud=["x", "api"])), NOW).ok
    no_audiences = verifier(keys, provider(audiences=[]))
    assert no_audiences.verify(mint(signers["RS256"], claims(aud="anything")), NOW).ok


def test_alg_none_is_refused(signers: dict[str, Signer], keys: JwkSet) -> None:
    for alg in ("none", "None", "NONE"):
        token = f"{b64json({'alg': alg, 'kid': 'rsa-1'})}.{b64json(claims())}."
        result = verifier(keys).verify(token, NOW)
        refused(result, "alg_not_allowed")
        assert "unsigned" in result.description


def test_hs256_keyed_with_the_rsa_public_key_is_refused(
    signers: dict[str, Signer], keys: JwkSet
) -> None:
    rsa_signer = signers["RS256"]
    head = b64json({"alg": "HS256", "kid": rsa_signer.kid, "typ": "JWT"})
    signing_input = f"{head}.{b64json(claims())}"
    mac = hmac.new(rsa_signer.public_pem, signing_input.encode(), hashlib.sha256).digest()
    result = verifier(keys).verify(f"{signing_input}.{b64(mac)}", NOW)
    refused(result, "alg_not_allowed")
    assert "HMAC" in result.description


def test_algorithm_must_match_the_key_type(signers: dict[str, Signer], keys: JwkSet) -> None:
    # An EdDSA signature presented as ES256 under the EC key's kid, and vice versa.
    token = mint(signers["EdDSA"], claims(), alg="ES256", kid="ed-1")
    refused(verifier(keys).verify(token, NOW), "alg_not_allowed")
    token = mint(signers["ES256"], claims(), alg="RS256", kid="ec-1")
    refused(verifier(keys).verify(token, NOW), "alg_not_allowed")
    # each curve signs with its own hash: an ES384 token under the P-256 key is refused
    token = mint(signers["ES384"], claims(), kid="ec-1")
    refused(verifier(keys).verify(token, NOW), "alg_not_allowed")
    # an RSA key declared for PS256 verifies nothing else
    pinned = parse_jwks(json.dumps({"keys": [{**signers["RS256"].jwk, "alg": "PS256"}]}))
    token = mint(signers["RS256"], claims())
    refused(verifier(pinned).verify(token, NOW), "alg_not_allowed")


def test_unknown_kid_is_refused_and_reported_for_a_refetch(
    signers: dict[str, Signer], keys: JwkSet
) -> None:
    asked: list[str] = []
    check = verifier(keys, on_unknown_kid=asked.append)
    refused(check.verify(mint(signers["RS256"], claims(), kid="rotated"), NOW), "unknown_kid")
    assert asked == [ISSUER]
    # without a kid, a set of several keys names no key
    no_kid = mint(signers["RS256"], claims(), kid=None)
    refused(
        check.verify(no_kid.replace(no_kid.split(".")[0], b64json({"alg": "RS256"})), NOW),
        "unknown_kid",
    )


def test_a_key_from_another_signer_does_not_verify(
    signers: dict[str, Signer], keys: JwkSet
) -> None:
    impostor = _ed_signer("ed-1")  # same kid, different key
    refused(verifier(keys).verify(mint(impostor, claims()), NOW), "bad_signature")


@pytest.mark.parametrize("alg", ALGS)
def test_tampered_payload_or_signature_is_refused(
    signers: dict[str, Signer], keys: JwkSet, alg: str
) -> None:
    head, payload, sig = mint(signers[alg], claims()).split(".")
    admin = b64json(claims(sub="admin"))
    refused(verifier(keys).verify(f"{head}.{admin}.{sig}", NOW), "bad_signature")
    raw = bytearray(base64.urlsafe_b64decode(sig + "=" * (-len(sig) % 4)))
    raw[len(raw) // 2] ^= 0x01
    refused(verifier(keys).verify(f"{head}.{payload}.{b64(bytes(raw))}", NOW), "bad_signature")
    refused(verifier(keys).verify(f"{head}.{payload}.{b64(bytes(raw[:-1]))}", NOW), "bad_signature")


@pytest.mark.parametrize(
    "token",
    [
        "",
        "a.b",
        "a.b.c.d.e",  # JWE compact form
        ".e30.",
        "eyJhbGciOiJSUzI1NiJ9.e30.c2ln=",  # padding is not base64url
        "eyJhbGciOiJSUzI1NiJ9.e3*.c2ln",
        f"{b64(b'not json')}.{b64json({})}.c2ln",
        f"{b64json(['alg', 'RS256'])}.{b64json({})}.c2ln",
        f"{b64json({'alg': 'RS256'})}.{b64(b'[1]')}.c2ln",
        b64(b'{"alg":"RS256","alg":"none"}') + f".{b64json(claims())}.c2ln",
        f"{b64json({'alg': 7})}.{b64json(claims())}.c2ln",
        f"{b64json({'alg': 'RS256', 'kid': 3})}.{b64json(claims())}.c2ln",
        f"{b64json({'alg': 'RS256', 'crit': ['exp']})}.{b64json(claims())}.c2ln",
    ],
)
def test_malformed_tokens_are_refused(keys: JwkSet, token: str) -> None:
    refused(verifier(keys).verify(token, NOW), "malformed")


def test_oversized_token_is_refused_before_any_parsing(
    signers: dict[str, Signer], keys: JwkSet
) -> None:
    token = mint(signers["EdDSA"], claims(pad="x" * MAX_TOKEN_BYTES))
    refused(verifier(keys).verify(token, NOW), "too_large")


def test_embedded_keys_in_the_header_are_ignored(signers: dict[str, Signer], keys: JwkSet) -> None:
    attacker = _ed_signer("mine")
    token = mint(attacker, claims(), jwk=attacker.jwk, jku="https://evil.example.test/jwks")
    refused(verifier(keys).verify(token, NOW), "unknown_kid")


def test_no_keys_yet_is_refused_as_unavailable(signers: dict[str, Signer]) -> None:
    check = JwtVerifier([provider()], lambda iss: None)
    refused(check.verify(mint(signers["RS256"], claims()), NOW), "no_keys")


def test_tokens_are_matched_to_the_provider_reading_their_header(
    signers: dict[str, Signer], keys: JwkSet
) -> None:
    check = verifier(keys, provider(header="x-id-token"))
    token = mint(signers["RS256"], claims())
    assert check.headers == ("x-id-token",)
    assert check.verify(token, NOW, header="x-id-token").ok
    refused(check.verify(token, NOW, header="authorization"), "wrong_issuer")


def test_verified_tokens_are_cached_until_expiry_and_dropped_with_their_key(
    signers: dict[str, Signer], keys: JwkSet, monkeypatch: pytest.MonkeyPatch
) -> None:
    current: list[JwkSet | None] = [keys]
    calls: list[int] = []
    check = JwtVerifier([provider()], lambda iss: current[0], cache_size=4)
    original = JwtVerifier._decode  # count the expensive step: the signature check

    def counting(self: JwtVerifier, *args: Any) -> JwtResult | None:
        calls.append(1)
        return original(self, *args)

    monkeypatch.setattr(JwtVerifier, "_decode", counting)
    token = mint(signers["ES256"], claims(exp=NOW + 60))
    assert check.verify(token, NOW).ok
    assert check.verify(token, NOW + 1).ok
    assert len(calls) == 1
    refused(check.verify(token, NOW + 91), "expired")  # the cache never outlives exp + skew
    assert check.verify(token, NOW + 2).ok
    rotated = parse_jwks(json.dumps({"keys": [signers["RS256"].jwk]}))
    current[0] = rotated
    refused(check.verify(token, NOW + 3), "unknown_kid")


def test_cache_is_bounded(signers: dict[str, Signer], keys: JwkSet) -> None:
    check = verifier(keys, cache_size=3)
    for n in range(10):
        assert check.verify(mint(signers["EdDSA"], claims(jti=str(n))), NOW).ok
    assert len(check._cache) == 3


@pytest.mark.parametrize(
    ("value", "token"),
    [
        ("Bearer abc.def.ghi", "abc.def.ghi"),
        ("bearer   abc.def.ghi  ", "abc.def.ghi"),
        ("Basic dXNlcjpwYXNz", None),
        ("Bearer", None),
        ("Bearer abc def", None),
        ("Bearer abc\r\nx: y", None),
        ("", None),
        (None, None),
        ("Bearer " + "a" * (MAX_TOKEN_BYTES + 1), None),
    ],
)
def test_bearer_token_reads_only_the_bearer_scheme(value: str | None, token: str | None) -> None:
    assert bearer_token(value) == token


def test_www_authenticate_names_the_error_only_when_a_token_was_presented(
    signers: dict[str, Signer], keys: JwkSet
) -> None:
    assert www_authenticate(None) == "Bearer"
    assert www_authenticate(None, realm="api") == 'Bearer realm="api"'
    failure = verifier(keys).verify(mint(signers["RS256"], claims(exp=NOW - 100)), NOW)
    assert www_authenticate(failure) == (
        'Bearer error="invalid_token", error_description="token has expired"'
    )
