"""The whole config of one proxy, and the rule that every name it uses is defined in it."""

from __future__ import annotations

from typing import Literal

import msgspec

from .base import Model
from .clusters import Cluster
from .listeners import Listener
from .node import Identity, Node
from .passthrough import Passthrough
from .policy import AuthnPolicy, AuthzPolicy, RateLimitPolicy
from .settings import Limits, Observability

SCHEMA: Literal["meshproxy/v1"] = "meshproxy/v1"


class ProxyConfig(Model, frozen=True):
    node: Node
    schema_: Literal["meshproxy/v1"] = msgspec.field(default=SCHEMA, name="schema")
    version: str = ""  # content hash the operator computed; shown in metrics and /config
    identity: Identity | None = None
    listeners: list[Listener] = msgspec.field(default_factory=list)
    clusters: list[Cluster] = msgspec.field(default_factory=list)
    authn: list[AuthnPolicy] = msgspec.field(default_factory=list)
    authz: list[AuthzPolicy] = msgspec.field(default_factory=list)
    rate_limits: list[RateLimitPolicy] = msgspec.field(default_factory=list)
    observability: Observability = msgspec.field(default_factory=Observability)
    limits: Limits = msgspec.field(default_factory=Limits)

    def __post_init__(self) -> None:
        problems = reference_problems(self)
        if problems:
            raise ValueError("; ".join(problems))


def reference_problems(cfg: ProxyConfig) -> list[str]:
    """Every name a route or listener uses must exist: a dangling one is a compile bug."""
    clusters = {c.name for c in cfg.clusters}
    authn = {a.name for a in cfg.authn}
    authz = {a.name for a in cfg.authz}
    limits = {r.name for r in cfg.rate_limits}
    problems: list[str] = []
    ports: set[tuple[str, int]] = set()
    for listener in cfg.listeners:
        if (listener.address, listener.port) in ports:
            problems.append(f"listener {listener.name!r}: port {listener.port} used twice")
        ports.add((listener.address, listener.port))
        problems += _missing(listener.name, "authn", listener.authn, authn)
        problems += _missing(listener.name, "authz", listener.authz, authz)
        problems += _missing(listener.name, "rateLimits", listener.rate_limits, limits)
        if isinstance(listener.passthrough, Passthrough):
            for stream in listener.passthrough.routes:
                used = [c.cluster for c in stream.clusters]
                problems += _missing(stream.name, "cluster", used, clusters)
        for vhost in listener.virtual_hosts:
            for route in vhost.routes:
                problems += _missing(route.name, "authn", route.authn, authn)
                problems += _missing(route.name, "rateLimits", route.rate_limits, limits)
                if route.forward:
                    used = [c.cluster for c in route.forward.clusters]
                    used += [m.cluster for m in route.forward.mirrors]
                    problems += _missing(route.name, "cluster", used, clusters)
    return problems


def _missing(owner: str, what: str, used: list[str], known: set[str]) -> list[str]:
    return [f"{owner!r}: {what} {name!r} is not defined" for name in used if name not in known]
