"""Authorization hook: the place where AuthorizationPolicy (ALLOW/DENY rules) is enforced.

The rule engine plugs in through `AUTHORIZERS`; until one is registered, a listener that names
authz policies refuses every request with 403 (fail closed), since an unenforced DENY is worse
than an outage that says why.
"""

from __future__ import annotations

from collections.abc import Callable

from meshproxy import config
from meshproxy.http.message import LocalReply, Request, Response
from meshproxy.layers import Handler

Authorizer = Callable[[Request], bool]
AUTHORIZERS: dict[str, Callable[[list[config.AuthzPolicy], config.Node], Authorizer]] = {}


class AuthzLayer:
    __slots__ = ("_allow", "_next")

    def __init__(
        self, next_handler: Handler, policies: list[config.AuthzPolicy], node: config.Node
    ) -> None:
        self._next = next_handler
        factory = AUTHORIZERS.get("default")
        self._allow: Authorizer = factory(policies, node) if factory else _deny

    async def handle(self, request: Request) -> Response:
        if not self._allow(request):
            raise LocalReply(403)
        return await self._next(request)


def _deny(request: Request) -> bool:
    return False
