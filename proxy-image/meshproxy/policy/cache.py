"""A shared HTTP response cache (RFC 9111), bounded by entries and stored body bytes.

What is stored: responses to GET (a HEAD is answered from the GET entry, without its body) with a
status RFC 9110 §15.1 lets a cache reuse (200 203 204 300 301 308 404 405 410 414 501; 206 is
left out, ranges are not assembled here), no `Set-Cookie`, no `Vary: *`, and a body that fits.
Response `Cache-Control` decides: `no-store`, `private` and `no-cache` (which demands a
revalidation this cache does not make) refuse; freshness is `s-maxage`, else `max-age`, else
`Expires` - `Date`, else the configured `default_ttl` (0: not stored). A request carrying
`Authorization` is served from, and stored into, the cache only when the response said `public`,
`s-maxage` or `must-revalidate` (RFC 9111 §3.5). Request `Cache-Control` is honoured too:
`no-store` and `no-cache` (or `Pragma: no-cache`) bypass the cache, `max-age=N` refuses older
entries. `Vary` makes the values of the named request headers part of the key, and so does the
configured `vary` list (Route `cache.vary`), as if every response named those headers too.

`max_body_bytes` is the budget of all stored bodies together (a single body must fit it); the
least recently used entries go first when either bound is passed. Stored headers leave out
hop-by-hop fields and `Age`; the runtime adds `Age: {entry.age(now)}` when it serves an entry.

This module must never read the clock or do I/O: `now` is passed in. Header mappings are keyed by
lower-case names.
"""

from __future__ import annotations

import math
from collections import OrderedDict
from collections.abc import Callable, Mapping
from datetime import datetime

from meshproxy import config

__all__ = ["CachedResponse", "ResponseCache"]

_CACHEABLE_STATUS = frozenset({200, 203, 204, 300, 301, 308, 404, 405, 410, 414, 501})
_NOT_STORED_HEADERS = frozenset(
    {
        "age",
        "connection",
        "keep-alive",
        "proxy-authenticate",
        "proxy-authorization",
        "proxy-connection",
        "te",
        "trailer",
        "transfer-encoding",
        "upgrade",
    }
)
_Primary = tuple[str, str, str]  # host, path, query
_Key = tuple[_Primary, tuple[str | None, ...]]  # plus the values of the Vary headers


class CachedResponse:
    __slots__ = ("_initial_age", "_stored_at", "body", "freshness", "headers", "shared", "status")

    def __init__(
        self,
        status: int,
        headers: list[tuple[str, str]],
        body: bytes,
        stored_at: float,
        initial_age: float,
        freshness: float,
        shared: bool,
    ) -> None:
        self.status = status
        self.headers = headers
        self.body = body
        self.freshness = freshness
        self.shared = shared  # may be served to a request that carries Authorization
        self._stored_at = stored_at
        self._initial_age = initial_age

    def age(self, now: float) -> int:
        """Whole seconds since the origin made this response (RFC 9111 §4.2.3, simplified)."""
        return int(self._initial_age + max(0.0, now - self._stored_at))

    def _age_exact(self, now: float) -> float:
        return self._initial_age + max(0.0, now - self._stored_at)


