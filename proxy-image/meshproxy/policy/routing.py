"""The route table: from (Host, method, normalised path, query, headers) to one compiled route.

`RouteTable.compile` does all the work a request would otherwise repeat: domains go into a dict
(exact names, with and without a port) and a list of suffix wildcards sorted longest first;
regexes are compiled; prefixes are stored in the form the comparison needs; weighted clusters
become cumulative weights for `bisect`; rewrites and redirects are resolved as far as the config
allows. `match` then does dict look-ups, string comparisons and at most one query parse.

A virtual host's routes are indexed by path (`_PathIndex`), so the cost of a match does not grow
with the number of routes: Exact paths in a dict, PathPrefix paths in a trie of path segments,
routes without a path condition at the trie's root. Only the routes whose path matches (the
candidates) have their method, header and query conditions checked. Regex paths cannot be
indexed: they are kept apart, in config order, and tried last, and only those that come before
the best candidate found, so a table without regexes never runs one.

Semantics follow the Kubernetes Gateway API (HTTPRoute), since its YAML is what users port:
- Host: exact domain (with or without the port), then the longest `*suffix` wildcard, then `*`.
  A domain listed by two virtual hosts belongs to the first.
- The first route in config order whose conditions all hold wins (the operator sorts them by
  precedence); the index returns exactly the route an in-order scan would. `PathPrefix`
  matches whole segments (`/v1` matches `/v1`, `/v1/x`, not `/v10`; a trailing slash in the
  prefix is ignored). `RegularExpression` is a full match.
- A header condition with `invert` negates the whole condition, so an inverted Exact condition
  also matches a request without the header. Header names are compared lower-case: the runtime
  passes a mapping keyed by lower-case names. Query parameter names and values are compared
  percent-decoded; the first occurrence of a name counts.

Regexes are Python `re`: a catastrophic pattern in config is the operator's to reject.
This module must never do I/O, log, or compile anything per request.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from collections.abc import Mapping, Sequence
from itertools import accumulate
from types import MappingProxyType
from urllib.parse import unquote

from meshproxy import config
from meshproxy.policy.headers import HeaderOps

__all__ = ["CompiledRoute", "RouteTable"]

# Kinds of conditions, as small ints so the hot loop compares integers.
_ANY, _EXACT, _PREFIX, _REGEX, _PRESENT = 0, 1, 2, 3, 4
_KINDS = {"Exact": _EXACT, "PathPrefix": _PREFIX, "RegularExpression": _REGEX, "Present": _PRESENT}
_DEFAULT_PORTS = {"http": "80", "https": "443"}
_NO_PARAMS: Mapping[str, str] = MappingProxyType({})

_Condition = tuple[str, int, str, "re.Pattern[str] | None", bool]  # name, kind, value, regex, inv


class CompiledRoute:
    """One route, ready to match and to act on. Read-only after `compile`."""

    __slots__ = (
        "_clusters",
        "_cum_weights",
        "_headers",
        "_method",
        "_path_kind",
        "_path_regex",
        "_path_slash",
        "_path_value",
        "_query",
        "_redirect",
        "_redirect_path",
        "_rewrite_path",
        "_total_weight",
        "catch_all",
        "config",
        "name",
        "order",
        "request_headers",
        "response_headers",
        "rewrite_host",
        "source",
        "virtual_host",
    )

    def __init__(self, route: config.Route, virtual_host: str, order: int = 0) -> None:
        self.config = route
        self.name = route.name
        # Position in its virtual host: the lower of two matching routes wins.
        self.order = order
        self.source = route.source
        self.virtual_host = virtual_host
        match = route.match

        path = match.path
        if path is None or (path.type == "PathPrefix" and path.value.rstrip("/") == ""):
            self._path_kind = _ANY
            self._path_value = "/"
        else:
            self._path_kind = _KINDS[path.type]
            self._path_value = path.value.rstrip("/") if self._path_kind == _PREFIX else path.value
        self._path_slash = self._path_value + "/"
        self._path_regex = (
            _compile(self._path_value, route.name, "the path")
            if self._path_kind == _REGEX
            else None
        )
        self._headers: tuple[_Condition, ...] = tuple(
            _condition(h.name.lower(), h.type, h.value, h.invert, route.name) for h in match.headers
        )
        self._query: tuple[_Condition, ...] = tuple(
            _condition(q.name, q.type, q.value, False, route.name) for q in match.query_params
        )
        self._method = match.method.upper() if match.method else None
        self.catch_all = (
            self._path_kind == _ANY and not self._headers and not self._query and not self._method
        )

        forward = route.forward
        if forward is not None:
            live = [c for c in forward.clusters if c.weight > 0]
            self._clusters = tuple(c.cluster for c in live)
            self._cum_weights = tuple(accumulate(c.weight for c in live))
            self._total_weight = float(self._cum_weights[-1])
        else:
            self._clusters, self._cum_weights, self._total_weight = (), (), 0.0
        rewrite = forward.rewrite if forward is not None else None
        self.rewrite_host = rewrite.hostname if rewrite is not None else None
        self._rewrite_path = rewrite.path if rewrite is not None else None
        self._redirect = route.redirect
        self._redirect_path = route.redirect.path if route.redirect is not None else None
        for rewrite_path in (self._rewrite_path, self._redirect_path):
            if (
                rewrite_path is not None
                and rewrite_path.type == "ReplacePrefixMatch"
                and self._path_kind == _REGEX
            ):
                raise ValueError(
                    f"route {route.name!r}: ReplacePrefixMatch needs a PathPrefix or Exact match"
                )
        self.request_headers = (
            HeaderOps.compile(route.request_headers) if route.request_headers else None
        )
        self.response_headers = (
            HeaderOps.compile(route.response_headers) if route.response_headers else None
        )

    def matches(
        self, method: str, path: str, headers: Mapping[str, str], params: Mapping[str, str]
    ) -> bool:
        """Every condition, the path's included: what an in-order scan asks of each route."""
        kind = self._path_kind
        if kind == _PREFIX:
            if path != self._path_value and not path.startswith(self._path_slash):
                return False
        elif kind == _EXACT:
            if path != self._path_value:
                return False
        elif kind == _REGEX:
            assert self._path_regex is not None
            if self._path_regex.fullmatch(path) is None:
                return False
        return self.conditions_hold(method, headers, params)

    def conditions_hold(
        self, method: str, headers: Mapping[str, str], params: Mapping[str, str]
    ) -> bool:
        """The method, header and query conditions: all a path-index candidate still needs."""
        if self._method is not None and method != self._method:
            return False
        for condition in self._headers:
            if not _holds(condition, headers):
                return False
        # Most routes have no query condition: skip building the generator for them.
        return not self._query or all(_holds(condition, params) for condition in self._query)

    @property
    def path_kind(self) -> int:
        return self._path_kind

    @property
    def path_value(self) -> str:
        return self._path_value

    @property
    def needs_query(self) -> bool:
        return bool(self._query)

    def pick_cluster(self, r: float) -> str:
        """The weighted choice for `r` drawn uniformly from [0, 1)."""
        clusters = self._clusters
        if len(clusters) == 1:
            return clusters[0]
        index = bisect_right(self._cum_weights, r * self._total_weight)
        return clusters[min(index, len(clusters) - 1)]

    def rewrite_path(self, path: str) -> str:
        """The path to send upstream: the forward rewrite applied, or `path` unchanged."""
        rewrite = self._rewrite_path
        if rewrite is None:
            return path
        return self._rewritten(rewrite, path)

    def redirect_location(self, scheme: str, host: str, path: str, query: str) -> str | None:
        """The Location of a redirect route (Gateway API RequestRedirect), or None.

        `scheme` and `host` are the request's; the port in `host` stands for the listener port
        the client reached. Without a configured port, a configured scheme implies its well-known
        port, otherwise the request's port is kept; 80 for http and 443 for https are omitted.
        """
        redirect = self._redirect
        if redirect is None:
            return None
        hostname, port = _split_host(host)
        if redirect.hostname is not None:
            hostname = redirect.hostname
        if redirect.port is not None:
            port = str(redirect.port)
        elif redirect.scheme is not None:
            port = ""
        new_scheme = redirect.scheme or scheme
        if port and _DEFAULT_PORTS.get(new_scheme) == port:
            port = ""
        if self._redirect_path is not None:
            path = self._rewritten(self._redirect_path, path)
        location = (
            f"{new_scheme}://{hostname}:{port}{path}"
            if port
            else (f"{new_scheme}://{hostname}{path}")
        )
        return f"{location}?{query}" if query else location

    def _rewritten(self, rewrite: config.PathRewrite, path: str) -> str:
        if rewrite.type == "ReplaceFullPath":
            return rewrite.value
        # ReplacePrefixMatch: swap the matched prefix, keep the rest from its slash on.
        prefix = "" if self._path_kind == _ANY else self._path_value.rstrip("/")
        rest = path[len(prefix) :] if path.startswith(prefix) else path
        return (rewrite.value.rstrip("/") + rest) or "/"


