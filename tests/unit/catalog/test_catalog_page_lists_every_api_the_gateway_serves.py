"""The API catalog: built from the gateway's compiled config, rendered with StrictUndefined,
and held to a golden page."""

from __future__ import annotations

import json
import os
from pathlib import Path

import jinja2
import pytest

from meshgate.catalog import build, render_page
from meshgate.catalog.build import RouteNotes, parse_openapi
from meshgate.catalog.model import Catalog
from meshgate.catalog.notes import route_notes
from meshgate.catalog.page import TEMPLATE, _environment
from meshgate.cli import manifests
from meshgate.cli.offline import snapshot_of
from meshgate.compile import MeshSettings, compile_snapshot

ROOT = Path(__file__).resolve().parents[3]
GOLDEN = ROOT / "tests" / "golden" / "catalog" / "api-catalog.html"


def example_catalog() -> Catalog:
    docs = manifests.read([str(ROOT / "examples" / "api-catalog")], "shop")
    snap = snapshot_of(docs, MeshSettings())
    out = compile_snapshot(snap).gateways[0]
    return build("shop", out.gateway.name, json.loads(out.config_json), route_notes(snap.routes))


def test_each_route_is_an_api_with_what_the_gateway_enforces() -> None:
    apis = {a.name: a for a in example_catalog().apis}
    assert set(apis) == {"orders", "products", "partner-stock"}
    orders = apis["orders"]
    assert orders.versions == ("v1", "v2")
    assert orders.base_urls == ("http://api.shop.example.com:8080",)
    assert [(a.kind, a.detail) for a in orders.auth] == [
        ("JWT", "issuer https://id.shop.example.com/, audience orders")
    ]
    assert orders.openapi is not None
    assert len(orders.openapi.operations) == 5
    products = apis["products"]
    assert products.auth == ()
    assert [(ep.methods, ep.path, ep.match) for ep in products.endpoints] == [
        (("GET",), "/v1/search", "exact"),
        (("GET",), "/v1/products", "prefix"),
    ]
    assert [(lim.requests, lim.per, lim.key) for lim in products.limits] == [
        (100, "minute", "client IP")
    ]
    partners = apis["partner-stock"]
    assert [a.kind for a in partners.auth] == ["API key"]
    assert [(lim.requests, lim.per, lim.key) for lim in partners.limits] == [
        (600, "minute", "API key consumer")
    ]


def test_the_page_matches_its_golden_file() -> None:
    page = render_page(example_catalog())
    if os.environ.get("MESHGATE_UPDATE_GOLDEN") == "1":
        GOLDEN.write_text(page)
    assert page == GOLDEN.read_text(), "catalog page differs from tests/golden/catalog/"


def test_a_missing_template_variable_is_an_error_not_an_empty_string() -> None:
    with pytest.raises(jinja2.UndefinedError):
        _environment().get_template(TEMPLATE).render()


def test_what_users_wrote_is_escaped() -> None:
    config = {
        "listeners": [
            {
                "name": "http",
                "port": 80,
                "role": "edge",
                "virtualHosts": [
                    {
                        "domains": ["x.example"],
                        "routes": [{"name": "a/b/rule0/0", "source": "a/b", "match": {}}],
                    }
                ],
            }
        ]
    }
    page = render_page(
        build("a", "gw", config, {"a/b": RouteNotes(description="<script>x</script>")})
    )
    assert "<script>x" not in page
    assert "&lt;script&gt;x" in page
    assert "http://x.example" in page


def test_an_unreadable_openapi_annotation_says_why() -> None:
    assert parse_openapi("{not json").problem.startswith("not JSON or YAML")
    assert parse_openapi("[1, 2]").problem == "not an OpenAPI document (no paths object)"
    swagger = parse_openapi('{"swagger": "2.0", "paths": {"/a": {"get": {"operationId": "getA"}}}}')
    assert [(o.method, o.path, o.summary) for o in swagger.operations] == [("GET", "/a", "getA")]