class ResponseCache:
    __slots__ = (
        "_bytes",
        "_config_vary",
        "_default_ttl",
        "_entries",
        "_max_bytes",
        "_max_entries",
        "_parse_date",
        "_vary",
    )

    def __init__(self, cfg: config.Cache) -> None:
        self._max_entries = cfg.max_entries
        self._max_bytes = cfg.max_body_bytes
        self._default_ttl = cfg.default_ttl
        self._config_vary = frozenset(name.lower() for name in cfg.vary)
        self._entries: OrderedDict[_Key, CachedResponse] = OrderedDict()
        # primary key -> [vary header names, how many entries use them]
        self._vary: dict[_Primary, tuple[tuple[str, ...], int]] = {}
        self._bytes = 0
        self._parse_date = _date_parser()

    def lookup(
        self,
        method: str,
        host: str,
        path: str,
        query: str,
        request_headers: Mapping[str, str],
        now: float,
    ) -> CachedResponse | None:
        """A fresh stored response for this request, or None."""
        if method != "GET" and method != "HEAD":
            return None
        primary = (host, path, query)
        vary = self._vary.get(primary)
        if vary is None:
            return None
        request_cc = _directives(request_headers.get("cache-control"))
        if (
            "no-store" in request_cc
            or "no-cache" in request_cc
            or _pragma_no_cache(request_headers, request_cc)
        ):
            return None
        key = (primary, tuple(request_headers.get(name) for name in vary[0]))
        entry = self._entries.get(key)
        if entry is None:
            return None
        age = entry._age_exact(now)
        if age >= entry.freshness:
            self._drop(key)
            return None
        max_age = _seconds(request_cc.get("max-age"))
        if max_age is not None and age > max_age:
            return None
        if "authorization" in request_headers and not entry.shared:
            return None
        self._entries.move_to_end(key)
        return entry

    def store(
        self,
        method: str,
        host: str,
        path: str,
        query: str,
        request_headers: Mapping[str, str],
        status: int,
        response_headers: list[tuple[str, str]],
        body: bytes,
        now: float,
    ) -> bool:
        """Keep this response if HTTP caching rules allow it; True when it was stored."""
        if method != "GET" or status not in _CACHEABLE_STATUS or len(body) > self._max_bytes:
            return False
        request_cc = _directives(request_headers.get("cache-control"))
        if "no-store" in request_cc:
            return False
        fields: dict[str, str] = {}
        for name, value in response_headers:
            lower = name.lower()
            if lower == "set-cookie":
                return False
            fields[lower] = f"{fields[lower]}, {value}" if lower in fields else value
        cc = _directives(fields.get("cache-control"))
        if "no-store" in cc or "private" in cc or "no-cache" in cc:
            return False
        shared = "public" in cc or "s-maxage" in cc or "must-revalidate" in cc
        if "authorization" in request_headers and not shared:
            return False
        named = {v.strip().lower() for v in fields.get("vary", "").split(",") if v.strip()}
        vary = tuple(sorted(named | self._config_vary))
        if "*" in vary:
            return False
        freshness = self._freshness(cc, fields)
        initial_age = float(_seconds(fields.get("age")) or 0)
        if freshness <= initial_age:
            return False

        primary = (host, path, query)
        old = self._vary.get(primary)
        if old is not None and old[0] != vary:
            # The origin changed what it varies on: the old variants are no longer reachable.
            for key in [k for k in self._entries if k[0] == primary]:
                self._drop(key)
        key = (primary, tuple(request_headers.get(name) for name in vary))
        if key in self._entries:
            self._drop(key)
        kept = [(n, v) for n, v in response_headers if n.lower() not in _NOT_STORED_HEADERS]
        self._entries[key] = CachedResponse(status, kept, body, now, initial_age, freshness, shared)
        count = self._vary[primary][1] if primary in self._vary else 0
        self._vary[primary] = (vary, count + 1)
        self._bytes += len(body)
        while len(self._entries) > self._max_entries or self._bytes > self._max_bytes:
            self._drop(next(iter(self._entries)))
        return True

    def __len__(self) -> int:
        return len(self._entries)

    @property
    def body_bytes(self) -> int:
        return self._bytes

    def _freshness(self, cc: Mapping[str, str], fields: Mapping[str, str]) -> float:
        for directive in ("s-maxage", "max-age"):
            if directive in cc:
                return float(_seconds(cc[directive]) or 0)
        expires = fields.get("expires")
        if expires is not None:
            expires_at = _http_date(expires, self._parse_date)
            if expires_at is None:
                return 0.0  # an invalid Expires means already expired (RFC 9111 §5.3)
            date = _http_date(fields["date"], self._parse_date) if "date" in fields else None
            if date is None:
                return 0.0  # without Date, Expires cannot be read against our clock
            return max(0.0, expires_at - date)
        return float(self._default_ttl)

    def _drop(self, key: _Key) -> None:
        entry = self._entries.pop(key)
        self._bytes -= len(entry.body)
        vary, count = self._vary[key[0]]
        if count <= 1:
            del self._vary[key[0]]
        else:
            self._vary[key[0]] = (vary, count - 1)


def _directives(value: str | None) -> dict[str, str]:
    if not value:
        return {}
    out: dict[str, str] = {}
    for part in value.split(","):
        name, _, arg = part.partition("=")
        name = name.strip().lower()
        if name:
            out.setdefault(name, arg.strip().strip('"'))
    return out


def _pragma_no_cache(headers: Mapping[str, str], cc: Mapping[str, str]) -> bool:
    # Pragma counts only when the request has no Cache-Control (RFC 9111 §5.4).
    return not cc and "no-cache" in headers.get("pragma", "").lower()


def _seconds(value: str | None) -> int | None:
    """A delta-seconds value; anything but plain digits counts as 0 (stale), never as fresh."""
    if value is None:
        return None
    value = value.strip()
    if not value.isascii() or not value.isdigit():
        return 0
    return min(int(value[:12]), 2**31)


def _date_parser() -> Callable[[str], datetime]:
    # Imported when a route configures a cache: email.utils brings calendar, locale and most of
    # the email package (0.2 to 0.4 MiB of RSS) into a proxy that may never cache.
    from email.utils import parsedate_to_datetime

    return parsedate_to_datetime


def _http_date(value: str, parse: Callable[[str], datetime]) -> float | None:
    try:
        parsed = parse(value)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if parsed.tzinfo is None:
        return None
    stamp = parsed.timestamp()
    return stamp if math.isfinite(stamp) else None
