"""The API catalog: every API a meshgate Gateway exposes, as data (`build`) and as a page (`page`).

Built from the gateway's compiled proxy config, so the page lists exactly what the gateway
enforces (hosts, paths, methods, authentication, limits), plus what Routes say about themselves
in annotations (a description, an OpenAPI document). Pure: never does I/O, never imports kopf or
the Kubernetes client.
"""

from .build import CATALOG_ROUTE, DESCRIPTION_ANNOTATION, OPENAPI_ANNOTATION, RouteNotes, build
from .model import Catalog
from .page import render_page

__all__ = [
    "CATALOG_ROUTE",
    "DESCRIPTION_ANNOTATION",
    "OPENAPI_ANNOTATION",
    "Catalog",
    "RouteNotes",
    "build",
    "render_page",
]
