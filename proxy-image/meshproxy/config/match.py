"""Which requests a route takes: path, headers, query parameters and method."""

from __future__ import annotations

from typing import Literal

import msgspec

from .base import Model


class PathMatch(Model, frozen=True):
    type: Literal["Exact", "PathPrefix", "RegularExpression"] = "PathPrefix"
    value: str = "/"


class HeaderMatch(Model, frozen=True):
    name: str
    type: Literal["Exact", "RegularExpression", "Present"] = "Exact"
    value: str = ""
    invert: bool = False


class QueryParamMatch(Model, frozen=True):
    name: str
    type: Literal["Exact", "RegularExpression", "Present"] = "Exact"
    value: str = ""


class RouteMatch(Model, frozen=True):
    """All given conditions must hold. An empty match matches every request."""

    path: PathMatch | None = None
    headers: list[HeaderMatch] = msgspec.field(default_factory=list)
    query_params: list[QueryParamMatch] = msgspec.field(default_factory=list)
    method: str | None = None
