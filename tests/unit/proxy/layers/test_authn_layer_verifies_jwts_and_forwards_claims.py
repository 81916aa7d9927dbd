"""AuthnLayer with JWT: a valid token passes and its chosen claims become headers (client copies
stripped); expired, misdirected, unsigned, unknown-kid and tampered tokens get 401 with
`Bearer ... error="invalid_token"`; no token gets the bare challenge; either method of a policy
with both is enough; a rotated JWKS file takes effect without a config reload."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import pytest
from edge_fakes import ISSUER, NOW, Es256Key, Recorder, claims, jwks, request, unsigned

from meshproxy import config
from meshproxy.edge.authenticator import Authenticator
from meshproxy.edge.resources import EdgeResources
from meshproxy.layers.authn import AuthnLayer
from meshproxy.observability.metrics import Registry
from meshproxy.policy.jwks import parse_jwks

KEY = Es256Key("k1")
BEARER_INVALID = ("www-authenticate", 'Bearer realm="meshgate", error="invalid_token"')


def provider(**extra: Any) -> dict[str, Any]:
    return {
        "issuer": ISSUER,
        "audiences": ["shop"],
        "claimToHeaders": [
            {"claim": "sub", "header": "x-user"},
            {"claim": "org.tier", "header": "x-tier"},
        ],
        **extra,
    }


def policy(**extra: Any) -> config.AuthnPolicy:
    body: dict[str, Any] = {"name": "tokens", **extra}
    body.setdefault("jwt", {"providers": [provider(jwks=jwks(KEY))]})
    return config.AuthnPolicy.from_data(body)


def layer(
    policies: list[config.AuthnPolicy], resources: EdgeResources | None = None
) -> tuple[AuthnLayer, Recorder, Registry]:
    registry = Registry()
    recorder = Recorder()
    authn = Authenticator(policies, resources or EdgeResources(), clock=lambda: NOW)
    failures = registry.counter("meshproxy_authn_failures_total", "test")
    return AuthnLayer(recorder, authn, failures), recorder, registry


def bearer(token: str) -> list[tuple[str, str]]:
    return [("authorization", f"Bearer {token}")]


def reasons(registry: Registry) -> dict[str, float]:
    counter = registry.counters["meshproxy_authn_failures_total"]
    return {dict(k)["reason"]: c.value for k, c in counter.children.items()}


async def test_valid_token_passes_with_claims_as_headers_and_forged_copies_removed() -> None:
    authn, recorder, _ = layer([policy()])
    token = KEY.token(claims(org={"tier": "gold"}))
    req = request([*bearer(token), ("x-user", "admin"), ("x-tier", "platinum")])
    response = await authn.handle(req)
    assert response.status == 200
    seen = recorder.seen[0].request.headers
    assert [v for n, v in seen if n == "x-user"] == ["user-1"]
    assert [v for n, v in seen if n == "x-tier"] == ["gold"]
    assert req.principal is not None
    assert req.principal.subject == "user-1"


async def test_forged_claim_header_is_stripped_even_when_the_claim_is_absent() -> None:
    authn, recorder, _ = layer([policy()])
    await authn.handle(request([*bearer(KEY.token(claims())), ("x-tier", "platinum")]))
    assert all(n != "x-tier" for n, _ in recorder.seen[0].request.headers)


BAD_TOKENS = {
    "expired": KEY.token(claims(exp=NOW - 3600)),
    "wrong_audience": KEY.token(claims(aud="billing")),
    "alg_not_allowed": unsigned(claims()),
    "unknown_kid": Es256Key("k2").token(claims()),
    "bad_signature": KEY.token(claims())[:-6] + "AAAAAA",
    "wrong_issuer": KEY.token(claims(iss="https://evil.test")),
}


@pytest.mark.parametrize("reason", sorted(BAD_TOKENS))
async def test_bad_token_is_refused_with_invalid_token_and_counted(reason: str) -> None:
    authn, recorder, registry = layer([policy()])
    response = await authn.handle(request(bearer(BAD_TOKENS[reason])))
    assert response.status == 401
    assert not recorder.seen
    assert BEARER_INVALID in response.headers
    assert b"signature" not in response.body
    assert b"expired" not in response.body
    assert reasons(registry) == {reason: 1}


async def test_tampered_payload_with_the_original_signature_is_refused() -> None:
    authn, _, registry = layer([policy()])
    head, _, signature = KEY.token(claims()).split(".")
    forged = KEY.token(claims(sub="admin")).split(".")[1]
    response = await authn.handle(request(bearer(f"{head}.{forged}.{signature}")))
    assert response.status == 401
    assert reasons(registry) == {"bad_signature": 1}


async def test_no_token_gets_the_bare_bearer_challenge() -> None:
    authn, _, registry = layer([policy()])
    response = await authn.handle(request([("authorization", "Basic dXNlcjpwYXNz")]))
    assert response.status == 401
    assert ("www-authenticate", 'Bearer realm="meshgate"') in response.headers
    assert reasons(registry) == {"missing": 1}


async def test_either_method_of_a_policy_with_keys_and_tokens_is_enough() -> None:
    both = policy(
        apiKey={"keys": [{"consumer": "ci", "sha256": hashlib.sha256(b"ci-key").hexdigest()}]}
    )
    authn, recorder, _ = layer([both])
    assert (await authn.handle(request([("x-api-key", "ci-key")]))).status == 200
    assert (await authn.handle(request(bearer(KEY.token(claims()))))).status == 200
    refused = await authn.handle(request())
    assert refused.status == 401
    challenges = [v for n, v in refused.headers if n == "www-authenticate"]
    assert challenges == ['ApiKey realm="meshgate"', 'Bearer realm="meshgate"']
    assert len(recorder.seen) == 2


async def test_a_failed_token_is_reported_even_when_a_key_method_comes_first() -> None:
    both = policy(apiKey={"keys": []})
    authn, _, registry = layer([both])
    response = await authn.handle(request(bearer(BAD_TOKENS["expired"])))
    assert BEARER_INVALID in response.headers
    assert reasons(registry) == {"expired": 1}


async def test_jwks_file_rotation_takes_effect_without_a_config_reload(tmp_path: Path) -> None:
    new_key = Es256Key("k2")
    jwks_file = tmp_path / "jwks.json"
    jwks_file.write_text(jwks(KEY))
    resources = EdgeResources()
    cfg = policy(jwt={"providers": [provider(jwksFile=str(jwks_file))]})
    authn, _, _ = layer([cfg], resources)
    try:
        assert (await authn.handle(request(bearer(new_key.token(claims()))))).status == 401
        jwks_file.write_text(jwks(KEY, new_key))
        resources.watched_file(str(jwks_file), parse_jwks, "JWKS file").load()
        assert (await authn.handle(request(bearer(new_key.token(claims()))))).status == 200
    finally:
        resources.close_unused(None)


def test_an_inline_jwks_that_does_not_parse_refuses_the_config() -> None:
    bad = json.dumps({"keys": [{"kty": "oct", "k": "c2VjcmV0"}]})
    with pytest.raises(ValueError, match="symmetric"):
        Authenticator([policy(jwt={"providers": [provider(jwks=bad)]})], EdgeResources())


def test_a_provider_without_any_key_source_refuses_the_config() -> None:
    with pytest.raises(ValueError, match="no jwks"):
        Authenticator([policy(jwt={"providers": [provider()]})], EdgeResources())
