"""CORS: answers to preflights, and the headers an actual cross-origin response carries, as the
Gateway API's CORS filter specifies them.

Origins match exactly, by a wildcard host (`https://*.example.com`: any number of labels in
place of `*`), by `*`, or by a regex (full match); wildcards and regexes are compiled at load.
A matched origin is echoed, with credentials when `allowCredentials` says so. An origin matched
by `*` alone is answered `*` without credentials, except that the answer is the origin itself
when the request is credentialed (Cookie or Authorization: browsers refuse `*` then) and, with
`allowCredentials`, also allows credentials: the Gateway API asks exactly that of `*` with
`allowCredentials: true`, which lets any site send the user's credentials; meshgate's own Route
refuses that pair at admission, so only a Gateway API route that asks for it gets it. `*` in
methods or headers is sent as `*` without credentials; with credentials the request's own method
and headers are echoed, since browsers read `*` literally then.

A preflight from an origin that is not allowed still gets an answer, but one without
`Access-Control-Allow-Origin`, so the browser refuses the real request.

This module must never do I/O or log. Header names it returns are lower-case.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from meshproxy import config

__all__ = ["CorsPolicy"]

_VARY_PREFLIGHT = ("vary", "Origin, Access-Control-Request-Method, Access-Control-Request-Headers")


class CorsPolicy:
    __slots__ = (
        "_any_origin",
        "_credentials",
        "_echo_headers",
        "_echo_methods",
        "_expose",
        "_headers",
        "_max_age",
        "_methods",
        "_origins",
        "_regexes",
        "_same_for_all",
    )

    def __init__(self, cfg: config.Cors) -> None:
        self._any_origin = "*" in cfg.allow_origins
        self._origins = frozenset(o for o in cfg.allow_origins if "*" not in o)
        wildcards = [_wildcard_origin(o) for o in cfg.allow_origins if "*" in o and o != "*"]
        try:
            self._regexes = tuple(wildcards) + tuple(
                re.compile(r) for r in cfg.allow_origin_regexes
            )
        except re.error as exc:
            raise ValueError(f"cors: bad allowOriginRegexes entry: {exc}") from None
        # Only when every origin gets the same `*` does a response not vary by Origin.
        self._same_for_all = (
            self._any_origin
            and not self._origins
            and not self._regexes
            and not cfg.allow_credentials
        )
        self._credentials = cfg.allow_credentials
        self._echo_methods = "*" in cfg.allow_methods and cfg.allow_credentials
        self._echo_headers = "*" in cfg.allow_headers and cfg.allow_credentials
        self._methods = ", ".join(cfg.allow_methods)
        self._headers = ", ".join(cfg.allow_headers)
        self._expose = ", ".join(cfg.expose_headers)
        self._max_age = str(int(cfg.max_age)) if cfg.max_age is not None else None

    def preflight(
        self, origin: str | None, method: str, request_headers: Mapping[str, str]
    ) -> list[tuple[str, str]] | None:
        """Headers of the local answer to a CORS preflight, or None when this is not one.

        `request_headers` is keyed by lower-case names.
        """
        if method != "OPTIONS" or origin is None:
            return None
        wanted_method = request_headers.get("access-control-request-method")
        if wanted_method is None:
            return None
        allow_origin, credentials = self._allow(origin)
        if allow_origin is None:
            return [_VARY_PREFLIGHT]
        out = [("access-control-allow-origin", allow_origin), _VARY_PREFLIGHT]
        if credentials:
            out.append(("access-control-allow-credentials", "true"))
        methods = wanted_method if self._echo_methods and credentials else self._methods
        if methods:
            out.append(("access-control-allow-methods", methods))
        headers = self._headers
        if self._echo_headers and credentials:
            headers = request_headers.get("access-control-request-headers", "")
        if headers:
            out.append(("access-control-allow-headers", headers))
        if self._expose:
            out.append(("access-control-expose-headers", self._expose))
        if self._max_age is not None:
            out.append(("access-control-max-age", self._max_age))
        return out

    def response_headers(
        self, origin: str | None, credentialed: bool = False
    ) -> list[tuple[str, str]]:
        """Headers to add to the response of an actual (non-preflight) request; `credentialed`:
        the request carries credentials (Cookie or Authorization)."""
        if origin is None:
            return [] if self._same_for_all else [("vary", "Origin")]
        allow_origin, credentials = self._allow(origin)
        if allow_origin is None:
            return [("vary", "Origin")]
        if allow_origin == "*" and credentialed:
            allow_origin = origin
        out = [("access-control-allow-origin", allow_origin)]
        if not self._same_for_all or allow_origin != "*":
            out.append(("vary", "Origin"))
        if credentials:
            out.append(("access-control-allow-credentials", "true"))
        if self._expose:
            out.append(("access-control-expose-headers", self._expose))
        return out

    def _allow(self, origin: str) -> tuple[str | None, bool]:
        """(value of Access-Control-Allow-Origin or None, whether credentials are allowed)."""
        if origin in self._origins or any(r.fullmatch(origin) for r in self._regexes):
            return origin, self._credentials
        if self._any_origin:
            return (origin, True) if self._credentials else ("*", False)
        return None, False


def _wildcard_origin(pattern: str) -> re.Pattern[str]:
    """`https://*.example.com`: `*` stands for one or more DNS labels, the rest is literal."""
    head, _, tail = pattern.partition("*")
    return re.compile(re.escape(head) + r"[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*" + re.escape(tail))
