"""Retries: try again on the conditions the policy names, with backoff and a budget.

Only replayable requests are retried: no body, or a body fully buffered (bodies up to
`REPLAY_BUFFER` bytes are buffered before the first try so they can be). A discarded attempt's
response body is cancelled, which closes its upstream connection when it was still streaming.

This module must never retry a request whose body has already streamed upstream.
"""

from __future__ import annotations

import asyncio
import random

from meshproxy import config
from meshproxy.http.body import Body
from meshproxy.http.message import Exchange, Response
from meshproxy.layers import Handler
from meshproxy.observability.metrics import Child
from meshproxy.policy.retry import RetryBudget, RetryDecider
from meshproxy.upstream.errors import UpstreamFailure

REPLAY_BUFFER = 64 * 1024


class RetryLayer:
    __slots__ = ("_active", "_budget", "_counter", "_decider", "_next", "_random", "_retrying")

    def __init__(self, next_handler: Handler, cfg: config.Retry, counter: Child) -> None:
        self._next = next_handler
        self._decider = RetryDecider(cfg)
        self._budget = RetryBudget(cfg.budget) if cfg.budget is not None else None
        self._counter = counter
        self._random = random.Random().random  # noqa: S311 - jitter, not secrets
        self._active = 0
        self._retrying = 0

    async def handle(self, exchange: Exchange) -> Response:
        method = exchange.request.method
        body = exchange.request.body
        replayable = body is None or body.complete
        if not replayable and body is not None:
            replayable = await body.read_upto(REPLAY_BUFFER)
        decider = self._decider
        per_try = decider.per_try_timeout
        attempt = 0
        self._active += 1
        try:
            while True:
                try:
                    if per_try:
                        try:
                            async with asyncio.timeout(per_try):
                                response = await self._next(exchange)
                        except TimeoutError:
                            raise UpstreamFailure("timeout") from None
                    else:
                        response = await self._next(exchange)
                except UpstreamFailure as failure:
                    kind = failure.kind if failure.kind != "protocol" else "reset"
                    if kind == "overflow" or not self._may_retry(
                        method, None, kind, attempt, replayable
                    ):
                        raise
                else:
                    grpc_status = exchange.grpc_status
                    if grpc_status:
                        if not (
                            decider.should_retry_grpc(grpc_status, attempt, replayable)
                            and self._budget_allows()
                        ):
                            return response
                        exchange.grpc_status = ""
                    elif not self._may_retry(method, response.status, None, attempt, replayable):
                        return response
                    if isinstance(response.body, Body):
                        response.body.cancel()
                await self._wait(attempt)
                attempt += 1
                exchange.attempts = attempt
        finally:
            self._active -= 1

    def _may_retry(
        self, method: str, status: int | None, failure: str | None, attempt: int, replayable: bool
    ) -> bool:
        if not self._decider.should_retry(method, status, failure, attempt, replayable):
            return False
        return self._budget_allows()

    def _budget_allows(self) -> bool:
        budget = self._budget
        return budget is None or budget.allow(self._active, self._retrying)

    async def _wait(self, attempt: int) -> None:
        self._counter.inc()
        self._retrying += 1
        try:
            await asyncio.sleep(self._decider.backoff(attempt, self._random()))
        finally:
            self._retrying -= 1
