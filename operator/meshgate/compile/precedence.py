"""The order routes are tried in, and which of two equal claims wins. Pure.

Gateway API precedence, most specific first:
1. path: Exact, then RegularExpression, then PathPrefix; within a type, the longer value first
   (meshgate places regexes between Exact and PathPrefix, where the Gateway API leaves it open);
2. a method match before none;
3. more header matches first;
4. more query parameter matches first;
5. the older Route (creationTimestamp), then namespace/name alphabetically;
6. rule order, then match order, inside one Route.

Two matches with the same *claim* (host, path, method, headers, query params) cannot both be
served: the first in this order wins and the other is reported as shadowed.
"""

from __future__ import annotations

from meshproxy import config as pc

from .snapshot import Meta

_PATH_RANK = {"Exact": 0, "RegularExpression": 1, "PathPrefix": 2}


def match_claim(m: pc.RouteMatch) -> tuple[object, ...]:
    """What a match claims; equal claims conflict."""
    path = m.path or pc.PathMatch()
    return (
        path.type,
        path.value,
        m.method or "",
        tuple(sorted((h.name.lower(), h.type, h.value, h.invert) for h in m.headers)),
        tuple(sorted((q.name, q.type, q.value) for q in m.query_params)),
    )


def precedence_key(m: pc.RouteMatch, owner: Meta, rule: int, match: int) -> tuple[object, ...]:
    path = m.path or pc.PathMatch()
    return (
        _PATH_RANK[path.type],
        -len(path.value),
        0 if m.method else 1,
        -len(m.headers),
        -len(m.query_params),
        owner.age_key,
        rule,
        match,
        # Deterministic among equals that reach this far (same owner, rule and match index).
        match_claim(m),
    )
