"""JWT keys from a jwksUri: requests never wait for a fetch (401 until keys arrive), and a token
signed by a key the cached set lacks triggers a refetch -- but not faster than the schedule
allows, so random kids cannot drive fetches."""

from __future__ import annotations

import asyncio
import json

from edge_fakes import ISSUER, NOW, Es256Key, Recorder, claims, jwks, request

from meshproxy import config
from meshproxy.authn.jwks_fetch import JwksRefresher
from meshproxy.edge.authenticator import Authenticator
from meshproxy.edge.resources import EdgeResources
from meshproxy.layers.authn import AuthnLayer
from meshproxy.observability.metrics import Registry
from meshproxy.policy.jwks import JwkSet, parse_jwks

OLD, NEW = Es256Key("old"), Es256Key("new")


class FakeIdp:
    def __init__(self) -> None:
        self.document = jwks(OLD)
        self.fetches = 0
        self.now = NOW

    async def fetch(self, uri: str) -> JwkSet:
        self.fetches += 1
        return parse_jwks(self.document)


class IdpResources(EdgeResources):
    """Refreshers fetch from the fake provider on the fake clock; everything else is real."""

    def __init__(self, idp: FakeIdp) -> None:
        super().__init__()
        self.idp = idp

    def _refresher(self, uri: str, cache_seconds: float) -> JwksRefresher:
        refresher = JwksRefresher(
            uri, cache_seconds, min_refetch_seconds=30, fetch=self.idp.fetch, clock=self.clock
        )
        refresher.start()
        return refresher

    def clock(self) -> float:
        return self.idp.now


def policy() -> config.AuthnPolicy:
    provider = {"issuer": ISSUER, "jwksUri": "https://idp.test/jwks", "jwksCacheSeconds": 600}
    return config.AuthnPolicy.from_data({"name": "t", "jwt": {"providers": [provider]}})


async def settle() -> None:
    for _ in range(5):
        await asyncio.sleep(0)


async def test_unknown_kid_refetches_at_most_once_per_interval() -> None:
    idp = FakeIdp()
    resources = IdpResources(idp)
    authn = AuthnLayer(
        Recorder(),
        Authenticator([policy()], resources, clock=lambda: idp.now),
        Registry().counter("meshproxy_authn_failures_total", "test"),
    )

    async def status(key: Es256Key) -> int:
        token = key.token(claims(exp=idp.now + 300))
        return (await authn.handle(request([("authorization", f"Bearer {token}")]))).status

    try:
        await settle()
        assert idp.fetches == 1
        assert await status(OLD) == 200
        idp.document = json.dumps({"keys": [OLD.jwk, NEW.jwk]})  # the provider rotates
        assert await status(NEW) == 401  # too soon after the first fetch: no refetch yet
        await settle()
        assert idp.fetches == 1
        idp.now += 31
        assert await status(NEW) == 401  # this one asks for the refetch ...
        await settle()
        assert idp.fetches == 2
        assert await status(NEW) == 200  # ... which brings the new key
        stranger = Es256Key("random")
        for _ in range(10):
            assert await status(stranger) == 401
        await settle()
        assert idp.fetches == 2  # random kids right after a fetch cost nothing
    finally:
        resources.close_unused(None)
        await settle()