class _TrieNode:
    """One path segment of the PathPrefix trie: the routes whose prefix ends here, in order."""

    __slots__ = ("children", "routes")

    def __init__(self) -> None:
        self.children: dict[str, _TrieNode] = {}
        self.routes: tuple[CompiledRoute, ...] = ()


class _PathIndex:
    """The routes of one virtual host by path, built once; `match` costs O(path depth).

    A PathPrefix `/a/b` matches exactly the paths whose `/`-separated segments start with
    `["", "a", "b"]`, so walking the request path's segments down the trie meets every prefix
    route that matches it, and no other. Routes without a path condition sit at the root.
    """

    __slots__ = ("_exact", "_regex", "_root", "_size")

    def __init__(self, routes: Sequence[CompiledRoute]) -> None:
        exact: dict[str, list[CompiledRoute]] = {}
        regex: list[CompiledRoute] = []
        root = _TrieNode()
        at_node: dict[int, tuple[_TrieNode, list[CompiledRoute]]] = {}
        for route in routes:  # in config order, so every list below is sorted by `order`
            kind = route.path_kind
            if kind == _EXACT:
                exact.setdefault(route.path_value, []).append(route)
            elif kind == _REGEX:
                regex.append(route)
            else:
                node = root
                if kind == _PREFIX:
                    for segment in route.path_value.split("/"):
                        node = node.children.setdefault(segment, _TrieNode())
                at_node.setdefault(id(node), (node, []))[1].append(route)
        for node, found in at_node.values():
            node.routes = tuple(found)
        self._exact = {path: tuple(found) for path, found in exact.items()}
        self._regex = tuple(regex)
        self._root = root
        self._size = len(routes)

    def match(
        self, method: str, path: str, headers: Mapping[str, str], params: Mapping[str, str]
    ) -> CompiledRoute | None:
        best: CompiledRoute | None = None
        bound = self._size  # only a route ordered before the best so far can still win
        candidates = self._exact.get(path)
        if candidates is not None:
            best = _first_holding(candidates, bound, method, headers, params)
            if best is not None:
                bound = best.order
        node: _TrieNode | None = self._root
        segments = iter(path.split("/"))
        while node is not None:
            candidates = node.routes
            if candidates and candidates[0].order < bound:
                route = _first_holding(candidates, bound, method, headers, params)
                if route is not None:
                    best, bound = route, route.order
            segment = next(segments, None)
            node = None if segment is None else node.children.get(segment)
        for route in self._regex:
            if route.order >= bound:
                break
            if route.matches(method, path, headers, params):
                return route
        return best


