"""ProjectionLayer: a 2xx JSON body within the bound is cut down to the configured fields."""

from __future__ import annotations

import json

from layer_fakes import Script, ok, request

from meshproxy import config
from meshproxy.http.body import Body
from meshproxy.layers.projection import ProjectionLayer

JSON = [("Content-Type", "application/json; charset=utf-8")]
DOC = json.dumps({"id": 7, "name": "cup", "secret": "s3"}).encode()


def layer(upstream: Script, max_body: int = 1 << 20) -> ProjectionLayer:
    cfg = config.JsonProjection(fields=["id", "name"], max_body_bytes=max_body)
    return ProjectionLayer(upstream, cfg)


async def test_a_json_body_keeps_only_the_listed_fields() -> None:
    response = await layer(Script(ok(200, JSON, DOC))).handle(request())
    assert isinstance(response.body, bytes)
    assert json.loads(response.body) == {"id": 7, "name": "cup"}


async def test_a_streamed_json_body_is_buffered_and_projected() -> None:
    response = await layer(Script(ok(200, JSON, Body.of(DOC)))).handle(request())
    assert isinstance(response.body, bytes)
    assert json.loads(response.body) == {"id": 7, "name": "cup"}


async def test_non_json_and_error_answers_pass_untouched() -> None:
    text = await layer(Script(ok(200, [("Content-Type", "text/plain")], DOC))).handle(request())
    assert text.body == DOC
    error = await layer(Script(ok(500, JSON, DOC))).handle(request())
    assert error.body == DOC


async def test_a_body_over_the_bound_streams_through_unprojected() -> None:
    body = Body.of(DOC)
    response = await layer(Script(ok(200, JSON, body)), max_body=10).handle(request())
    assert response.body is body
    assert body.buffered() == DOC
