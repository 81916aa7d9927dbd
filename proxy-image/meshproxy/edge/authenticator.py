"""One listener's or route's authn policies compiled into a single check.

A request is accepted when any method of any listed policy accepts it, tried in config order.
Before anything is checked, every header that a method could set (consumer headers, claim
headers) is removed from the request, whatever the outcome: only the proxy speaks for the
principal. A refusal names the first policy and reason of a credential that was presented and
failed, or `missing` when none was, and carries one challenge per kind of method configured
(RFC 7235 allows several): `ApiKey realm="meshgate"` and `Bearer realm="meshgate"`, the latter
with `error="invalid_token"` when a bearer token was presented (RFC 6750 §3.1). Nothing in a
refusal says which check failed beyond that code.

When every listed policy is `optional` (EdgeAuthentication `mode: Optional`), a request that
presents no credential at all passes without a principal; one that presents a credential that
fails is refused exactly as under `Required`, so a bad key or token is never silently ignored.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from meshproxy import config
from meshproxy.edge.apikey_method import ApiKeyMethod
from meshproxy.edge.jwt_method import JwtMethod
from meshproxy.edge.principal import Principal
from meshproxy.edge.resources import EdgeResources
from meshproxy.http.message import Request

REALM = "meshgate"
APIKEY_CHALLENGE = f'ApiKey realm="{REALM}"'
BEARER_CHALLENGE = f'Bearer realm="{REALM}"'
BEARER_INVALID = f'Bearer realm="{REALM}", error="invalid_token"'


@dataclass(frozen=True, slots=True)
class Refusal:
    policy: str
    reason: str
    challenges: tuple[tuple[str, str], ...]  # WWW-Authenticate headers


# The outcome for a request without credentials under optional policies: no principal, no headers.
ANONYMOUS: tuple[None, list[tuple[str, str]]] = (None, [])


class Authenticator:
    __slots__ = ("_apikey_challenge", "_jwt_challenge", "_methods", "_optional", "_policy", "strip")

    def __init__(
        self,
        policies: list[config.AuthnPolicy],
        resources: EdgeResources,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._methods: list[ApiKeyMethod | JwtMethod] = []
        for policy in policies:
            if policy.api_key is None and policy.jwt is None:
                raise ValueError(f"authn {policy.name!r} configures neither apiKey nor jwt")
            if policy.api_key is not None:
                self._methods.append(ApiKeyMethod(policy.name, policy.api_key, resources))
            if policy.jwt is not None:
                self._methods.append(JwtMethod(policy.name, policy.jwt, resources, clock))
        self._policy = policies[0].name
        self._optional = all(policy.optional for policy in policies)
        self._apikey_challenge = any(isinstance(m, ApiKeyMethod) for m in self._methods)
        self._jwt_challenge = any(isinstance(m, JwtMethod) for m in self._methods)
        self.strip: frozenset[str] = frozenset().union(
            *(m.forwarded_headers for m in self._methods)
        )

    def authenticate(
        self, request: Request
    ) -> tuple[Principal | None, list[tuple[str, str]]] | Refusal:
        """The principal and the headers to forward for it (None and none for a request without
        credentials under optional policies), or why the request is refused. The caller has
        already stripped `strip` from the request."""
        failed: tuple[str, str] | None = None
        bearer_failed = False
        for method in self._methods:
            if isinstance(method, ApiKeyMethod):
                outcome = method.check(request)
                if isinstance(outcome, Principal):
                    assert outcome.consumer is not None
                    return outcome, [(method.consumer_header, outcome.consumer)]
            else:
                jwt_outcome = method.check(request)
                if isinstance(jwt_outcome, tuple):
                    return jwt_outcome
                outcome = jwt_outcome
                bearer_failed = bearer_failed or outcome is not None
            if outcome is not None and failed is None:
                failed = (method.policy, outcome)
        if failed is None and self._optional:
            return ANONYMOUS
        return self._refusal(failed, bearer_failed)

    def _refusal(self, failed: tuple[str, str] | None, bearer_failed: bool) -> Refusal:
        policy, reason = failed or (self._policy, "missing")
        challenges: list[tuple[str, str]] = []
        if self._apikey_challenge:
            challenges.append(("www-authenticate", APIKEY_CHALLENGE))
        if self._jwt_challenge:
            bearer = BEARER_INVALID if bearer_failed else BEARER_CHALLENGE
            challenges.append(("www-authenticate", bearer))
        return Refusal(policy, reason, tuple(challenges))