def _first_holding(
    candidates: tuple[CompiledRoute, ...],
    bound: int,
    method: str,
    headers: Mapping[str, str],
    params: Mapping[str, str],
) -> CompiledRoute | None:
    """The first of `candidates` (path matched, sorted by order) before `bound` that holds."""
    for route in candidates:
        if route.order >= bound:
            return None
        if route.conditions_hold(method, headers, params):
            return route
    return None


class _VirtualHost:
    __slots__ = ("catch_all", "index", "name", "needs_query", "routes")

    def __init__(self, vhost: config.VirtualHost) -> None:
        self.name = vhost.name
        self.routes = tuple(
            CompiledRoute(r, vhost.name, order) for order, r in enumerate(vhost.routes)
        )
        self.index = _PathIndex(self.routes)
        self.needs_query = any(r.needs_query for r in self.routes)
        # The common shape of a sidecar's or a simple gateway's host: one route, no conditions.
        first = self.routes[0] if self.routes else None
        self.catch_all = first if first is not None and first.catch_all else None

    def match(
        self, method: str, path: str, query: str, headers: Mapping[str, str]
    ) -> CompiledRoute | None:
        if self.catch_all is not None:
            return self.catch_all
        params = _parse_query(query) if self.needs_query and query else _NO_PARAMS
        return self.index.match(method, path, headers, params)


