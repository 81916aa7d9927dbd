"""Routes and the virtual hosts that hold them."""

from __future__ import annotations

from typing import Annotated

import msgspec

from .base import Model
from .filters import (
    Cache,
    Cors,
    DirectResponse,
    Fault,
    HeaderModifier,
    JsonProjection,
    Redirect,
)
from .forward import Forward
from .match import RouteMatch


class Route(Model, frozen=True):
    """One match and what to do with it. Exactly one of forward, redirect, direct_response."""

    name: str
    source: str = ""  # the resource it came from, `<namespace>/<name>`; a metrics label
    match: RouteMatch = msgspec.field(default_factory=RouteMatch)
    forward: Forward | None = None
    redirect: Redirect | None = None
    direct_response: DirectResponse | None = None
    request_headers: HeaderModifier | None = None
    response_headers: HeaderModifier | None = None
    fault: Fault | None = None
    cors: Cors | None = None
    cache: Cache | None = None
    json_projection: JsonProjection | None = None
    authn: list[str] = msgspec.field(default_factory=list)  # names in ProxyConfig.authn
    rate_limits: list[str] = msgspec.field(default_factory=list)  # names in ProxyConfig.rate_limits

    def __post_init__(self) -> None:
        actions = [a for a in (self.forward, self.redirect, self.direct_response) if a]
        if len(actions) != 1:
            raise ValueError(
                f"route {self.name!r}: set exactly one of forward, redirect, directResponse"
            )


class VirtualHost(Model, frozen=True):
    """Routes for a set of domains. `*` matches any host; `*.example.com` any subdomain."""

    name: str
    domains: Annotated[list[str], msgspec.Meta(min_length=1)]
    routes: list[Route] = msgspec.field(default_factory=list)
