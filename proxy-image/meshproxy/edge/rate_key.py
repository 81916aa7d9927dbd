"""Which bucket a request draws from, for each `RateLimitKey` type.

- `ClientIP`: the TCP peer address. Never `X-Forwarded-For`: without a configured number of
  trusted hops, that header is whatever the client wrote.
- `Header`: the named request header's value.
- `ApiKeyConsumer`: the consumer of the API key edge authentication accepted.
- `JwtClaim`: the named claim (exact name, then a dotted path into nested objects) of the token
  edge authentication verified; non-string values as compact JSON.

A missing or empty value maps to `ANONYMOUS`, one bucket shared by every request without one:
unauthenticated traffic is limited as a whole rather than not at all. The principal keys see
only what authentication at the same level or further out established; a header never stands
in for it.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any

from meshproxy import config
from meshproxy.http.message import Exchange

ANONYMOUS = ""  # no real key value is empty: empty values are treated as missing

KeyOf = Callable[[Exchange], str]

# Keys whose value only authentication can establish: their limits run after authn.
PRINCIPAL_KEYS = frozenset({"ApiKeyConsumer", "JwtClaim"})


def key_function(key: config.RateLimitKey) -> KeyOf:
    if key.type == "ClientIP":
        return _client_ip
    if key.type == "Header":
        if not key.name:
            raise ValueError("a Header rate-limit key needs the header's name")
        return _header(key.name.lower())
    if key.type == "ApiKeyConsumer":
        return _consumer
    if not key.name:
        raise ValueError("a JwtClaim rate-limit key needs the claim's name")
    return _claim(key.name)


def _client_ip(exchange: Exchange) -> str:
    return exchange.client_ip


def _header(name: str) -> KeyOf:
    def key(exchange: Exchange) -> str:
        return exchange.request.header(name) or ANONYMOUS

    return key


def _consumer(exchange: Exchange) -> str:
    principal = exchange.principal
    if principal is None or principal.consumer is None:
        return ANONYMOUS
    return principal.consumer


def _claim(name: str) -> KeyOf:
    def key(exchange: Exchange) -> str:
        principal = exchange.principal
        if principal is None:
            return ANONYMOUS
        value = claim_value(principal.claims, name)
        if value is None:
            return ANONYMOUS
        return value if isinstance(value, str) else json.dumps(value, separators=(",", ":"))

    return key


def claim_value(claims: Mapping[str, Any], name: str) -> Any:
    if name in claims:
        return claims[name]
    node: Any = claims
    for part in name.split("."):
        if not isinstance(node, Mapping) or part not in node:
            return None
        node = node[part]
    return node
