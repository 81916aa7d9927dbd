"""Fault injection: delay and/or abort a configured share of a route's requests."""

from __future__ import annotations

import asyncio
import random

from meshproxy import config
from meshproxy.http.message import Exchange, LocalReply, Response
from meshproxy.layers import Handler
from meshproxy.policy.fault import FaultDecider


class FaultLayer:
    __slots__ = ("_decider", "_next", "_random")

    def __init__(self, next_handler: Handler, cfg: config.Fault) -> None:
        self._next = next_handler
        self._decider = FaultDecider(cfg)
        self._random = random.Random().random  # noqa: S311 - sampling, not secrets

    async def handle(self, exchange: Exchange) -> Response:
        delay, abort = self._decider.decide(self._random(), self._random())
        if delay:
            await asyncio.sleep(delay)
        if abort is not None:
            raise LocalReply(abort)
        return await self._next(exchange)
