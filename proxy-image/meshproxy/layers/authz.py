"""Authorization: enforce the listener's AuthorizationPolicies (ALLOW/DENY) on every request.

The policies are compiled once, at config load, into a `policy.authz.Authorizer` for this
node's labels (selectors that do not match are dropped there). The principal is the peer's
verified SPIFFE ID, or None for plaintext, and the namespace is read from it; paths are the
server's normalised path, so an encoded `..` cannot dodge a DENY. Inbound listeners authorize
the workload port the caller targets, others their own port.

A denial is 403 with the fixed body, counted in `meshproxy_authz_denied_total`, and marked on
the request so the access log line says `authz_denied` next to the peer identity. This layer
must never explain a denial to the client.
"""

from __future__ import annotations

from meshproxy import config
from meshproxy.http.message import Exchange, LocalReply, Response
from meshproxy.layers import Handler
from meshproxy.observability.metrics import Child
from meshproxy.policy.authz import Authorizer
from meshproxy.tls.identity import parse_spiffe_id

_MAX_CACHED = 1024  # distinct peer identities remembered with their namespace


class AuthzLayer:
    __slots__ = ("_authorizer", "_denied", "_namespaces", "_next")

    def __init__(
        self,
        next_handler: Handler,
        policies: list[config.AuthzPolicy],
        node: config.Node,
        denied: Child,
    ) -> None:
        self._next = next_handler
        self._authorizer = Authorizer.compile(policies, node.labels)
        self._denied = denied
        self._namespaces: dict[str, str | None] = {}

    async def handle(self, exchange: Exchange) -> Response:
        principal = exchange.identity
        request = exchange.request
        if not self._authorizer.allows(
            principal,
            self._namespace(principal) if principal is not None else None,
            request.method,
            request.path,
            exchange.target_port or exchange.listener_port,
            _hostname(request.host),
            request.headers_dict(),
        ):
            self._denied.inc()
            exchange.flags = "authz_denied"
            raise LocalReply(403)
        return await self._next(exchange)

    def _namespace(self, principal: str) -> str | None:
        found = self._namespaces.get(principal, "")
        if found != "":
            return found
        parsed = parse_spiffe_id(principal)
        namespace = parsed.namespace if parsed is not None else None
        if len(self._namespaces) >= _MAX_CACHED:
            self._namespaces.clear()
        self._namespaces[principal] = namespace
        return namespace


def _hostname(host: str) -> str:
    """Host without its port; `hosts` rules name hosts, `ports` rules name ports."""
    if ":" not in host or host.endswith("]"):
        return host
    return host.rsplit(":", 1)[0]
