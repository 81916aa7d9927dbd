"""JWT bearer authentication for one policy: key sets from config, a watched file, or a URL.

Each provider's keys come from exactly one source, chosen in this order: inline `jwks` (parsed
at config load, so a bad one refuses the config), `jwksFile` (re-read on change), `jwksUri`
(fetched in the background; a token naming an unknown kid may trigger a refetch, at most as
often as `JwksCache` allows). No request ever waits for a key set: before one is available,
tokens fail with `no_keys`.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from meshproxy import config
from meshproxy.edge.principal import Principal
from meshproxy.edge.resources import EdgeResources
from meshproxy.http.message import Request
from meshproxy.policy.jwks import JwksError, JwkSet, parse_jwks
from meshproxy.policy.jwt import (
    JwtVerifier,
    bearer_token,
    claim_headers,
    forwarded_header_names,
)

KeySource = Callable[[], JwkSet | None]


class JwtMethod:
    __slots__ = ("_clock", "_refetch", "_sources", "_verifier", "forwarded_headers", "policy")

    def __init__(
        self,
        policy: str,
        cfg: config.JwtAuthn,
        resources: EdgeResources,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.policy = policy
        self._clock = clock
        self._sources: dict[str, KeySource] = {}
        self._refetch: dict[str, Callable[[], None]] = {}
        for provider in cfg.providers:
            # Providers sharing an issuer share the first one's key set (the verifier asks by
            # issuer); the config should not give one issuer two sets.
            if provider.issuer not in self._sources:
                self._add_source(policy, provider, resources)
        self._verifier = JwtVerifier(cfg.providers, self._keys, self._unknown_kid)
        self.forwarded_headers = forwarded_header_names(cfg.providers)

    def _add_source(
        self, policy: str, provider: config.JwtProvider, resources: EdgeResources
    ) -> None:
        issuer = provider.issuer
        if provider.jwks is not None:
            try:
                inline = parse_jwks(provider.jwks)
            except JwksError as exc:
                raise ValueError(f"authn {policy!r}: issuer {issuer!r}: {exc}") from None
            self._sources[issuer] = lambda: inline
        elif provider.jwks_file is not None:
            watched = resources.watched_file(provider.jwks_file, parse_jwks, "JWKS file")
            self._sources[issuer] = lambda: watched.value
        elif provider.jwks_uri is not None:
            refresher = resources.jwks_refresher(provider.jwks_uri, provider.jwks_cache_seconds)
            self._sources[issuer] = refresher.keys
            self._refetch[issuer] = refresher.unknown_kid
        else:
            raise ValueError(
                f"authn {policy!r}: issuer {issuer!r} has no jwks, jwksFile or jwksUri"
            )

    def _keys(self, issuer: str) -> JwkSet | None:
        source = self._sources.get(issuer)
        return source() if source is not None else None

    def _unknown_kid(self, issuer: str) -> None:
        refetch = self._refetch.get(issuer)
        if refetch is not None:
            refetch()

    def check(self, request: Request) -> tuple[Principal, list[tuple[str, str]]] | str | None:
        """The principal and the claim headers to forward; a failure reason when a bearer token
        was presented and is not valid; None when the request carries no bearer token."""
        failure: str | None = None
        for header in self._verifier.headers:
            value = request.header(header)
            if not value:
                continue
            token = bearer_token(value)
            if token is None:
                # `Bearer` with a token that is not token68 is a bad token, not a missing one.
                if value.lstrip()[:7].lower() == "bearer ":
                    failure = failure or "malformed"
                continue
            result = self._verifier.verify(token, self._clock(), header)
            if result.ok and result.provider is not None:
                principal = Principal("jwt", self.policy, claims=result.claims)
                return principal, claim_headers(result, result.provider)
            failure = failure or result.reason
        return failure