class RouteTable:
    """Virtual hosts by domain. Build with `compile`; `match` is the per-request call."""

    __slots__ = ("_any", "_exact", "_wildcards")

    def __init__(
        self,
        exact: dict[str, _VirtualHost],
        wildcards: tuple[tuple[str, _VirtualHost], ...],
        any_host: _VirtualHost | None,
    ) -> None:
        self._exact = exact
        self._wildcards = wildcards
        self._any = any_host

    @classmethod
    def compile(cls, virtual_hosts: Sequence[config.VirtualHost]) -> RouteTable:
        exact: dict[str, _VirtualHost] = {}
        wildcards: dict[str, _VirtualHost] = {}
        any_host: _VirtualHost | None = None
        for vhost in virtual_hosts:
            compiled = _VirtualHost(vhost)
            for domain in vhost.domains:
                domain = domain.lower()
                if domain == "*":
                    any_host = any_host or compiled
                elif domain.startswith("*"):
                    wildcards.setdefault(domain[1:], compiled)
                else:
                    exact.setdefault(domain, compiled)
        ordered = tuple(sorted(wildcards.items(), key=lambda item: -len(item[0])))
        return cls(exact, ordered, any_host)

    def match(
        self, host: str, method: str, path: str, query: str, headers: Mapping[str, str]
    ) -> CompiledRoute | None:
        """`host` is the lower-cased Host header (may carry `:port`); `path` is normalised."""
        vhost = self._virtual_host(host)
        if vhost is None:
            return None
        return vhost.match(method, path, query, headers)

    def _virtual_host(self, host: str) -> _VirtualHost | None:
        vhost = self._exact.get(host)
        if vhost is not None:
            return vhost
        hostname, port = _split_host(host)
        if port:
            vhost = self._exact.get(hostname)
            if vhost is not None:
                return vhost
        for suffix, candidate in self._wildcards:
            # A wildcard needs at least one character of its own: `*.a.com` is not `a.com`.
            if (len(host) > len(suffix) and host.endswith(suffix)) or (
                port and len(hostname) > len(suffix) and hostname.endswith(suffix)
            ):
                return candidate
        return self._any


def _condition(name: str, kind: str, value: str, invert: bool, route: str) -> _Condition:
    code = _KINDS[kind]
    regex = _compile(value, route, repr(name)) if code == _REGEX else None
    return (name, code, value, regex, invert)


def _compile(pattern: str, route: str, what: str) -> re.Pattern[str]:
    try:
        return re.compile(pattern)
    except re.error as exc:
        raise ValueError(f"route {route!r}: bad regular expression for {what}: {exc}") from None


def _holds(condition: _Condition, values: Mapping[str, str]) -> bool:
    name, kind, expected, regex, invert = condition
    actual = values.get(name)
    if actual is None:
        result = False
    elif kind == _EXACT:
        result = actual == expected
    elif kind == _PRESENT:
        result = True
    else:
        assert regex is not None
        result = regex.fullmatch(actual) is not None
    return result is not invert


def _parse_query(query: str) -> dict[str, str]:
    params: dict[str, str] = {}
    for pair in query.split("&"):
        if not pair:
            continue
        name, _, value = pair.partition("=")
        name = unquote(name) if "%" in name else name
        if name not in params:
            params[name] = unquote(value) if "%" in value else value
    return params


def _split_host(host: str) -> tuple[str, str]:
    """(hostname, port or "") from a Host value; `[v6]:port` keeps its brackets."""
    colon = host.rfind(":")
    if colon < 0 or host.endswith("]") or (host.startswith("[") and host[colon - 1] != "]"):
        return host, ""
    return host[:colon], host[colon + 1 :]
