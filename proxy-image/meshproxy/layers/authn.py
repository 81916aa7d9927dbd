"""Authentication hook: the place where edge authentication (API keys, JWT) runs.

The verifiers themselves plug in through `AUTHENTICATORS` (policy name -> async check returning
an identity or None). Until a verifier is registered for a policy that config names, requests
it guards are refused with 401: an authn policy that is configured but not enforced would be a
silent hole, so this layer fails closed.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from meshproxy import config
from meshproxy.http.message import LocalReply, Request, Response
from meshproxy.layers import Handler

Authenticator = Callable[[Request], Awaitable[str | None]]
# Filled by the authentication module at import; keyed by what builds a checker from a policy.
AUTHENTICATORS: dict[str, Callable[[config.AuthnPolicy], Authenticator]] = {}


class AuthnLayer:
    __slots__ = ("_checks", "_next")

    def __init__(self, next_handler: Handler, policies: list[config.AuthnPolicy]) -> None:
        self._next = next_handler
        self._checks: list[Authenticator] = []
        for policy in policies:
            factory = AUTHENTICATORS.get("default")
            if factory is not None:
                self._checks.append(factory(policy))

    async def handle(self, request: Request) -> Response:
        for check in self._checks:
            if await check(request) is not None:
                return await self._next(request)
        raise LocalReply(401)
