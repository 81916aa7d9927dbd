"""What the catalog page shows, as plain frozen data (also what `catalog -o json` prints)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Endpoint:
    """One way in: methods and a path (`prefix`, `exact` or `regex`)."""

    methods: tuple[str, ...]
    path: str
    match: str
    rule: str


@dataclass(frozen=True)
class Auth:
    kind: str  # "API key" or "JWT"
    detail: str  # where the key goes, or the issuer and audiences


@dataclass(frozen=True)
class Limit:
    requests: int
    per: str  # "second", "minute", "hour" or "N seconds"
    key: str  # what is counted: "client IP", "API key consumer", "header x-tenant"
    burst: int | None


@dataclass(frozen=True)
class Operation:
    method: str
    path: str
    summary: str
    tag: str


@dataclass(frozen=True)
class OpenApi:
    title: str
    version: str
    description: str
    operations: tuple[Operation, ...]
    problem: str = ""  # set when the annotation could not be read; the page says why


@dataclass(frozen=True)
class Api:
    namespace: str
    name: str  # the Route
    description: str
    base_urls: tuple[str, ...]  # scheme://host[:port]
    versions: tuple[str, ...]  # v1, v2: from path segments that name a version
    endpoints: tuple[Endpoint, ...]
    auth: tuple[Auth, ...]
    limits: tuple[Limit, ...]
    openapi: OpenApi | None

    @property
    def anchor(self) -> str:
        return f"{self.namespace}-{self.name}"


@dataclass(frozen=True)
class Catalog:
    gateway_namespace: str
    gateway: str
    apis: tuple[Api, ...]
