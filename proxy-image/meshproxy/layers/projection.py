"""JSON field projection: keep only (or drop) the configured fields of a JSON response body.

Only a JSON body up to `maxBodyBytes` is buffered and projected; anything else (not JSON, too
large, not a 2xx) streams through untouched.
"""

from __future__ import annotations

from meshproxy import config
from meshproxy.http.body import Body
from meshproxy.http.message import Exchange, Response
from meshproxy.layers import Handler
from meshproxy.policy.projection import JsonProjector


class ProjectionLayer:
    __slots__ = ("_max_body", "_next", "_projector")

    def __init__(self, next_handler: Handler, cfg: config.JsonProjection) -> None:
        self._next = next_handler
        self._projector = JsonProjector(cfg.fields, exclude=cfg.mode == "Exclude")
        self._max_body = cfg.max_body_bytes

    async def handle(self, exchange: Exchange) -> Response:
        response = await self._next(exchange)
        if not 200 <= response.status < 300 or not _is_json(response.headers):
            return response
        body = response.body
        if isinstance(body, Body):
            if not await body.read_upto(self._max_body):
                return response
            data = body.buffered()
        else:
            data = body
        projected = self._projector.project(data)
        if projected is not None:
            response.body = projected
        elif isinstance(body, Body):
            response.body = data
        return response


def _is_json(headers: list[tuple[str, str]]) -> bool:
    for name, value in headers:
        if name.lower() == "content-type":
            media = value.split(";", 1)[0].strip(" \t").lower()
            return media == "application/json" or media.endswith("+json")
    return False
