"""Requests, scripted next handlers and a recorded sleep for driving one layer at a time."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any

from meshproxy.http.body import Body
from meshproxy.http.message import Exchange, Request, Response

Step = Response | BaseException | Callable[[Exchange], Awaitable[Response]]


def request(
    method: str = "GET",
    path: str = "/",
    headers: list[tuple[str, str]] | None = None,
    body: Body | None = None,
    host: str = "app.test",
    query: str = "",
) -> Exchange:
    """An exchange for a request a client at 192.0.2.1 sent over plain HTTP."""
    message = Request(method, path, query, list(headers or []), host, body, "1.1", True)
    return Exchange(message, "192.0.2.1", "http", time.perf_counter())


def ok(
    status: int = 200, headers: list[tuple[str, str]] | None = None, body: Any = b"ok"
) -> Response:
    return Response(status, list(headers or []), body)


class Script:
    """The next handler: plays its steps in order (the last one repeats) and counts the calls.

    A step is a Response (returned), an exception (raised) or a coroutine function (awaited)."""

    def __init__(self, *steps: Step) -> None:
        self._steps = list(steps)
        self.seen: list[Exchange] = []

    async def __call__(self, req: Exchange) -> Response:
        step = self._steps[min(len(self.seen), len(self._steps) - 1)]
        self.seen.append(req)
        if isinstance(step, BaseException):
            raise step
        if isinstance(step, Response):
            return Response(step.status, list(step.headers), step.body, step.reason)
        return await step(req)

    @property
    def calls(self) -> int:
        return len(self.seen)


async def hang(req: Exchange) -> Response:
    await asyncio.Event().wait()
    raise AssertionError("unreachable")


class Sleeps:
    """Stands in for a module's `asyncio`: records every sleep and returns at once."""

    def __init__(self) -> None:
        self.delays: list[float] = []
        self.timeout = asyncio.timeout

    async def sleep(self, delay: float) -> None:
        self.delays.append(delay)
        await asyncio.sleep(0)


async def settle(rounds: int = 20) -> None:
    """Let scheduled tasks and callbacks run."""
    for _ in range(rounds):
        await asyncio.sleep(0)
