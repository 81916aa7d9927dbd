"""JWT through the running operator: an EdgeAuthentication on a Gateway with two issuers, one
whose JWKS is in a Secret and one whose JWKS a real HTTPS server serves by URI and rotates.

The gateway accepts a valid token of either issuer (the backend sees the `sub` claim as `x-user`
and never a forged copy of it) and refuses (401, nothing forwarded) a missing, expired, wrongly
addressed or wrongly signed token. Then the provider rotates: it publishes a second key beside
the first, then drops the first. The gateway fetches the URI again on its own: the new key's
tokens pass, and once the old key is gone its tokens fail, with no change to any resource.

Manifests: `jwt/` (Gateway, backend, Route) and `jwt/authentication.yaml.template` (the Secret
and the EdgeAuthentication, filled with this run's keys and the server's URI).
"""

from __future__ import annotations

import json
from string import Template

from harness.session import NodeAgent
from identity_provider import SigningKey, jwks, serving_jwks
from scenario_kit import HERE, Answer, User, request

from meshgate.localcluster.waiting import wait_for

PORT = 8080
CONVERGE_SECONDS = 30.0
# refreshInterval is 2s: a rotation reaches the gateway within a few intervals.
ROTATION_SECONDS = 20.0
STATIC, ROTATING = "https://static.example/", "https://rotating.example/"


def _call(address: str, token: str | None, headers: dict[str, str] | None = None) -> Answer:
    sent = dict(headers or {})
    if token is not None:
        sent["authorization"] = f"Bearer {token}"
    return request(address, PORT, "/api/orders", sent)


def test_tokens_are_checked_against_secret_and_uri_keys_and_the_uri_rotation_is_followed(
    user: User, node_agent: NodeAgent
) -> None:
    static_key = SigningKey.ec("static-1")
    old_key, new_key = SigningKey.rsa("2026-a"), SigningKey.rsa("2026-b")
    stranger = SigningKey.rsa("2026-a")  # same kid as the old key, another key pair

    with serving_jwks() as provider:
        node_agent.trust(provider.ca_pem)
        provider.publish(old_key)
        user.apply("jwt")
        template = Template((HERE / "jwt" / "authentication.yaml.template").read_text())
        user.apply_text(
            template.substitute(STATIC_JWKS=jwks(static_key), JWKS_URI=provider.jwks_uri)
        )
        user.ready_pods("app=api", 1)
        user.condition("edgeauthentications", "tokens", "Accepted")
        user.condition("edgeauthentications", "tokens", "ResolvedRefs")
        address = user.gateway_pods("edge")[0]["status"]["podIP"]

        # Both issuers' tokens pass once the gateway has its config and the URI's keys.
        static_token = static_key.token(STATIC, "alice", audience="shop")
        user.answer_within(lambda: _call(address, static_token), 200, CONVERGE_SECONDS, "static")
        old_token = old_key.token(ROTATING, "bob")
        passed = user.answer_within(
            lambda: _call(address, old_token), 200, CONVERGE_SECONDS, "the URI's key"
        )
        assert provider.fetches >= 1
        assert passed.json()["headers"]["x-user"] == "bob"
        forged = _call(address, static_token, {"x-user": "mallory"}).json()["headers"]
        assert forged["x-user"] == "alice"
        # The configuration carries the URI, never keys fetched from it.
        config = json.loads(_gateway_config(user))
        assert provider.jwks_uri in json.dumps(config)

        refused = {
            "no token": _call(address, None),
            "expired": _call(address, static_key.token(STATIC, "alice", audience="shop", ttl=-600)),
            "wrong audience": _call(address, static_key.token(STATIC, "alice", audience="other")),
            "unknown issuer": _call(address, static_key.token("https://evil.example/", "alice")),
            "issuer's name, stranger's key": _call(address, stranger.token(ROTATING, "bob")),
            "not yet published": _call(address, new_key.token(ROTATING, "carol")),
        }
        assert {why: a.status for why, a in refused.items()} == dict.fromkeys(refused, 401)

        # Rotation, step 1: both keys published; the new key's tokens start to pass.
        provider.publish(old_key, new_key)
        new_token = new_key.token(ROTATING, "carol")
        user.answer_within(lambda: _call(address, new_token), 200, ROTATION_SECONDS, "new key")
        assert _call(address, old_token).status == 200
        # Step 2: the old key is withdrawn; its tokens stop passing, the new key's keep passing.
        fetched = provider.fetches
        provider.publish(new_key)
        user.answer_within(lambda: _call(address, old_token), 401, ROTATION_SECONDS, "old key")
        assert provider.fetches > fetched
        wait_for(
            lambda: all(_call(address, new_token).status == 200 for _ in range(5)),
            timeout=5,
            what="the new key's tokens to keep passing",
        )
        assert _call(address, static_token).status == 200


def _gateway_config(user: User) -> str:
    data = user.get("configmaps", "meshgate-gw-edge")["data"]
    return str(data.get("config.json", ""))
