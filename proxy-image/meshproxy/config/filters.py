"""What a route does to a request besides forwarding it: rewrites, local answers, faults,
CORS, caching and JSON projection."""

from __future__ import annotations

from typing import Literal

import msgspec

from .base import Model, Percent, Port, Positive, Seconds, Status


class HeaderModifier(Model, frozen=True):
    set: dict[str, str] = msgspec.field(default_factory=dict)
    add: dict[str, str] = msgspec.field(default_factory=dict)
    remove: list[str] = msgspec.field(default_factory=list)


class PathRewrite(Model, frozen=True):
    """`ReplaceFullPath` replaces the whole path; `ReplacePrefixMatch` the matched prefix."""

    type: Literal["ReplaceFullPath", "ReplacePrefixMatch"]
    value: str


class Rewrite(Model, frozen=True):
    hostname: str | None = None
    path: PathRewrite | None = None


class Redirect(Model, frozen=True):
    scheme: Literal["http", "https"] | None = None
    hostname: str | None = None
    port: Port | None = None
    path: PathRewrite | None = None
    status_code: Literal[301, 302, 303, 307, 308] = 302


class DirectResponse(Model, frozen=True):
    status: Status
    body: str = ""
    headers: dict[str, str] = msgspec.field(default_factory=dict)


class FaultDelay(Model, frozen=True):
    fixed_delay: Seconds
    percent: Percent = 100.0


class FaultAbort(Model, frozen=True):
    status: Status
    percent: Percent = 100.0


class Fault(Model, frozen=True):
    delay: FaultDelay | None = None
    abort: FaultAbort | None = None


class Cors(Model, frozen=True):
    # exact, a wildcard host (`https://*.example.com`), or "*"
    allow_origins: list[str] = msgspec.field(default_factory=list)
    allow_origin_regexes: list[str] = msgspec.field(default_factory=list)
    allow_methods: list[str] = msgspec.field(default_factory=list)
    allow_headers: list[str] = msgspec.field(default_factory=list)
    expose_headers: list[str] = msgspec.field(default_factory=list)
    max_age: Seconds | None = None
    allow_credentials: bool = False


class Cache(Model, frozen=True):
    """Caches GET responses that Cache-Control allows, in a bounded LRU."""

    max_entries: Positive = 1024
    max_body_bytes: Positive = 1 << 20
    default_ttl: Seconds = 0.0  # used only when the response says nothing; 0 = do not cache
    # Request headers (lower-case) keyed on besides method, host and path, as if every response
    # named them in `Vary`; the response's own `Vary` adds to them.
    vary: list[str] = msgspec.field(default_factory=list)


class JsonProjection(Model, frozen=True):
    """Keep only (`Include`) or drop (`Exclude`) these dotted fields of a JSON response body
    (e.g. `items.id`; `items[].id` reads the same)."""

    fields: list[str]
    max_body_bytes: Positive = 1 << 20
    mode: Literal["Include", "Exclude"] = "Include"
