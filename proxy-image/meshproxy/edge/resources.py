"""What edge policies keep alive between requests: watched files, JWKS refreshers, Redis clients.

One `EdgeResources` belongs to one built config. A reload builds a new one from its predecessor
and takes over every resource whose inputs did not change (same file and parser, same JWKS URI
and cache time, same Redis URL), so an unrelated config change neither re-reads Secrets nor
redials Redis nor refetches key sets. `close_unused(successor)` closes what the successor did
not take over; the runtime calls it once requests in flight on the old config had time to end.

Each kind of resource's code is imported when a config first asks for one: a proxy with no edge
policy (every sidecar) never loads it.

This module must never log a Redis URL: it may carry a password.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Hashable
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    from meshproxy.authn.jwks_fetch import JwksRefresher
    from meshproxy.edge.watched_file import WatchedFile
    from meshproxy.ratelimit.redis_client import RedisClient

log = logging.getLogger("meshproxy.edge")

T = TypeVar("T")


class EdgeResources:
    def __init__(self, previous: EdgeResources | None = None) -> None:
        self._previous = previous._items if previous is not None else {}
        self._items: dict[tuple[Hashable, ...], Any] = {}  # (kind, ...its inputs) -> resource
        self._closing: set[asyncio.Task[None]] = set()

    def watched_file(self, path: str, parse: Callable[[bytes], T], what: str) -> WatchedFile[T]:
        found: WatchedFile[T] = self._get(
            ("file", path, parse), lambda: self._watch(path, parse, what)
        )
        return found

    def jwks_refresher(self, uri: str, cache_seconds: float) -> JwksRefresher:
        found: JwksRefresher = self._get(
            ("jwks", uri, cache_seconds), lambda: self._refresher(uri, cache_seconds)
        )
        return found

    def redis_client(self, url: str) -> RedisClient:
        from meshproxy.ratelimit.redis_client import RedisClient

        found: RedisClient = self._get(("redis", url), lambda: RedisClient.from_url(url))
        return found

    def close_unused(self, successor: EdgeResources | None) -> None:
        keep = {id(r) for r in successor._items.values()} if successor is not None else set()
        for key, resource in self._items.items():
            if id(resource) in keep:
                continue
            kind = key[0]
            if kind == "file":
                resource.close()
            elif kind == "jwks":
                self._close_later(resource.stop)
            elif kind == "redis":
                self._close_later(resource.close)

    def _get(self, key: tuple[Hashable, ...], make: Callable[[], Any]) -> Any:
        found = self._items.get(key)
        if found is None:
            found = self._previous.get(key)
            if found is None:
                found = make()
            self._items[key] = found
        return found

    @staticmethod
    def _watch(path: str, parse: Callable[[bytes], T], what: str) -> WatchedFile[T]:
        from meshproxy.edge.watched_file import WatchedFile

        watched = WatchedFile(path, parse, what)
        watched.start()
        return watched

    @staticmethod
    def _refresher(uri: str, cache_seconds: float) -> JwksRefresher:
        from meshproxy.authn.jwks_fetch import JwksRefresher

        refresher = JwksRefresher(uri, cache_seconds, on_error=_jwks_error(uri))
        refresher.start()
        return refresher

    def _close_later(self, close: Callable[[], Any]) -> None:
        task = asyncio.get_running_loop().create_task(close())
        self._closing.add(task)  # the loop only holds tasks weakly
        task.add_done_callback(self._closing.discard)


def _jwks_error(uri: str) -> Callable[[str], None]:
    def report(reason: str) -> None:
        log.warning("JWKS %s: fetch failed, keeping the last good key set: %s", uri, reason)

    return report
