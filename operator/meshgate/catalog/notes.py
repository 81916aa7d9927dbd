"""What Routes say about their APIs, from their `meshgate.io/` annotations (kept on `Meta`)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from .build import DESCRIPTION_ANNOTATION, OPENAPI_ANNOTATION, RouteNotes


def route_notes(routes: Iterable[Any]) -> dict[str, RouteNotes]:
    """`namespace/name` -> notes, for every Route (a `meshgate.compile` Resource) with any."""
    out = {}
    for route in routes:
        annotations = route.meta.annotations
        description = annotations.get(DESCRIPTION_ANNOTATION, "")
        openapi = annotations.get(OPENAPI_ANNOTATION, "")
        if description or openapi:
            out[route.meta.key] = RouteNotes(description=description, openapi=openapi)
    return out
