"""Edge authentication: accept a request whose API key or bearer token a listed policy accepts;
otherwise 401 with `WWW-Authenticate`.

Headers the proxy forwards on behalf of the principal (consumer, claims) are stripped from every
request first, whatever the outcome, so a client can never supply them. The accepted principal
goes on `exchange.principal` for the rate-limit layer. Refusals are counted in
`meshproxy_authn_failures_total{policy,reason}`; the answer itself says nothing beyond the
standard error code. The checks are compiled at config load (`meshproxy.edge.authenticator`).
"""

from __future__ import annotations

from meshproxy.edge.authenticator import Authenticator, Refusal
from meshproxy.http import canned
from meshproxy.http.message import Exchange, Response
from meshproxy.layers import Handler
from meshproxy.observability.metrics import Child, Counter


class AuthnLayer:
    __slots__ = ("_authenticator", "_failures", "_next", "_refused", "_strip")

    def __init__(
        self, next_handler: Handler, authenticator: Authenticator, failures: Counter
    ) -> None:
        self._next = next_handler
        self._authenticator = authenticator
        self._strip = authenticator.strip
        self._failures = failures
        self._refused: dict[tuple[str, str], Child] = {}  # bound once per (policy, reason)

    async def handle(self, exchange: Exchange) -> Response:
        request = exchange.request
        strip = self._strip
        if strip and any(name in strip for name, _ in request.headers):
            request.set_headers([(n, v) for n, v in request.headers if n not in strip])
        outcome = self._authenticator.authenticate(request)
        if isinstance(outcome, Refusal):
            return self._refuse(outcome)
        principal, forwarded = outcome
        exchange.principal = principal
        if forwarded:
            request.set_headers([*request.headers, *forwarded])
        return await self._next(exchange)

    def _refuse(self, refusal: Refusal) -> Response:
        key = (refusal.policy, refusal.reason)
        child = self._refused.get(key)
        if child is None:
            child = self._refused[key] = self._failures.child(
                policy=refusal.policy, reason=refusal.reason
            )
        child.inc()
        headers = [("content-type", "text/plain"), *refusal.challenges]
        return Response(401, headers, canned.body(401), local=True)
