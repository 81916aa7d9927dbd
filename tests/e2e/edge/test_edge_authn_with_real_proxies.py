"""Edge authentication through a real meshproxy: API keys from a mounted-style keys file and
JWTs verified against a JWKS file, in front of a backend that echoes the headers it received."""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from edge_e2e import EchoBackend, Rs256Key, echoed, unsigned_token
from meshproxy_e2e import Client, Proxy, cluster, config, forward, free_port, wait_until

pytestmark = pytest.mark.e2e

ISSUER = "https://login.shop.test"
SIGNING = Rs256Key("2024-a")


def route(name: str, prefix: str, policy: str) -> dict[str, Any]:
    match = {"path": {"type": "PathPrefix", "value": prefix}}
    return forward(name, "echo", match=match, authn=[policy])


def claims(**extra: Any) -> dict[str, Any]:
    now = int(time.time())
    return {"iss": ISSUER, "sub": "user-42", "aud": "shop", "iat": now, "exp": now + 300,
            "tenant": "acme", **extra}  # fmt: skip


@pytest.fixture(scope="module")
def proxy(tmp_path_factory: pytest.TempPathFactory, echo: EchoBackend) -> Iterator[Proxy]:
    tmp = tmp_path_factory.mktemp("edge-authn")
    keys_file = tmp / "keys.json"
    keys_file.write_text(
        json.dumps([{"consumer": "mobile-app", "sha256": hashlib.sha256(b"k-123").hexdigest()}])
    )
    (tmp / "jwks.json").write_text(json.dumps({"keys": [SIGNING.jwk]}))
    cfg = config(
        free_port(),
        [route("keys", "/keys", "api-keys"), route("jwt", "/jwt", "tokens")],
        [cluster("echo", echo.port)],
        authn=[
            {"name": "api-keys", "apiKey": {"keysFile": str(keys_file)}},
            {"name": "tokens", "jwt": {"providers": [{
                "issuer": ISSUER, "audiences": ["shop"], "jwksFile": str(tmp / "jwks.json"),
                "claimToHeaders": [{"claim": "sub", "header": "x-user"},
                                   {"claim": "tenant", "header": "x-tenant"}],
            }]}},
        ],
    )  # fmt: skip
    running = Proxy(tmp, cfg)
    try:
        yield running
    finally:
        running.stop()


@pytest.fixture
def client(proxy: Proxy) -> Iterator[Client]:
    port = json.loads(proxy.config_path.read_text())["listeners"][0]["port"]
    c = Client(port)
    try:
        yield c
    finally:
        c.close()


def failures(proxy: Proxy, reason: str) -> float:
    return proxy.metric("meshproxy_authn_failures_total", reason=reason)


# --- API keys ----------------------------------------------------------------------------------


def test_api_key_reaches_the_backend_as_its_consumer(client: Client) -> None:
    status, _, body = client.request("GET", "/keys/orders", headers={"X-Api-Key": "k-123"})
    assert status == 200
    assert echoed(body, "x-meshgate-consumer") == ["mobile-app"]


def test_client_forged_consumer_header_is_replaced(client: Client) -> None:
    forged = {"X-Api-Key": "k-123", "X-Meshgate-Consumer": "admin"}
    status, _, body = client.request("GET", "/keys/orders", headers=forged)
    assert status == 200
    assert echoed(body, "x-meshgate-consumer") == ["mobile-app"]


@pytest.mark.parametrize(
    ("headers", "reason"),
    [
        ({}, "missing"),
        ({"X-Api-Key": "k-124"}, "invalid_key"),
        ({"X-Meshgate-Consumer": "mobile-app"}, "missing"),  # the forged header alone is nothing
    ],
    ids=["missing", "wrong", "forged-consumer-only"],
)
def test_request_without_a_valid_key_gets_401_with_an_apikey_challenge(
    proxy: Proxy, client: Client, headers: dict[str, str], reason: str
) -> None:
    before = failures(proxy, reason)
    status, response_headers, body = client.request("GET", "/keys/orders", headers=headers)
    assert status == 401
    assert response_headers["www-authenticate"] == 'ApiKey realm="meshgate"'
    assert body == b"unauthorized\n"
    wait_until(lambda: failures(proxy, reason) == before + 1, 5, "the failure to be counted")


# --- JWT ---------------------------------------------------------------------------------------


def test_valid_token_reaches_the_backend_with_claims_as_headers(client: Client) -> None:
    forged = {"Authorization": f"Bearer {SIGNING.token(claims())}", "X-User": "root"}
    status, _, body = client.request("GET", "/jwt/cart", headers=forged)
    assert status == 200
    assert echoed(body, "x-user") == ["user-42"]
    assert echoed(body, "x-tenant") == ["acme"]


BAD_TOKENS = {
    "expired": lambda: SIGNING.token(claims(exp=int(time.time()) - 3600)),
    "wrong_audience": lambda: SIGNING.token(claims(aud="billing")),
    "alg_not_allowed": lambda: unsigned_token(claims()),
    "unknown_kid": lambda: Rs256Key("rotated-away").token(claims()),
    "bad_signature": lambda: (
        SIGNING.token(claims()).rsplit(".", 1)[0]
        + "."
        + SIGNING.token(claims(sub="admin")).rsplit(".", 1)[1]
    ),
}


@pytest.mark.parametrize("reason", list(BAD_TOKENS))
def test_bad_token_gets_401_with_invalid_token(proxy: Proxy, client: Client, reason: str) -> None:
    before = failures(proxy, reason)
    token = BAD_TOKENS[reason]()
    status, headers, body = client.request(
        "GET", "/jwt/cart", headers={"Authorization": f"Bearer {token}", "X-User": "user-42"}
    )
    assert status == 401
    assert headers["www-authenticate"] == 'Bearer realm="meshgate", error="invalid_token"'
    assert body == b"unauthorized\n"
    wait_until(lambda: failures(proxy, reason) == before + 1, 5, "the failure to be counted")


def test_request_without_a_token_gets_the_bare_bearer_challenge(client: Client) -> None:
    status, headers, _ = client.request("GET", "/jwt/cart")
    assert status == 401
    assert headers["www-authenticate"] == 'Bearer realm="meshgate"'


# Last in this module on purpose: it retires the key the tests above use.
def test_rotated_keys_file_is_picked_up_without_a_reload(proxy: Proxy, client: Client) -> None:
    keys_file = Path(proxy.tmp / "keys.json")
    new = [{"consumer": "partner", "sha256": hashlib.sha256(b"k-456").hexdigest()}]
    staged = keys_file.with_suffix(".new")
    staged.write_text(json.dumps(new))
    staged.replace(keys_file)  # a Secret update: a new inode under the same name

    def partner_accepted() -> bool:
        return client.request("GET", "/keys/x", headers={"X-Api-Key": "k-456"})[0] == 200

    wait_until(partner_accepted, 10, "the rotated key to be accepted")
    assert client.request("GET", "/keys/x", headers={"X-Api-Key": "k-123"})[0] == 401
